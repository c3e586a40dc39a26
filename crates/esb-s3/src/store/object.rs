//! Object writes and reads: PUT (the body goes to a blob via `blob.rs`), the durable
//! commit of a version's sidecar, reads by key or version id, deletes (versions and delete
//! markers), server-side copies and tag updates.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncReadExt;

use super::acl::Acl;
use super::blob::{BodyChecks, write_blob};
use super::bucket::Bucket;
use super::error::{StoreError, StoreResult};
use super::meta::{ObjectAttrs, ObjectMeta, now_ms};
use super::paths::{fsync_dir, hex, write_atomic};
use super::versioning::parse_version_id;
use super::{Store, blocking};

/// Read buffer when streaming a blob out.
const READ_CHUNK: usize = 256 * 1024;
/// Largest object a single PUT may write (S3's limit).
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Longest S3 key in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// A precondition checked atomically with the commit of a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PutCondition {
    /// write unconditionally
    #[default]
    None,
    /// `If-None-Match: *`: only if the key does not exist
    IfNoneMatchAny,
    /// `If-Match: <etag>`: only if the key exists with that ETag
    IfMatch(String),
    /// `If-Match: *`: only if the key exists
    IfExists,
}

/// How to write an object.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// headers and user metadata to store
    pub attrs: ObjectAttrs,
    /// precondition
    pub condition: PutCondition,
    /// object tags
    pub tags: BTreeMap<String, String>,
    /// what the body must match
    pub checks: BodyChecks,
    /// the object's ACL (`None`: private)
    pub acl: Option<Acl>,
}

/// An open object: its metadata and its body — the blob file (which stays readable even if
/// the key is overwritten or deleted meanwhile), or for a small object the bytes themselves,
/// read in the same blocking call as the open so a small GET costs one trip to the blocking
/// pool.
#[derive(Debug)]
pub struct ObjectReader {
    /// the object's metadata at open time
    pub meta: Arc<ObjectMeta>,
    body: Opened,
}

#[derive(Debug)]
enum Opened {
    File(std::fs::File),
    Bytes(Bytes),
}

impl ObjectReader {
    /// Streams `len` bytes from `start`. A range up to one read buffer is read in a single
    /// blocking call; longer ones stream in [`READ_CHUNK`] pieces, never whole.
    pub async fn stream(self, start: u64, len: u64) -> StoreResult<BodyStream> {
        let mut file = match self.body {
            Opened::Bytes(bytes) => {
                let from = usize::try_from(start)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let to = usize::try_from(start.saturating_add(len))
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let slice = bytes.slice(from..to);
                return Ok(Box::pin(futures::stream::once(async move { Ok(slice) })));
            }
            Opened::File(file) => file,
        };
        if len <= READ_CHUNK as u64 {
            let bytes = blocking(move || -> std::io::Result<Vec<u8>> {
                let mut buf = vec![0; usize::try_from(len).unwrap_or(0)];
                if start > 0 {
                    file.seek(SeekFrom::Start(start))?;
                }
                std::io::Read::read_exact(&mut file, &mut buf)?;
                Ok(buf)
            })
            .await?
            .map_err(StoreError::io("reading a blob"))?;
            return Ok(Box::pin(futures::stream::once(async move {
                Ok(Bytes::from(bytes))
            })));
        }
        let file = blocking(move || file.seek(SeekFrom::Start(start)).map(|_| file))
            .await?
            .map_err(StoreError::io("seeking in a blob"))?;
        let reader = tokio::fs::File::from_std(file).take(len);
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            reader, READ_CHUNK,
        )))
    }

    /// The whole body as a blocking reader (for server-side copies).
    fn into_read(self) -> Box<dyn std::io::Read + Send> {
        match self.body {
            Opened::File(file) => Box::new(file),
            Opened::Bytes(bytes) => Box::new(std::io::Cursor::new(bytes)),
        }
    }
}

/// Opens a blob; one of at most [`READ_CHUNK`] bytes is read whole right away.
fn open_blob(path: &std::path::Path, size: u64) -> std::io::Result<Opened> {
    let mut file = std::fs::File::open(path)?;
    if size > READ_CHUNK as u64 {
        return Ok(Opened::File(file));
    }
    let mut buf = vec![0; usize::try_from(size).unwrap_or(0)];
    std::io::Read::read_exact(&mut file, &mut buf)?;
    Ok(Opened::Bytes(Bytes::from(buf)))
}

/// An object body being read.
pub type BodyStream =
    std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static>>;

/// Deletes a blob that never got committed when dropped (upload failed or was abandoned).
pub(crate) struct BlobGuard {
    path: Option<PathBuf>,
}

impl BlobGuard {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }

    /// The blob was committed: keep it.
    pub(crate) fn keep(&mut self) {
        self.path = None;
    }
}

impl Drop for BlobGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn_blocking(move || std::fs::remove_file(path));
                }
                Err(_) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

pub(crate) fn validate_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey("the key is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::InvalidKey("the key is longer than 1024 bytes"));
    }
    Ok(())
}

pub(crate) fn check_condition(
    current: Option<&ObjectMeta>,
    condition: &PutCondition,
) -> StoreResult<()> {
    match (condition, current) {
        (PutCondition::None, _) => Ok(()),
        (PutCondition::IfNoneMatchAny, None) => Ok(()),
        (PutCondition::IfMatch(etag), Some(meta)) if meta.etag == *etag => Ok(()),
        (PutCondition::IfExists, Some(_)) => Ok(()),
        (PutCondition::IfMatch(_) | PutCondition::IfExists, None) => {
            Err(StoreError::NoSuchKey(String::new()))
        }
        _ => Err(StoreError::PreconditionFailed),
    }
}

/// Most of a refused request's body read and discarded, so the connection stays usable for
/// the next request; a larger body is left unread (the connection then closes).
const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

/// Reads and discards up to [`DRAIN_LIMIT`] bytes of a body that will not be stored.
pub(crate) async fn drain<S, E>(body: &mut S)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
{
    let mut seen = 0u64;
    while seen <= DRAIN_LIMIT {
        match body.next().await {
            Some(Ok(chunk)) => seen += chunk.len() as u64,
            _ => break,
        }
    }
}

impl Store {
    /// Writes an object from a streamed body; returns the committed metadata once the object
    /// is durable.
    pub async fn put_object<S, E>(
        &self,
        bucket: &str,
        key: &str,
        mut body: S,
        options: PutOptions,
    ) -> StoreResult<Arc<ObjectMeta>>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let early = validate_key(key).and_then(|()| {
            let bucket = self.bucket(bucket)?;
            // 412 (or 404 for If-Match) now; a write that gets in before the commit is a 409.
            check_condition(bucket.get(key).as_deref(), &options.condition)?;
            Ok(bucket)
        });
        let bucket = match early {
            Ok(bucket) => bucket,
            Err(err) => {
                drain(&mut body).await;
                return Err(err);
            }
        };

        let blob = uuid::Uuid::new_v4().to_string();
        let mut guard = BlobGuard::new(bucket.paths.blob(&blob));
        let written = write_blob(guard.path(), body, &options.checks).await?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            blob,
            size: written.size,
            etag: hex(&written.md5),
            last_modified_ms: now_ms(),
            attrs: options.attrs,
            tags: options.tags,
            checksums: written.checksums,
            acl: options.acl,
            ..ObjectMeta::default()
        };
        let committed = self.commit(&bucket, meta, &options.condition).await?;
        guard.keep();
        Ok(committed)
    }

    /// Makes `meta` the key's latest version, all under the key's lock: it gets its version
    /// id per the bucket's versioning state, its sidecar goes to a temp file, fsync, rename,
    /// fsync dir; then the blob of a version it replaced (same version id) is freed.
    ///
    /// The caller checked `condition` before writing the body; if it no longer holds here,
    /// another write got in meanwhile: `ConditionalRequestConflict`, as S3 answers it.
    pub(crate) async fn commit(
        &self,
        bucket: &Arc<Bucket>,
        meta: ObjectMeta,
        condition: &PutCondition,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let _lock = bucket.lock_for(&meta.key).lock().await;
        check_condition(bucket.get(&meta.key).as_deref(), condition)
            .map_err(|_| StoreError::ConditionalRequestConflict)?;
        self.commit_locked(bucket, meta).await
    }

    /// [`Self::commit`] for a caller holding the key's lock.
    async fn commit_locked(
        &self,
        bucket: &Arc<Bucket>,
        mut meta: ObjectMeta,
    ) -> StoreResult<Arc<ObjectMeta>> {
        bucket.stamp(&mut meta);
        let meta = Arc::new(meta);
        let (tmp, dest, json) = (
            self.tmp.clone(),
            bucket
                .paths
                .version_sidecar(&meta.key, meta.version_id.as_deref()),
            meta.to_json(),
        );
        blocking(move || write_atomic(&tmp, &dest, &json))
            .await?
            .map_err(StoreError::io(format!("committing key {:?}", meta.key)))?;
        if let Some(old) = bucket.index_put(Arc::clone(&meta)) {
            self.free_blob(bucket, &old, &meta.blob).await;
        }
        Ok(meta)
    }

    /// Deletes the body of a version that is gone, unless `kept` (the new version's blob)
    /// is the same file.
    async fn free_blob(&self, bucket: &Bucket, old: &ObjectMeta, kept: &str) {
        if old.delete_marker || old.blob == kept {
            return;
        }
        let path = bucket.paths.blob(&old.blob);
        let _ = blocking(move || std::fs::remove_file(path)).await;
    }

    /// The metadata of one version (`version_id` as the client sent it, `None` for the
    /// latest). A delete marker is an error that says so, as S3 answers it.
    pub fn head_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let bucket = self.bucket(bucket)?;
        let found = match version_id {
            None => bucket
                .latest(key)
                .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))?,
            Some(id) => {
                let parsed = parse_version_id(id)?;
                bucket
                    .version(key, parsed)
                    .ok_or_else(|| StoreError::NoSuchVersion(id.to_owned()))?
            }
        };
        if found.delete_marker {
            return Err(StoreError::DeleteMarker {
                key: key.to_owned(),
                version_id: found.version_header(),
                last_modified_ms: found.last_modified_ms,
                requested: version_id.is_some(),
            });
        }
        Ok(found)
    }

    /// Opens the latest object of a key for reading.
    pub async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectReader> {
        self.open_object_version(bucket, key, None).await
    }

    /// Opens one version (or, with `None`, the latest) for reading.
    pub async fn open_object_version(
        &self,
        bucket_name: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> StoreResult<ObjectReader> {
        let bucket = self.bucket(bucket_name)?;
        // A concurrent overwrite may free the blob between the index read and the open;
        // the index then already names the new blob, so look again.
        for _ in 0..8 {
            let meta = self.head_object_version(bucket_name, key, version_id)?;
            let (path, size) = (bucket.paths.blob(&meta.blob), meta.size);
            match blocking(move || open_blob(&path, size)).await? {
                Ok(body) => return Ok(ObjectReader { meta, body }),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(StoreError::io(format!("opening key {key:?}"))(err)),
            }
        }
        Err(StoreError::NoSuchKey(key.to_owned()))
    }

    /// Deletes durably, as S3 does: with a version id, that version (a missing one is not an
    /// error); without, the object in an unversioned bucket, or a new delete marker in a
    /// versioned one (replacing the null version when Suspended).
    pub async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> StoreResult<Deleted> {
        let bucket = self.bucket(bucket)?;
        let _lock = bucket.lock_for(key).lock().await;
        let target = match version_id {
            Some(id) => parse_version_id(id)?,
            None if bucket.versioning().ever() => {
                let marker = ObjectMeta {
                    key: key.to_owned(),
                    last_modified_ms: now_ms(),
                    delete_marker: true,
                    ..ObjectMeta::default()
                };
                let marker = self.commit_locked(&bucket, marker).await?;
                return Ok(Deleted {
                    version_id: marker.version_header(),
                    delete_marker: true,
                });
            }
            None => None,
        };
        let Some(found) = bucket.version(key, target) else {
            return Ok(Deleted {
                version_id: version_id.map(str::to_owned),
                delete_marker: false,
            });
        };
        let (sidecar, dir) = (
            bucket.paths.version_sidecar(key, target),
            if target.is_some() {
                bucket.paths.versions()
            } else {
                bucket.paths.keys()
            },
        );
        blocking(move || {
            std::fs::remove_file(sidecar)?;
            fsync_dir(&dir)
        })
        .await?
        .map_err(StoreError::io(format!("deleting key {key:?}")))?;
        bucket.index_remove(key, target);
        self.free_blob(&bucket, &found, "").await;
        Ok(Deleted {
            version_id: version_id.map(str::to_owned),
            delete_marker: found.delete_marker,
        })
    }

    /// Server-side copy: the body is copied file to file (never through memory), the
    /// metadata and tags kept (`None`) or replaced; the copy gets `acl` (S3 never copies
    /// an ACL).
    pub async fn copy_object(
        &self,
        src: VersionRef<'_>,
        dst_bucket: &str,
        dst_key: &str,
        attrs: Option<ObjectAttrs>,
        tags: Option<BTreeMap<String, String>>,
        acl: Option<Acl>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        validate_key(dst_key)?;
        let reader = self
            .open_object_version(src.bucket, src.key, src.version_id)
            .await?;
        let dst = self.bucket(dst_bucket)?;
        let blob = uuid::Uuid::new_v4().to_string();
        let path = dst.paths.blob(&blob);
        let mut guard = BlobGuard::new(path.clone());
        let blobs_dir = dst.paths.blobs();
        let source = Arc::clone(&reader.meta);
        let mut body = reader.into_read();
        blocking(move || {
            let mut out = std::fs::File::create(&path)?;
            std::io::copy(&mut body, &mut out)?;
            out.sync_all()?;
            fsync_dir(&blobs_dir)
        })
        .await?
        .map_err(StoreError::io(format!("copying key {:?}", src.key)))?;
        let meta = ObjectMeta {
            key: dst_key.to_owned(),
            blob,
            size: source.size,
            etag: source.etag.clone(),
            last_modified_ms: now_ms(),
            attrs: attrs.unwrap_or_else(|| source.attrs.clone()),
            tags: tags.unwrap_or_else(|| source.tags.clone()),
            checksums: source.checksums.clone(),
            part_sizes: source.part_sizes.clone(),
            part_checksums: source.part_checksums.clone(),
            acl,
            ..ObjectMeta::default()
        };
        let committed = self.commit(&dst, meta, &PutCondition::None).await?;
        guard.keep();
        Ok(committed)
    }
}

impl Store {
    /// Replaces the tags of one version (`None`: the current object); the body is untouched.
    pub async fn put_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        tags: BTreeMap<String, String>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        self.update_object(bucket, key, version_id, |meta| meta.tags = tags)
            .await
    }

    /// Replaces the ACL of one version (`None`: the current object); the body is untouched.
    pub async fn put_object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        acl: Option<Acl>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        self.update_object(bucket, key, version_id, |meta| meta.acl = acl)
            .await
    }

    /// Rewrites the sidecar of one version (`None`: the current object) with `change`
    /// applied, durably and under the key's lock.
    async fn update_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> StoreResult<Arc<ObjectMeta>> {
        let current = self.head_object_version(bucket, key, version_id)?;
        let bucket = self.bucket(bucket)?;
        let _lock = bucket.lock_for(key).lock().await;
        // Look again under the lock: the version may have changed or gone meanwhile.
        let current = bucket
            .version(key, current.version_id.as_deref())
            .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))?;
        let mut meta = (*current).clone();
        change(&mut meta);
        let meta = Arc::new(meta);
        let (tmp, dest, json) = (
            self.tmp.clone(),
            bucket
                .paths
                .version_sidecar(key, meta.version_id.as_deref()),
            meta.to_json(),
        );
        blocking(move || write_atomic(&tmp, &dest, &json))
            .await?
            .map_err(StoreError::io(format!("updating key {key:?}")))?;
        bucket.index_replace(Arc::clone(&meta));
        Ok(meta)
    }
}

/// One version of an object, named by the client.
#[derive(Debug, Clone, Copy)]
pub struct VersionRef<'a> {
    /// bucket
    pub bucket: &'a str,
    /// key
    pub key: &'a str,
    /// version id as sent (`None`: the current object)
    pub version_id: Option<&'a str>,
}

/// What a delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// the version removed, or the delete marker created (`x-amz-version-id`)
    pub version_id: Option<String>,
    /// whether that version is a delete marker
    pub delete_marker: bool,
}
