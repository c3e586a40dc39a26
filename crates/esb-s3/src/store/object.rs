//! Object writes and reads: streaming a body into a blob with its MD5, the durable commit of
//! the sidecar, reads that stream from the blob, deletes and server-side copies.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::AsyncReadExt;

use super::bucket::Bucket;
use super::checksum::{ChecksumAlgorithm, Hasher};
use super::error::{StoreError, StoreResult};
use super::meta::{ObjectAttrs, ObjectMeta, now_ms};
use super::paths::{fsync_dir, hex, write_atomic};
use super::{Store, blocking};

/// Bytes gathered from the request body before one write to the blob file.
const WRITE_CHUNK: usize = 1 << 20;
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
}

/// How to write an object.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// headers and user metadata to store
    pub attrs: ObjectAttrs,
    /// `Content-Length`, if the client declared it
    pub expected_len: Option<u64>,
    /// `Content-MD5`, decoded
    pub content_md5: Option<[u8; 16]>,
    /// precondition
    pub condition: PutCondition,
    /// object tags
    pub tags: BTreeMap<String, String>,
    /// additional checksums to compute, each with the client's value to check if it sent one
    pub checksums: BTreeMap<ChecksumAlgorithm, Option<String>>,
}

/// An open object: its metadata and its body file (which stays readable even if the key is
/// overwritten or deleted meanwhile).
#[derive(Debug)]
pub struct ObjectReader {
    /// the object's metadata at open time
    pub meta: Arc<ObjectMeta>,
    file: std::fs::File,
}

impl ObjectReader {
    /// Streams `len` bytes from `start`. A range up to one read buffer is read in a single
    /// blocking call; longer ones stream in [`READ_CHUNK`] pieces, never whole.
    pub async fn stream(self, start: u64, len: u64) -> StoreResult<BodyStream> {
        let mut file = self.file;
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

fn check_condition(current: Option<&ObjectMeta>, condition: &PutCondition) -> StoreResult<()> {
    match (condition, current) {
        (PutCondition::None, _) => Ok(()),
        (PutCondition::IfNoneMatchAny, None) => Ok(()),
        (PutCondition::IfMatch(etag), Some(meta)) if meta.etag == *etag => Ok(()),
        (PutCondition::IfMatch(_), None) => Err(StoreError::NoSuchKey(String::new())),
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

/// Streams `body` into a new file at `path` computing its MD5, checks the declared length
/// and `Content-MD5`, and makes the file and its directory entry durable. Memory use is
/// bounded by [`WRITE_CHUNK`] whatever the body's size.
pub(crate) async fn write_blob<S, E>(
    path: PathBuf,
    mut body: S,
    expected_len: Option<u64>,
    content_md5: Option<[u8; 16]>,
    checksums: &BTreeMap<ChecksumAlgorithm, Option<String>>,
) -> StoreResult<Written>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let create_path = path.clone();
    let mut file = blocking(move || std::fs::File::create(create_path))
        .await?
        .map_err(StoreError::io(format!("creating {}", path.display())))?;
    if expected_len.is_some_and(|n| n > MAX_PUT_SIZE) {
        return Err(StoreError::EntityTooLarge);
    }
    let mut md5 = Md5::new();
    let mut hashers: Vec<(ChecksumAlgorithm, Hasher)> =
        checksums.keys().map(|a| (*a, Hasher::new(*a))).collect();
    let mut size: u64 = 0;
    let mut buf = Vec::with_capacity(WRITE_CHUNK);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| StoreError::Body(err.to_string()))?;
        md5.update(&chunk);
        for (_, hasher) in &mut hashers {
            hasher.update(&chunk);
        }
        size += chunk.len() as u64;
        if size > MAX_PUT_SIZE {
            return Err(StoreError::EntityTooLarge);
        }
        if let Some(expected) = expected_len
            && size > expected
        {
            return Err(StoreError::IncompleteBody {
                expected,
                got: size,
            });
        }
        buf.extend_from_slice(&chunk);
        if buf.len() >= WRITE_CHUNK {
            (file, buf) = blocking(move || {
                file.write_all(&buf)?;
                buf.clear();
                Ok::<_, std::io::Error>((file, buf))
            })
            .await?
            .map_err(StoreError::io("writing a blob"))?;
        }
    }
    if let Some(expected) = expected_len
        && size != expected
    {
        return Err(StoreError::IncompleteBody {
            expected,
            got: size,
        });
    }
    let digest: [u8; 16] = md5.finalize().into();
    if let Some(want) = content_md5
        && want != digest
    {
        return Err(StoreError::BadDigest);
    }
    let mut computed = BTreeMap::new();
    for (algorithm, hasher) in hashers {
        let value = hasher.finalize();
        if let Some(Some(want)) = checksums.get(&algorithm)
            && *want != value
        {
            return Err(StoreError::BadChecksum(algorithm.name()));
        }
        computed.insert(algorithm, value);
    }
    blocking(move || {
        file.write_all(&buf)?;
        file.sync_all()?;
        fsync_dir(&dir)
    })
    .await?
    .map_err(StoreError::io("syncing a blob"))?;
    Ok(Written {
        size,
        md5: digest,
        checksums: computed,
    })
}

/// What [`write_blob`] wrote.
pub(crate) struct Written {
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) checksums: BTreeMap<ChecksumAlgorithm, String>,
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
            // Fail fast; the authoritative check is at commit.
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
        let written = write_blob(
            guard.path(),
            body,
            options.expected_len,
            options.content_md5,
            &options.checksums,
        )
        .await?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            blob,
            size: written.size,
            etag: hex(&written.md5),
            last_modified_ms: now_ms(),
            attrs: options.attrs,
            tags: options.tags,
            checksums: written.checksums,
        };
        let committed = self.commit(&bucket, meta, &options.condition).await?;
        guard.keep();
        Ok(committed)
    }

    /// Makes `meta` the key's current version: sidecar to temp, fsync, rename, fsync dir,
    /// all under the key's lock; then frees the replaced blob.
    pub(crate) async fn commit(
        &self,
        bucket: &Arc<Bucket>,
        meta: ObjectMeta,
        condition: &PutCondition,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let meta = Arc::new(meta);
        let replaced = {
            let _lock = bucket.lock_for(&meta.key).lock().await;
            check_condition(bucket.get(&meta.key).as_deref(), condition)?;
            let (tmp, dest, json) = (
                self.tmp.clone(),
                bucket.paths.sidecar(&meta.key),
                meta.to_json(),
            );
            blocking(move || write_atomic(&tmp, &dest, &json))
                .await?
                .map_err(StoreError::io(format!("committing key {:?}", meta.key)))?;
            bucket.index_put(Arc::clone(&meta))
        };
        if let Some(old) = replaced
            && old.blob != meta.blob
        {
            let path = bucket.paths.blob(&old.blob);
            let _ = blocking(move || std::fs::remove_file(path)).await;
        }
        Ok(meta)
    }

    /// Opens an object for reading.
    pub async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectReader> {
        let bucket = self.bucket(bucket)?;
        // A concurrent overwrite may free the blob between the index read and the open;
        // the index then already names the new blob, so look again.
        for _ in 0..8 {
            let meta = bucket
                .get(key)
                .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))?;
            let path = bucket.paths.blob(&meta.blob);
            match blocking(move || std::fs::File::open(path)).await? {
                Ok(file) => return Ok(ObjectReader { meta, file }),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(StoreError::io(format!("opening key {key:?}"))(err)),
            }
        }
        Err(StoreError::NoSuchKey(key.to_owned()))
    }

    /// Deletes an object durably; deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> StoreResult<()> {
        let bucket = self.bucket(bucket)?;
        let removed = {
            let _lock = bucket.lock_for(key).lock().await;
            if bucket.get(key).is_none() {
                return Ok(());
            }
            let (sidecar, keys_dir) = (bucket.paths.sidecar(key), bucket.paths.keys());
            blocking(move || {
                std::fs::remove_file(sidecar)?;
                fsync_dir(&keys_dir)
            })
            .await?
            .map_err(StoreError::io(format!("deleting key {key:?}")))?;
            bucket.index_remove(key)
        };
        if let Some(old) = removed {
            let path = bucket.paths.blob(&old.blob);
            let _ = blocking(move || std::fs::remove_file(path)).await;
        }
        Ok(())
    }

    /// Server-side copy: the body is copied file to file (never through memory), the
    /// metadata and tags kept (`None`) or replaced.
    pub async fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        attrs: Option<ObjectAttrs>,
        tags: Option<BTreeMap<String, String>>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        validate_key(dst_key)?;
        let reader = self.open_object(src_bucket, src_key).await?;
        let dst = self.bucket(dst_bucket)?;
        let blob = uuid::Uuid::new_v4().to_string();
        let path = dst.paths.blob(&blob);
        let mut guard = BlobGuard {
            path: Some(path.clone()),
        };
        let blobs_dir = dst.paths.blobs();
        let mut src = reader.file;
        blocking(move || {
            let mut out = std::fs::File::create(&path)?;
            std::io::copy(&mut src, &mut out)?;
            out.sync_all()?;
            fsync_dir(&blobs_dir)
        })
        .await?
        .map_err(StoreError::io(format!("copying key {src_key:?}")))?;
        let meta = ObjectMeta {
            key: dst_key.to_owned(),
            blob,
            size: reader.meta.size,
            etag: reader.meta.etag.clone(),
            last_modified_ms: now_ms(),
            attrs: attrs.unwrap_or_else(|| reader.meta.attrs.clone()),
            tags: tags.unwrap_or_else(|| reader.meta.tags.clone()),
            checksums: reader.meta.checksums.clone(),
        };
        let committed = self.commit(&dst, meta, &PutCondition::None).await?;
        guard.keep();
        Ok(committed)
    }
}

impl Store {
    /// Replaces an object's tags (the body is untouched).
    pub async fn put_object_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let bucket = self.bucket(bucket)?;
        let _lock = bucket.lock_for(key).lock().await;
        let current = bucket
            .get(key)
            .ok_or_else(|| StoreError::NoSuchKey(key.to_owned()))?;
        let meta = Arc::new(ObjectMeta {
            tags,
            ..(*current).clone()
        });
        let (tmp, dest, json) = (self.tmp.clone(), bucket.paths.sidecar(key), meta.to_json());
        blocking(move || write_atomic(&tmp, &dest, &json))
            .await?
            .map_err(StoreError::io(format!("tagging key {key:?}")))?;
        bucket.index_put(Arc::clone(&meta));
        Ok(meta)
    }
}
