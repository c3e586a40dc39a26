//! The on-disk layout and the file-system primitives every write goes through.
//!
//! ```text
//! <data-dir>/tmp/                         temp files; emptied at startup
//! <data-dir>/buckets/<bucket>/bucket.json  bucket record (creation time)
//! <data-dir>/buckets/<bucket>/keys/<sha256(key) hex>.json   the key's `null` version (the
//!                                                           only one when never versioned)
//! <data-dir>/buckets/<bucket>/versions/<sha256(key) hex>.<version-id>.json
//!                                                           other versions and delete markers
//! <data-dir>/buckets/<bucket>/versioning.json               versioning state, once set
//! <data-dir>/buckets/<bucket>/blobs/<uuid>                  object bodies
//! ```
//!
//! Bucket names are validated (lowercase letters, digits, `.`, `-`), so they are safe as
//! directory names. Object keys are arbitrary UTF-8 up to 1024 bytes (`a/../b`, `%`, NUL-free
//! unicode …), longer than a file name may be, so a key never becomes a path: its sidecar is
//! named by the SHA-256 of the key and holds the key itself, and its body is a blob named by
//! a fresh UUID that the sidecar points at.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Directory holding temp files.
pub(crate) fn tmp_dir(root: &Path) -> PathBuf {
    root.join("tmp")
}

/// Directory holding all buckets.
pub(crate) fn buckets_dir(root: &Path) -> PathBuf {
    root.join("buckets")
}

/// One bucket's paths.
#[derive(Debug, Clone)]
pub(crate) struct BucketPaths {
    pub(crate) dir: PathBuf,
}

impl BucketPaths {
    pub(crate) fn new(root: &Path, bucket: &str) -> Self {
        Self {
            dir: buckets_dir(root).join(bucket),
        }
    }

    pub(crate) fn record(&self) -> PathBuf {
        self.dir.join("bucket.json")
    }

    pub(crate) fn keys(&self) -> PathBuf {
        self.dir.join("keys")
    }

    pub(crate) fn blobs(&self) -> PathBuf {
        self.dir.join("blobs")
    }

    pub(crate) fn sidecar(&self, key: &str) -> PathBuf {
        self.keys().join(format!("{}.json", key_hash(key)))
    }

    pub(crate) fn versions(&self) -> PathBuf {
        self.dir.join("versions")
    }

    pub(crate) fn versioning(&self) -> PathBuf {
        self.dir.join("versioning.json")
    }

    /// Where a version's sidecar lives: `keys/` for the null version, `versions/` for the
    /// others. `version_id` must be validated (see `versioning::parse_version_id`).
    pub(crate) fn version_sidecar(&self, key: &str, version_id: Option<&str>) -> PathBuf {
        match version_id {
            None => self.sidecar(key),
            Some(id) => self.versions().join(format!("{}.{id}.json", key_hash(key))),
        }
    }

    pub(crate) fn blob(&self, blob: &str) -> PathBuf {
        self.blobs().join(blob)
    }
}

/// The file-name-safe stable name of a key: lowercase hex SHA-256.
pub(crate) fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Makes a directory's entries (creations, renames, removals) durable.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` durably at `dest`: a temp file in `tmp`, fsync, rename over `dest`,
/// fsync of `dest`'s directory. Readers see the old file or the new one, never a part.
pub(crate) fn write_atomic(tmp: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp_path = tmp.join(format!("{}.tmp", uuid::Uuid::new_v4()));
    let result = (|| {
        let mut file = File::create(&tmp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp_path, dest)?;
        if let Some(parent) = dest.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_keys_hash_to_plain_file_names() {
        for key in ["a/../b", "%", "..", "/", "ünï/cødé 🚀", &"k".repeat(1024)] {
            let name = key_hash(key);
            assert_eq!(name.len(), 64);
            assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(key_hash("a"), key_hash("b"));
    }
}
