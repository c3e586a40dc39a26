//! The durable object store behind the S3 service: buckets are directories, each object
//! version a metadata sidecar plus a body blob (layout and key encoding in [`paths`],
//! versioning in `versioning.rs`).
//!
//! Durability: a write streams the body into a fresh blob (MD5 computed on the way), fsyncs
//! it and its directory, then writes the sidecar to a temp file, fsyncs it, renames it over
//! the version's sidecar and fsyncs its directory — the rename is the commit, so an acknowledged PUT
//! survives `kill -9` and a reader sees the old object or the new one, never a part. An
//! interrupted upload leaves only a blob no sidecar names (or a temp file); listing never
//! sees it and [`Store::open`] deletes it. One process at a time opens a data directory
//! (an exclusive lock on `<data-dir>/lock`). Concurrent writes to one key commit one after the
//! other under a per-key lock, so the key ends with one whole object.

mod acl;
mod blob;
mod bucket;
mod checksum;
mod config;
mod error;
mod list;
mod meta;
mod multipart;
mod object;
pub(crate) mod paths;
mod versioning;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use acl::{Acl, Grant, Grantee, Permission};
pub use blob::BodyChecks;
pub use bucket::validate_bucket_name;
pub use checksum::{ChecksumAlgorithm, ChecksumType, TrailingChecksum};
pub use config::BucketConfig;
pub use error::{StoreError, StoreResult};
pub use list::{ListPage, ListParams, VersionPage};
pub use meta::{NULL_VERSION, ObjectAttrs, ObjectMeta, now_ms};
pub use multipart::{
    COMPLETED_RETENTION_MS, Completion, MIN_PART_SIZE, NewUpload, PartInfo, RequestedPart,
    UploadChecksum, UploadInfo,
};
pub use object::{
    BodyStream, Deleted, MAX_KEY_LEN, ObjectReader, PutCondition, PutOptions, VersionRef,
};
pub use versioning::VersioningState;

use bucket::Bucket;

/// The region of a bucket created without one, and the one S3 answers with an empty
/// `LocationConstraint`.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// bucket name
    pub name: String,
    /// creation time, unix milliseconds
    pub created_ms: i64,
    /// the bucket's region; `None` is us-east-1
    pub region: Option<String>,
}

impl BucketInfo {
    fn of(bucket: &Bucket) -> Self {
        Self {
            name: bucket.name.clone(),
            created_ms: bucket.created_ms,
            region: bucket.region.clone(),
        }
    }
}

/// The object store rooted at a data directory.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    tmp: PathBuf,
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    /// Serialises bucket creation and deletion.
    bucket_admin: tokio::sync::Mutex<()>,
    /// Held (exclusive `flock` on `<data-dir>/lock`) while the store is open, so two
    /// processes never share a data directory.
    _lock: std::fs::File,
}

impl Store {
    /// Opens (creating if needed) the store under `root`: empties `tmp/`, loads every bucket's
    /// index and removes orphan blobs left by interrupted writes.
    pub async fn open(root: impl Into<PathBuf>) -> StoreResult<Arc<Self>> {
        let root = root.into();
        let store = blocking(move || Self::open_blocking(root)).await??;
        Ok(Arc::new(store))
    }

    fn open_blocking(root: PathBuf) -> StoreResult<Self> {
        let tmp = paths::tmp_dir(&root);
        let buckets_dir = paths::buckets_dir(&root);
        for dir in [&root, &tmp, &buckets_dir] {
            std::fs::create_dir_all(dir)
                .map_err(StoreError::io(format!("creating {}", dir.display())))?;
        }
        let lock_path = root.join("lock");
        let lock = std::fs::File::create(&lock_path)
            .map_err(StoreError::io(format!("creating {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(root.display().to_string()));
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(StoreError::io(format!("locking {}", lock_path.display()))(
                    err,
                ));
            }
        }
        let entries = std::fs::read_dir(&tmp)
            .map_err(StoreError::io(format!("listing {}", tmp.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
        let mut buckets = BTreeMap::new();
        let entries = std::fs::read_dir(&buckets_dir)
            .map_err(StoreError::io(format!("listing {}", buckets_dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if validate_bucket_name(&name).is_err() {
                continue;
            }
            let bucket = bucket::load(&root, &name)?;
            buckets.insert(name, Arc::new(bucket));
        }
        Ok(Self {
            root,
            tmp,
            buckets: RwLock::new(buckets),
            bucket_admin: tokio::sync::Mutex::new(()),
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn bucket(&self, name: &str) -> StoreResult<Arc<Bucket>> {
        self.buckets
            .read()
            .ok()
            .and_then(|buckets| buckets.get(name).cloned())
            .ok_or_else(|| StoreError::NoSuchBucket(name.to_owned()))
    }

    /// All buckets, by name.
    pub fn list_buckets(&self) -> Vec<BucketInfo> {
        self.buckets
            .read()
            .map(|buckets| buckets.values().map(|b| BucketInfo::of(b)).collect())
            .unwrap_or_default()
    }

    /// The bucket's record, or `NoSuchBucket`.
    pub fn head_bucket(&self, name: &str) -> StoreResult<BucketInfo> {
        let bucket = self.bucket(name)?;
        Ok(BucketInfo::of(&bucket))
    }

    /// Creates a bucket durably in us-east-1.
    pub async fn create_bucket(&self, name: &str) -> StoreResult<()> {
        self.create_bucket_in(name, None).await
    }

    /// Creates a bucket durably in `region` (`None` or `us-east-1`: us-east-1).
    pub async fn create_bucket_in(&self, name: &str, region: Option<&str>) -> StoreResult<()> {
        validate_bucket_name(name)?;
        let region = region
            .filter(|r| !r.is_empty() && *r != DEFAULT_REGION)
            .map(str::to_owned);
        let _admin = self.bucket_admin.lock().await;
        if self.bucket(name).is_ok() {
            return Err(StoreError::BucketAlreadyOwnedByYou(name.to_owned()));
        }
        let (root, tmp, owned) = (self.root.clone(), self.tmp.clone(), name.to_owned());
        let record = bucket::BucketRecord {
            created_ms: meta::now_ms(),
            region,
        };
        let created = blocking(move || bucket::create_dir(&root, &tmp, &owned, record)).await??;
        if let Ok(mut buckets) = self.buckets.write() {
            buckets.insert(name.to_owned(), Arc::new(created));
        }
        Ok(())
    }

    /// Deletes an empty bucket durably.
    pub async fn delete_bucket(&self, name: &str) -> StoreResult<()> {
        let _admin = self.bucket_admin.lock().await;
        let bucket = self.bucket(name)?;
        if !bucket.is_empty() {
            return Err(StoreError::BucketNotEmpty(name.to_owned()));
        }
        if let Ok(mut buckets) = self.buckets.write() {
            buckets.remove(name);
        }
        let tmp = self.tmp.clone();
        let removed = Arc::clone(&bucket);
        let result = blocking(move || bucket::remove_dir(&tmp, &removed)).await?;
        if result.is_err()
            && let Ok(mut buckets) = self.buckets.write()
        {
            buckets.insert(name.to_owned(), bucket);
        }
        result
    }

    /// The current object's metadata (`NoSuchKey` also when the latest version is a delete
    /// marker).
    pub fn head_object(&self, bucket: &str, key: &str) -> StoreResult<Arc<ObjectMeta>> {
        self.bucket(bucket)?
            .get(key)
            .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))
    }

    /// One page of a bucket listing.
    pub fn list_objects(&self, bucket: &str, params: &ListParams) -> StoreResult<ListPage> {
        let bucket = self.bucket(bucket)?;
        let index = bucket
            .index
            .read()
            .map_err(|_| StoreError::Body("index lock poisoned".into()))?;
        Ok(list::list(&index, params))
    }

    /// One page of a version listing, starting after `version_after` of `params.after`
    /// (or after all versions of that key when `None`).
    pub fn list_object_versions(
        &self,
        bucket: &str,
        params: &ListParams,
        version_after: Option<&str>,
    ) -> StoreResult<VersionPage> {
        let bucket = self.bucket(bucket)?;
        let index = bucket
            .index
            .read()
            .map_err(|_| StoreError::Body("index lock poisoned".into()))?;
        Ok(list::list_versions(&index, params, version_after))
    }
}

/// Runs blocking file-system work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| StoreError::Io {
            context: "file-system task".into(),
            source: std::io::Error::other(err),
        })
}

#[cfg(test)]
mod tests;
