//! Buckets: name rules, the in-memory key index rebuilt from the sidecars at startup, the
//! per-key commit locks, and creating and removing a bucket's directory durably.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::meta::ObjectMeta;
use super::paths::{BucketPaths, fsync_dir, key_hash, write_atomic};
use super::versioning::{self, VersioningState, new_version_id};

/// Number of commit locks per bucket; a key's lock is chosen by its hash.
const COMMIT_LOCKS: usize = 64;

/// The bucket record stored as `bucket.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketRecord {
    pub(crate) created_ms: i64,
    /// The region given at creation (`LocationConstraint`, else the region the request was
    /// signed for); absent for us-east-1 and in records written before regions were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
}

/// All versions of one key, newest (highest `seq`) first; a key of a bucket that never had
/// versioning has exactly one.
pub(crate) type Versions = Vec<Arc<ObjectMeta>>;

/// A bucket's key index: every key with at least one version.
pub(crate) type Index = BTreeMap<String, Versions>;

/// A live bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) created_ms: i64,
    /// `None` is us-east-1
    pub(crate) region: Option<String>,
    pub(crate) paths: BucketPaths,
    /// Every committed version, by key; the sidecars on disk are the truth, this mirrors them.
    pub(crate) index: RwLock<Index>,
    versioning: RwLock<VersioningState>,
    /// The next commit sequence number (versioned writes only).
    next_seq: AtomicU64,
    /// Serialise the commit (rename of the sidecar, index update) of writes to one key.
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Serialise part commits, completion and abort of one multipart upload; separate from
    /// `locks` because completing takes both.
    upload_locks: Vec<tokio::sync::Mutex<()>>,
}

impl Bucket {
    fn new(
        name: String,
        record: BucketRecord,
        paths: BucketPaths,
        index: Index,
        versioning: VersioningState,
    ) -> Self {
        let new_locks = || {
            (0..COMMIT_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect()
        };
        let max_seq = index
            .values()
            .flat_map(|versions| versions.iter().map(|m| m.seq))
            .max()
            .unwrap_or(0);
        Self {
            name,
            created_ms: record.created_ms,
            region: record.region,
            paths,
            index: RwLock::new(index),
            versioning: RwLock::new(versioning),
            next_seq: AtomicU64::new(max_seq + 1),
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

    pub(crate) fn versioning(&self) -> VersioningState {
        self.versioning.read().map(|v| *v).unwrap_or_default()
    }

    pub(crate) fn set_versioning(&self, state: VersioningState) {
        if let Ok(mut v) = self.versioning.write() {
            *v = state;
        }
    }

    /// Gives a new write its version id and sequence number per the versioning state.
    /// Called under the key's commit lock, so the state read here decides.
    pub(crate) fn stamp(&self, meta: &mut ObjectMeta) {
        match self.versioning() {
            VersioningState::Unversioned => {
                meta.version_id = None;
                meta.seq = 0;
            }
            VersioningState::Enabled => {
                meta.version_id = Some(new_version_id());
                meta.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            }
            VersioningState::Suspended => {
                meta.version_id = None;
                meta.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The current object of `key`: its latest version unless that is a delete marker.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.latest(key).filter(|m| !m.delete_marker)
    }

    /// The latest version of `key`, delete marker or not.
    pub(crate) fn latest(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index
            .read()
            .ok()
            .and_then(|index| index.get(key).and_then(|v| v.first().cloned()))
    }

    /// One version of `key` (`None` is the null version).
    pub(crate) fn version(&self, key: &str, version_id: Option<&str>) -> Option<Arc<ObjectMeta>> {
        self.index.read().ok().and_then(|index| {
            index
                .get(key)?
                .iter()
                .find(|m| m.version_id.as_deref() == version_id)
                .cloned()
        })
    }

    /// Whether the bucket holds no version of anything (S3 refuses to delete a bucket that
    /// still holds old versions or delete markers).
    pub(crate) fn is_empty(&self) -> bool {
        self.index
            .read()
            .map(|index| index.is_empty())
            .unwrap_or(false)
    }

    /// Records a commit in the index as the key's latest version, returning the version it
    /// replaced (same version id: the null version, or the only one when unversioned).
    pub(crate) fn index_put(&self, meta: Arc<ObjectMeta>) -> Option<Arc<ObjectMeta>> {
        let Ok(mut index) = self.index.write() else {
            return None;
        };
        let versions = index.entry(meta.key.clone()).or_default();
        let replaced = versions
            .iter()
            .position(|m| m.version_id == meta.version_id)
            .map(|i| versions.remove(i));
        let at = versions.partition_point(|m| m.seq > meta.seq);
        versions.insert(at, meta);
        replaced
    }

    /// Replaces a version in place (same version id and order), e.g. new tags.
    pub(crate) fn index_replace(&self, meta: Arc<ObjectMeta>) {
        if let Ok(mut index) = self.index.write()
            && let Some(slot) = index
                .get_mut(&meta.key)
                .and_then(|v| v.iter_mut().find(|m| m.version_id == meta.version_id))
        {
            *slot = meta;
        }
    }

    /// Records the removal of one version.
    pub(crate) fn index_remove(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> Option<Arc<ObjectMeta>> {
        let mut index = self.index.write().ok()?;
        let versions = index.get_mut(key)?;
        let at = versions
            .iter()
            .position(|m| m.version_id.as_deref() == version_id)?;
        let removed = versions.remove(at);
        if versions.is_empty() {
            index.remove(key);
        }
        Some(removed)
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
    record: BucketRecord,
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
        let json = serde_json::to_vec(&record).unwrap_or_default();
        write_atomic(tmp, &staged.record(), &json)?;
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
        record,
        paths,
        BTreeMap::new(),
        VersioningState::Unversioned,
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

/// Loads a bucket from disk: reads every sidecar (null versions in `keys/`, other versions
/// in `versions/`) into the index and deletes blobs no version points at (left by a crash
/// or an interrupted upload).
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
    let state = versioning::load(&paths.versioning())?;
    let mut index = Index::new();
    let mut live_blobs = HashSet::new();
    let mut add = |meta: ObjectMeta| {
        if !meta.delete_marker {
            live_blobs.insert(meta.blob.clone());
        }
        index
            .entry(meta.key.clone())
            .or_default()
            .push(Arc::new(meta));
    };
    read_sidecars(&paths.keys(), true, &mut add)?;
    if paths.versions().exists() {
        read_sidecars(&paths.versions(), false, &mut add)?;
    }
    for versions in index.values_mut() {
        versions.sort_by_key(|m| std::cmp::Reverse(m.seq));
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
    Ok(Bucket::new(name.to_owned(), record, paths, index, state))
}

/// Reads the sidecars of one directory, checking each file's name against its content
/// (`<hash>.json` holds the null version, `<hash>.<version-id>.json` that version).
fn read_sidecars(
    dir: &Path,
    null_versions: bool,
    add: &mut impl FnMut(ObjectMeta),
) -> StoreResult<()> {
    let entries =
        std::fs::read_dir(dir).map_err(StoreError::io(format!("listing {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io(format!("listing {}", dir.display())))?;
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match ObjectMeta::read(&path) {
            Ok(meta) => {
                let expected = match (&meta.version_id, null_versions) {
                    (None, true) => key_hash(&meta.key),
                    (Some(id), false) => format!("{}.{id}", key_hash(&meta.key)),
                    _ => String::new(),
                };
                if stem == expected {
                    add(meta);
                } else {
                    tracing::warn!(path = %path.display(), "sidecar name does not match its key; ignored");
                }
            }
            Err(err) => tracing::warn!(%err, "unreadable sidecar ignored"),
        }
    }
    Ok(())
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
