//! Multipart uploads, kept on disk so they survive restarts as in S3:
//!
//! ```text
//! <bucket>/uploads/<upload-id>/upload.json   key, attributes, initiation time
//! <bucket>/uploads/<upload-id>/<n>.json      part n: its data file, size, ETag
//! <bucket>/uploads/<upload-id>/<uuid>        part data
//! ```
//!
//! A part is written like an object (data file, fsync, then its sidecar by atomic rename),
//! so a re-uploaded part replaces the old one whole. Completing concatenates the parts file
//! to file into a new blob and commits it like a PUT, with the ETag `md5(part md5s)-N`; then
//! `completed.json` (the parts asked for and the object committed) replaces the upload's
//! record and parts, so a retried completion with the same parts answers as the first did
//! (S3 does, and SDKs retry it). Those records are pruned after [`COMPLETED_RETENTION_MS`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::acl::Acl;
use super::blob::{BodyChecks, write_blob};
use super::bucket::Bucket;
use super::checksum::{ChecksumAlgorithm, ChecksumType, Hasher, composite};
use super::error::{StoreError, StoreResult};
use super::meta::{ObjectAttrs, ObjectMeta, now_ms};
use super::object::{BlobGuard, PutCondition, check_condition, drain, validate_key};
use super::paths::{fsync_dir, hex, write_atomic};
use super::{Store, blocking};

/// S3's smallest part, except the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's part numbers.
const PART_NUMBERS: std::ops::RangeInclusive<i32> = 1..=10_000;
/// How long a completed upload answers a retried CompleteMultipartUpload.
pub const COMPLETED_RETENTION_MS: i64 = 24 * 3_600_000;
/// The record a completed upload leaves in its directory.
const COMPLETED: &str = "completed.json";

/// What a completed upload leaves behind for a retried completion.
#[derive(Debug, Serialize, Deserialize)]
struct CompletedRecord {
    /// the parts the completion named: number and ETag (without quotes)
    parts: Vec<(i32, String)>,
    /// when it completed, unix milliseconds
    completed_ms: i64,
    /// the object it committed
    object: ObjectMeta,
}

/// The parts of a complete request as they are compared: ETags without quotes.
fn normalised(parts: &[(i32, String)]) -> Vec<(i32, String)> {
    parts
        .iter()
        .map(|(n, etag)| (*n, etag.trim_matches('"').to_owned()))
        .collect()
}

/// The object a completed upload committed, if `parts` are the ones it was completed with.
fn repeated_completion(dir: &std::path::Path, parts: &[(i32, String)]) -> Option<ObjectMeta> {
    let bytes = std::fs::read(dir.join(COMPLETED)).ok()?;
    let record: CompletedRecord = serde_json::from_slice(&bytes).ok()?;
    (record.parts == normalised(parts)).then_some(record.object)
}

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    /// the upload id
    #[serde(default)]
    pub upload_id: String,
    /// the key the object will get
    pub key: String,
    /// initiation time, unix milliseconds
    pub initiated_ms: i64,
    /// headers and user metadata the object will get
    pub attrs: ObjectAttrs,
    /// tags the object will get
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// the ACL the object will get (`None`: private)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Acl>,
    /// the checksum every part gets and the object's is made from (`ChecksumAlgorithm` on
    /// CreateMultipartUpload)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<UploadChecksum>,
}

/// The checksum of an upload: its algorithm and how the object's is made from the parts'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChecksum {
    /// the algorithm
    pub algorithm: ChecksumAlgorithm,
    /// composite or full-object
    #[serde(rename = "type")]
    pub kind: ChecksumType,
}

/// What a new upload's object will get.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// headers and user metadata
    pub attrs: ObjectAttrs,
    /// tags
    pub tags: BTreeMap<String, String>,
    /// ACL (`None`: private)
    pub acl: Option<Acl>,
    /// checksum
    pub checksum: Option<UploadChecksum>,
}

/// One part named by a complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedPart {
    /// part number
    pub number: i32,
    /// its ETag, quoted or not
    pub etag: String,
    /// the checksums the client says it has
    pub checksums: BTreeMap<ChecksumAlgorithm, String>,
}

/// A complete request.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// the parts, in order
    pub parts: Vec<RequestedPart>,
    /// the write's precondition
    pub condition: PutCondition,
    /// the whole object's checksums as the client computed them, to check
    pub checksums: BTreeMap<ChecksumAlgorithm, String>,
}

/// An uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// part number, 1 to 10 000
    pub part_number: i32,
    /// data file name in the upload directory
    pub file: String,
    /// bytes
    pub size: u64,
    /// lowercase hex MD5
    pub etag: String,
    /// upload time, unix milliseconds
    pub last_modified_ms: i64,
    /// additional checksums of the part, base64
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<ChecksumAlgorithm, String>,
}

fn upload_dir(bucket: &Bucket, upload_id: &str) -> StoreResult<PathBuf> {
    // The id comes from the client: it must be one of ours before it touches a path.
    if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::NoSuchUpload(upload_id.to_owned()));
    }
    Ok(bucket.paths.dir.join("uploads").join(upload_id))
}

fn read_upload(dir: &std::path::Path, upload_id: &str) -> StoreResult<UploadInfo> {
    match std::fs::read(dir.join("upload.json")) {
        Ok(bytes) => {
            let mut info: UploadInfo =
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                    path: dir.display().to_string(),
                    source,
                })?;
            info.upload_id = upload_id.to_owned();
            Ok(info)
        }
        Err(_) => Err(StoreError::NoSuchUpload(upload_id.to_owned())),
    }
}

fn read_parts(dir: &std::path::Path) -> StoreResult<Vec<PartInfo>> {
    let mut parts = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(StoreError::io(format!("listing {}", dir.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem.parse::<i32>().is_err() {
            continue;
        }
        let bytes =
            std::fs::read(entry.path()).map_err(StoreError::io(format!("reading {name}")))?;
        let part: PartInfo =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: entry.path().display().to_string(),
                source,
            })?;
        parts.push(part);
    }
    parts.sort_by_key(|p| p.part_number);
    Ok(parts)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Store {
    /// Starts a multipart upload of an object that will get what `upload` says; returns its
    /// id.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload: NewUpload,
    ) -> StoreResult<String> {
        validate_key(key)?;
        let bucket = self.bucket(bucket)?;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let dir = upload_dir(&bucket, &upload_id)?;
        let info = UploadInfo {
            upload_id: upload_id.clone(),
            key: key.to_owned(),
            initiated_ms: now_ms(),
            attrs: upload.attrs,
            tags: upload.tags,
            acl: upload.acl,
            checksum: upload.checksum,
        };
        let json = serde_json::to_vec(&info).unwrap_or_default();
        let tmp = self.tmp.clone();
        blocking(move || -> std::io::Result<()> {
            let uploads = dir
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let first = !uploads.exists();
            std::fs::create_dir_all(&dir)?;
            write_atomic(&tmp, &dir.join("upload.json"), &json)?;
            fsync_dir(&uploads)?;
            match uploads.parent() {
                Some(bucket_dir) if first => fsync_dir(bucket_dir),
                _ => Ok(()),
            }
        })
        .await?
        .map_err(StoreError::io("creating a multipart upload"))?;
        Ok(upload_id)
    }

    /// Stores one part from a streamed body; returns it once durable.
    pub async fn upload_part<S, E>(
        &self,
        bucket: &str,
        upload_id: &str,
        part_number: i32,
        mut body: S,
        checks: &BodyChecks,
    ) -> StoreResult<PartInfo>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let early = async {
            if !PART_NUMBERS.contains(&part_number) {
                return Err(StoreError::InvalidArgument(
                    "Part number must be an integer between 1 and 10000".into(),
                ));
            }
            let bucket = self.bucket(bucket)?;
            let dir = upload_dir(&bucket, upload_id)?;
            let check_dir = dir.clone();
            let owned_id = upload_id.to_owned();
            let info = blocking(move || read_upload(&check_dir, &owned_id)).await??;
            let checks = with_upload_checksum(checks, info.checksum)?;
            Ok((bucket, dir, checks))
        };
        let (bucket, dir, checks) = match early.await {
            Ok(found) => found,
            Err(err) => {
                drain(&mut body).await;
                return Err(err);
            }
        };
        let file = uuid::Uuid::new_v4().to_string();
        let mut guard = BlobGuard::new(dir.join(&file));
        let written = write_blob(guard.path(), body, &checks).await?;
        let part = PartInfo {
            part_number,
            file,
            size: written.size,
            etag: hex(&written.md5),
            last_modified_ms: now_ms(),
            checksums: written.checksums,
        };
        let json = serde_json::to_vec(&part).unwrap_or_default();
        let _lock = bucket.upload_lock(upload_id).lock().await;
        let (tmp, sidecar) = (self.tmp.clone(), dir.join(format!("{part_number}.json")));
        let old_file = blocking(move || -> std::io::Result<Option<String>> {
            let old = std::fs::read(&sidecar)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<PartInfo>(&bytes).ok())
                .map(|p| p.file);
            write_atomic(&tmp, &sidecar, &json)?;
            Ok(old)
        })
        .await?
        .map_err(|_| StoreError::NoSuchUpload(upload_id.to_owned()))?;
        guard.keep();
        if let Some(old) = old_file {
            let path = dir.join(old);
            let _ = blocking(move || std::fs::remove_file(path)).await;
        }
        Ok(part)
    }

    /// The upload's record and its parts, in part-number order.
    pub async fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
    ) -> StoreResult<(UploadInfo, Vec<PartInfo>)> {
        let bucket = self.bucket(bucket)?;
        let dir = upload_dir(&bucket, upload_id)?;
        let owned_id = upload_id.to_owned();
        blocking(move || Ok((read_upload(&dir, &owned_id)?, read_parts(&dir)?))).await?
    }

    /// Uploads in progress in the bucket, by key then initiation time.
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> StoreResult<Vec<UploadInfo>> {
        let bucket = self.bucket(bucket)?;
        let uploads = bucket.paths.dir.join("uploads");
        let prefix = prefix.to_owned();
        blocking(move || {
            let mut out = Vec::new();
            let Ok(entries) = std::fs::read_dir(&uploads) else {
                return out;
            };
            for entry in entries.flatten() {
                let id = entry.file_name().to_string_lossy().into_owned();
                if let Ok(info) = read_upload(&entry.path(), &id)
                    && info.key.starts_with(&prefix)
                {
                    out.push(info);
                }
            }
            out.sort_by(|a, b| (&a.key, a.initiated_ms).cmp(&(&b.key, b.initiated_ms)));
            out
        })
        .await
    }

    /// Drops an upload and its parts.
    pub async fn abort_multipart_upload(&self, bucket: &str, upload_id: &str) -> StoreResult<()> {
        let bucket = self.bucket(bucket)?;
        let dir = upload_dir(&bucket, upload_id)?;
        let _lock = bucket.upload_lock(upload_id).lock().await;
        let owned_id = upload_id.to_owned();
        blocking(move || {
            read_upload(&dir, &owned_id)?;
            remove_upload(&dir)
        })
        .await?
    }

    /// Assembles the listed parts into the object and commits it, with the checksum the
    /// upload asked for.
    pub async fn complete_multipart_upload(
        &self,
        bucket_name: &str,
        upload_id: &str,
        completion: Completion,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let Completion {
            parts: requested,
            condition,
            checksums: expected,
        } = completion;
        let parts: Vec<(i32, String)> = requested
            .iter()
            .map(|p| (p.number, p.etag.clone()))
            .collect();
        let bucket = self.bucket(bucket_name)?;
        let dir = upload_dir(&bucket, upload_id)?;
        let _lock = bucket.upload_lock(upload_id).lock().await;
        let (info, uploaded) = match self.list_parts(bucket_name, upload_id).await {
            Err(StoreError::NoSuchUpload(id)) => {
                let (dir, asked) = (dir.clone(), parts.clone());
                return match blocking(move || repeated_completion(&dir, &asked)).await? {
                    Some(object) => Ok(Arc::new(object)),
                    None => Err(StoreError::NoSuchUpload(id)),
                };
            }
            other => other?,
        };
        if parts.is_empty() {
            return Err(StoreError::InvalidArgument(
                "You must specify at least one part".into(),
            ));
        }
        // 412 (or 404 for If-Match) now; a write that gets in before the commit is a 409.
        check_condition(bucket.get(&info.key).as_deref(), &condition)?;
        let mut chosen = Vec::with_capacity(parts.len());
        if parts.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(StoreError::InvalidPartOrder);
        }
        for (i, asked) in requested.iter().enumerate() {
            if let Some(c) = info.checksum.filter(|c| c.kind == ChecksumType::Composite)
                && !asked.checksums.contains_key(&c.algorithm)
            {
                return Err(StoreError::MissingPartChecksum {
                    algorithm: c.algorithm.name(),
                    part: asked.number,
                });
            }
            let etag = asked.etag.trim_matches('"');
            let part = uploaded
                .iter()
                .find(|p| p.part_number == asked.number && p.etag == etag)
                .filter(|p| {
                    asked
                        .checksums
                        .iter()
                        .all(|(a, v)| p.checksums.get(a) == Some(v))
                })
                .ok_or(StoreError::InvalidPart(asked.number))?;
            if i + 1 < parts.len() && part.size < MIN_PART_SIZE {
                return Err(StoreError::EntityTooSmall(asked.number));
            }
            chosen.push(part.clone());
        }
        let mut md5 = Md5::new();
        for part in &chosen {
            md5.update(decode_hex(&part.etag).unwrap_or_default());
        }
        let etag = format!("{}-{}", hex(&md5.finalize()), chosen.len());
        let size = chosen.iter().map(|p| p.size).sum();

        let blob = uuid::Uuid::new_v4().to_string();
        let mut guard = BlobGuard::new(bucket.paths.blob(&blob));
        let (target, blobs_dir, part_dir) = (guard.path(), bucket.paths.blobs(), dir.clone());
        let files: Vec<String> = chosen.iter().map(|p| p.file.clone()).collect();
        let full_object = info
            .checksum
            .filter(|c| c.kind == ChecksumType::FullObject)
            .map(|c| Hasher::new(c.algorithm));
        let full_object = blocking(move || -> std::io::Result<Option<String>> {
            let mut out = std::fs::File::create(&target)?;
            let mut hasher = full_object;
            let mut buf = vec![0; 1 << 20];
            for file in files {
                let mut part = std::fs::File::open(part_dir.join(file))?;
                loop {
                    let n = std::io::Read::read(&mut part, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n])?;
                    if let Some(h) = &mut hasher {
                        h.update(&buf[..n]);
                    }
                }
            }
            out.flush()?;
            out.sync_all()?;
            fsync_dir(&blobs_dir)?;
            Ok(hasher.map(Hasher::finalize))
        })
        .await?
        .map_err(StoreError::io("assembling a multipart upload"))?;
        let checksums = object_checksum(info.checksum, &chosen, full_object, &expected)?;
        let meta = ObjectMeta {
            key: info.key,
            blob,
            size,
            etag,
            last_modified_ms: now_ms(),
            attrs: info.attrs,
            tags: info.tags,
            acl: info.acl,
            checksums,
            part_sizes: chosen.iter().map(|p| p.size).collect(),
            part_checksums: if chosen.iter().any(|p| !p.checksums.is_empty()) {
                chosen.iter().map(|p| p.checksums.clone()).collect()
            } else {
                Vec::new()
            },
            ..ObjectMeta::default()
        };
        let committed = self.commit(&bucket, meta, &condition).await?;
        guard.keep();
        let record = CompletedRecord {
            parts: normalised(&parts),
            completed_ms: now_ms(),
            object: (*committed).clone(),
        };
        let (json, tmp) = (
            serde_json::to_vec(&record).unwrap_or_default(),
            self.tmp.clone(),
        );
        // The object is committed whatever happens here; a crash before the record replaces
        // the upload leaves the upload to complete again.
        if let Err(err) = blocking(move || finish_upload(&tmp, &dir, &json)).await? {
            tracing::warn!(%err, "could not record a completed multipart upload");
        }
        Ok(committed)
    }
}

/// `checks` with the upload's checksum added, so every part gets it; a part that sends
/// another algorithm's checksum is refused, as S3 refuses it.
fn with_upload_checksum(
    checks: &BodyChecks,
    upload: Option<UploadChecksum>,
) -> StoreResult<BodyChecks> {
    let mut checks = checks.clone();
    let Some(upload) = upload else {
        return Ok(checks);
    };
    let sent = checks
        .checksums
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(a, _)| *a)
        .chain(checks.trailing.as_ref().map(|t| t.algorithm));
    for algorithm in sent {
        if algorithm != upload.algorithm {
            return Err(StoreError::ChecksumTypeMismatch {
                expected: upload.algorithm.name(),
                got: algorithm.name(),
            });
        }
    }
    checks.checksums.entry(upload.algorithm).or_insert(None);
    Ok(checks)
}

/// The object's checksum: composite from the parts' or the full-object one computed while
/// assembling, checked against what the client sent (`BadDigest`).
fn object_checksum(
    upload: Option<UploadChecksum>,
    parts: &[PartInfo],
    full_object: Option<String>,
    expected: &BTreeMap<ChecksumAlgorithm, String>,
) -> StoreResult<BTreeMap<ChecksumAlgorithm, String>> {
    let mut out = BTreeMap::new();
    let Some(upload) = upload else {
        return Ok(out);
    };
    let value = match upload.kind {
        ChecksumType::FullObject => full_object,
        ChecksumType::Composite => {
            let digests: Option<Vec<&str>> = parts
                .iter()
                .map(|p| p.checksums.get(&upload.algorithm).map(String::as_str))
                .collect();
            digests.and_then(|d| composite(upload.algorithm, d.into_iter()))
        }
    };
    if let Some(value) = value {
        if let Some(sent) = expected.get(&upload.algorithm) {
            let bare = |v: &str| v.split('-').next().unwrap_or_default().to_owned();
            if bare(sent) != bare(&value) {
                return Err(StoreError::BadChecksum(upload.algorithm.name()));
            }
        }
        out.insert(upload.algorithm, value);
    }
    Ok(out)
}

/// Replaces a completed upload's record and parts by `completed.json`, durably: the
/// completion record first, then the upload record (from then on the upload no longer
/// exists), then the parts.
fn finish_upload(tmp: &std::path::Path, dir: &std::path::Path, json: &[u8]) -> StoreResult<()> {
    let ctx = format!("finishing upload {}", dir.display());
    write_atomic(tmp, &dir.join(COMPLETED), json).map_err(StoreError::io(ctx.clone()))?;
    std::fs::remove_file(dir.join("upload.json")).map_err(StoreError::io(ctx.clone()))?;
    fsync_dir(dir).map_err(StoreError::io(ctx.clone()))?;
    let entries = std::fs::read_dir(dir).map_err(StoreError::io(ctx))?;
    for entry in entries.flatten() {
        if entry.file_name() != COMPLETED {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

impl Store {
    /// Removes the records of uploads completed before `before_ms`; returns how many.
    pub async fn prune_completed_uploads(&self, before_ms: i64) -> StoreResult<usize> {
        let mut pruned = 0;
        for info in self.list_buckets() {
            let Ok(bucket) = self.bucket(&info.name) else {
                continue;
            };
            let uploads = bucket.paths.dir.join("uploads");
            pruned += blocking(move || {
                let mut pruned = 0;
                let Ok(entries) = std::fs::read_dir(&uploads) else {
                    return 0;
                };
                for entry in entries.flatten() {
                    let dir = entry.path();
                    let Ok(bytes) = std::fs::read(dir.join(COMPLETED)) else {
                        continue;
                    };
                    let done = serde_json::from_slice::<CompletedRecord>(&bytes)
                        .map_or(i64::MIN, |r| r.completed_ms);
                    if done < before_ms
                        && !dir.join("upload.json").exists()
                        && std::fs::remove_dir_all(&dir).is_ok()
                    {
                        pruned += 1;
                    }
                }
                if pruned > 0 {
                    let _ = fsync_dir(&uploads);
                }
                pruned
            })
            .await?;
        }
        Ok(pruned)
    }
}

/// Removes an upload directory durably (the record first, so a crash never leaves a
/// half-removed upload that still lists).
fn remove_upload(dir: &std::path::Path) -> StoreResult<()> {
    let ctx = format!("removing upload {}", dir.display());
    std::fs::remove_file(dir.join("upload.json")).map_err(StoreError::io(ctx.clone()))?;
    std::fs::remove_dir_all(dir).map_err(StoreError::io(ctx.clone()))?;
    if let Some(parent) = dir.parent() {
        fsync_dir(parent).map_err(StoreError::io(ctx))?;
    }
    Ok(())
}
