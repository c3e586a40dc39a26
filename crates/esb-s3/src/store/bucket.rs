//! Buckets: name rules, the in-memory key index rebuilt from the sidecars at startup, the
//! per-key commit locks, and creating and removing a bucket's directory durably.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::meta::ObjectMeta;
use super::paths::{BucketPaths, fsync_dir, key_hash, write_atomic};

/// Number of commit locks per bucket; a key's lock is chosen by its hash.
const COMMIT_LOCKS: usize = 64;

/// The bucket record stored as `bucket.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketRecord {
    pub(crate) created_ms: i64,
}

/// A live bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) created_ms: i64,
    pub(crate) paths: BucketPaths,
    /// Every committed object, by key; the sidecars on disk are the truth, this mirrors them.
    pub(crate) index: RwLock<BTreeMap<String, Arc<ObjectMeta>>>,
    /// Serialise the commit (rename of the sidecar, index update) of writes to one key.
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Serialise part commits, completion and abort of one multipart upload; separate from
    /// `locks` because completing takes both.
    upload_locks: Vec<tokio::sync::Mutex<()>>,
}

impl Bucket {
    fn new(
        name: String,
        created_ms: i64,
        paths: BucketPaths,
        index: BTreeMap<String, Arc<ObjectMeta>>,
    ) -> Self {
        let new_locks = || {
            (0..COMMIT_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect()
        };
        Self {
            name,
            created_ms,
            paths,
            index: RwLock::new(index),
            locks: new_locks(),
            upload_locks: new_locks(),
        }
    }

    /// The commit lock for `key`.
    pub(crate) fn lock_for(&self, key: &str) -> &tokio::sync::Mutex<()> {
        &self.locks[slot(key)]
    }

    /// The lock of one multipart upload.
    pub(crate) fn upload_lock(&self, upload_id: &str) -> &tokio::sync::Mutex<()> {
        &self.upload_locks[slot(upload_id)]
    }

    /// The committed metadata of `key`, if any.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index
            .read()
            .ok()
            .and_then(|index| index.get(key).cloned())
    }

    /// Whether the bucket holds no object.
    pub(crate) fn is_empty(&self) -> bool {
        self.index
            .read()
            .map(|index| index.is_empty())
            .unwrap_or(false)
    }

    /// Records a commit in the index, returning the replaced entry.
    pub(crate) fn index_put(&self, meta: Arc<ObjectMeta>) -> Option<Arc<ObjectMeta>> {
        match self.index.write() {
            Ok(mut index) => index.insert(meta.key.clone(), meta),
            Err(_) => None,
        }
    }

    /// Records a removal in the index.
    pub(crate) fn index_remove(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index
            .write()
            .ok()
            .and_then(|mut index| index.remove(key))
    }
}

fn slot(name: &str) -> usize {
    let hash = key_hash(name);
    usize::from_str_radix(hash.get(..4).unwrap_or("0"), 16).unwrap_or(0) % COMMIT_LOCKS
}

/// Checks S3's bucket naming rules.
pub fn validate_bucket_name(name: &str) -> StoreResult<()> {
    let bad = |why| Err(StoreError::InvalidBucketName(name.to_owned(), why));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("may contain only lowercase letters, digits, '.' and '-'");
    }
    let first_last_ok =
        |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !first_last_ok(name.bytes().next()) || !first_last_ok(name.bytes().last()) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("must not contain '..', '.-' or '-.'");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    Ok(())
}

/// Creates the bucket directory durably: built under `tmp`, then renamed into place, so a
/// crash never leaves a half-made bucket.
pub(crate) fn create_dir(
    root: &Path,
    tmp: &Path,
    name: &str,
    created_ms: i64,
) -> StoreResult<Bucket> {
    let paths = BucketPaths::new(root, name);
    if paths.dir.exists() {
        return Err(StoreError::BucketAlreadyOwnedByYou(name.to_owned()));
    }
    let staging = tmp.join(format!("bucket-{}", uuid::Uuid::new_v4()));
    let staged = BucketPaths {
        dir: staging.clone(),
    };
    let ctx = format!("creating bucket {name}");
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir(&staging)?;
        std::fs::create_dir(staged.keys())?;
        std::fs::create_dir(staged.blobs())?;
        let record = serde_json::to_vec(&BucketRecord { created_ms }).unwrap_or_default();
        write_atomic(tmp, &staged.record(), &record)?;
        fsync_dir(&staged.keys())?;
        fsync_dir(&staged.blobs())?;
        fsync_dir(&staging)?;
        std::fs::rename(&staging, &paths.dir)?;
        if let Some(parent) = paths.dir.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&staging);
        if paths.dir.exists() {
            return Err(StoreError::BucketAlreadyOwnedByYou(name.to_owned()));
        }
        return Err(StoreError::io(ctx)(err));
    }
    Ok(Bucket::new(
        name.to_owned(),
        created_ms,
        paths,
        BTreeMap::new(),
    ))
}

/// Removes an (empty) bucket durably: renamed out of `buckets/` first, then deleted.
pub(crate) fn remove_dir(tmp: &Path, bucket: &Bucket) -> StoreResult<()> {
    let trash = tmp.join(format!("trash-{}", uuid::Uuid::new_v4()));
    let ctx = format!("deleting bucket {}", bucket.name);
    std::fs::rename(&bucket.paths.dir, &trash).map_err(StoreError::io(ctx.clone()))?;
    if let Some(parent) = bucket.paths.dir.parent() {
        fsync_dir(parent).map_err(StoreError::io(ctx.clone()))?;
    }
    std::fs::remove_dir_all(&trash).map_err(StoreError::io(ctx))
}

/// Loads a bucket from disk: reads every sidecar into the index and deletes blobs no sidecar
/// points at (left by a crash or an interrupted upload).
pub(crate) fn load(root: &Path, name: &str) -> StoreResult<Bucket> {
    let paths = BucketPaths::new(root, name);
    let record_bytes = std::fs::read(paths.record()).map_err(StoreError::io(format!(
        "reading {}",
        paths.record().display()
    )))?;
    let record: BucketRecord =
        serde_json::from_slice(&record_bytes).map_err(|source| StoreError::Corrupt {
            path: paths.record().display().to_string(),
            source,
        })?;
    let mut index = BTreeMap::new();
    let mut live_blobs = HashSet::new();
    let keys_dir = paths.keys();
    let entries = std::fs::read_dir(&keys_dir)
        .map_err(StoreError::io(format!("listing {}", keys_dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io(format!("listing {}", keys_dir.display())))?;
        let path = entry.path();
        let name_ok = path.extension().is_some_and(|ext| ext == "json");
        if !name_ok {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        match ObjectMeta::read(&path) {
            Ok(meta)
                if path
                    .file_stem()
                    .is_some_and(|stem| *stem == *key_hash(&meta.key)) =>
            {
                live_blobs.insert(meta.blob.clone());
                index.insert(meta.key.clone(), Arc::new(meta));
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "sidecar name does not match its key; ignored")
            }
            Err(err) => tracing::warn!(%err, "unreadable sidecar ignored"),
        }
    }
    let blobs_dir = paths.blobs();
    let entries = std::fs::read_dir(&blobs_dir)
        .map_err(StoreError::io(format!("listing {}", blobs_dir.display())))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if !live_blobs.contains(file_name.to_string_lossy().as_ref()) {
            tracing::debug!(blob = ?file_name, bucket = name, "removing orphan blob");
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(Bucket::new(
        name.to_owned(),
        record.created_ms,
        paths,
        index,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket.v2", "a1b", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "a_b",
            "-ab",
            "ab-",
            "a..b",
            "192.168.1.1",
            &"a".repeat(64),
            "a/b",
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
