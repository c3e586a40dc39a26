//! Object operations: PutObject, GetObject (ranges, conditions), HeadObject, DeleteObject,
//! DeleteObjects and CopyObject.

use std::collections::BTreeMap;

use base64::Engine;
use s3s::dto::*;
use s3s::{S3Error, S3Response, S3Result, s3_error};

use super::conditions::Conditions;
use super::convert::{AttrsIn, etag, metadata, timestamp, timestamp_secs};
use super::copy_source;
use super::tagging;
use crate::store::{ChecksumAlgorithm, ObjectMeta, PutCondition, PutOptions, Store};

pub(crate) fn decode_md5(value: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    let Some(value) = value else { return Ok(None) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not valid base64"))?;
    let digest: [u8; 16] = bytes
        .try_into()
        .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not 16 bytes"))?;
    Ok(Some(digest))
}

pub(crate) async fn put(
    store: &Store,
    input: PutObjectInput,
) -> S3Result<S3Response<PutObjectOutput>> {
    let condition = match (&input.if_none_match, &input.if_match) {
        (Some(ETagCondition::Any), _) => PutCondition::IfNoneMatchAny,
        (Some(_), _) => {
            return Err(s3_error!(
                NotImplemented,
                "If-None-Match on PUT supports only '*'"
            ));
        }
        (None, Some(ETagCondition::ETag(tag))) => PutCondition::IfMatch(tag.value().to_owned()),
        (None, Some(ETagCondition::Any)) => PutCondition::IfMatch(String::new()),
        (None, None) => PutCondition::None,
    };
    // `If-Match: *` means "exists, any ETag": check it here, the store checks ETags.
    let condition = match condition {
        PutCondition::IfMatch(tag) if tag.is_empty() => {
            store.head_object(&input.bucket, &input.key)?;
            PutCondition::None
        }
        other => other,
    };
    let options = PutOptions {
        attrs: AttrsIn {
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            content_disposition: input.content_disposition,
            content_language: input.content_language,
            cache_control: input.cache_control,
            expires: input.expires,
            metadata: input.metadata,
        }
        .into(),
        expected_len: input.content_length.and_then(|n| u64::try_from(n).ok()),
        content_md5: decode_md5(input.content_md5.as_deref())?,
        condition,
        tags: tagging::from_header(input.tagging.as_deref())?,
        checksums: requested_checksums(
            input.checksum_algorithm.as_ref(),
            [
                (ChecksumAlgorithm::Crc32, input.checksum_crc32),
                (ChecksumAlgorithm::Crc32c, input.checksum_crc32c),
                (ChecksumAlgorithm::Crc64Nvme, input.checksum_crc64nvme),
                (ChecksumAlgorithm::Sha1, input.checksum_sha1),
                (ChecksumAlgorithm::Sha256, input.checksum_sha256),
            ],
        )?,
    };
    let body = input.body.unwrap_or_else(|| {
        StreamingBlob::wrap(futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>())
    });
    let meta = store
        .put_object(&input.bucket, &input.key, body, options)
        .await?;
    let sums = Sums::of(&meta);
    Ok(S3Response::new(PutObjectOutput {
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        e_tag: Some(etag(&meta)),
        size: i64::try_from(meta.size).ok(),
        ..PutObjectOutput::default()
    }))
}

/// The checksums to compute for a write: those the client sent (to check) and the one it
/// named in `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm` (to compute).
pub(crate) fn requested_checksums(
    named: Option<&s3s::dto::ChecksumAlgorithm>,
    sent: [(ChecksumAlgorithm, Option<String>); 5],
) -> S3Result<BTreeMap<ChecksumAlgorithm, Option<String>>> {
    let mut out: BTreeMap<ChecksumAlgorithm, Option<String>> = sent
        .into_iter()
        .filter_map(|(a, v)| v.map(|v| (a, Some(v))))
        .collect();
    if let Some(named) = named {
        let algorithm = ChecksumAlgorithm::parse(named.as_str()).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Checksum algorithm {} is not supported",
                named.as_str()
            )
        })?;
        out.entry(algorithm).or_insert(None);
    }
    Ok(out)
}

/// Stored checksums, one field per algorithm as s3s's outputs want them.
#[derive(Default)]
pub(crate) struct Sums {
    pub(crate) crc32: Option<String>,
    pub(crate) crc32c: Option<String>,
    pub(crate) crc64nvme: Option<String>,
    pub(crate) sha1: Option<String>,
    pub(crate) sha256: Option<String>,
}

impl Sums {
    fn of(meta: &ObjectMeta) -> Self {
        Self::from_map(&meta.checksums)
    }

    pub(crate) fn from_map(map: &BTreeMap<ChecksumAlgorithm, String>) -> Self {
        let get = |a| map.get(&a).cloned();
        Self {
            crc32: get(ChecksumAlgorithm::Crc32),
            crc32c: get(ChecksumAlgorithm::Crc32c),
            crc64nvme: get(ChecksumAlgorithm::Crc64Nvme),
            sha1: get(ChecksumAlgorithm::Sha1),
            sha256: get(ChecksumAlgorithm::Sha256),
        }
    }

    /// Only for `x-amz-checksum-mode: ENABLED` on the whole object, as S3 does.
    fn when(meta: &ObjectMeta, mode: Option<&ChecksumMode>, whole: bool) -> Self {
        if whole && mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED)) {
            Self::of(meta)
        } else {
            Self::default()
        }
    }
}

/// Buckets are never versioned here: every object's only version is `null`.
fn only_null_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(s3_error!(InvalidArgument, "Invalid version id specified")),
    }
}

/// Overrides from `response-*` query parameters.
struct Overrides {
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_type: Option<String>,
    expires: Option<Timestamp>,
}

pub(crate) async fn get(
    store: &Store,
    input: GetObjectInput,
) -> S3Result<S3Response<GetObjectOutput>> {
    only_null_version(input.version_id.as_deref())?;
    let reader = store.open_object(&input.bucket, &input.key).await?;
    let meta = std::sync::Arc::clone(&reader.meta);
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&meta, false)?;
    if input.part_number.is_some_and(|n| n != 1) {
        return Err(s3_error!(InvalidArgument, "the object has a single part"));
    }
    let (range, content_range) = match &input.range {
        Some(range) => {
            let r = range.check(meta.size).map_err(|_| {
                s3_error!(
                    InvalidRange,
                    "The requested range is not satisfiable (object size {})",
                    meta.size
                )
            })?;
            let header = format!(
                "bytes {}-{}/{}",
                r.start,
                r.end.saturating_sub(1),
                meta.size
            );
            (r, Some(header))
        }
        None => (0..meta.size, None),
    };
    let len = range.end - range.start;
    let stream = reader.stream(range.start, len).await?;
    let overrides = Overrides {
        cache_control: input.response_cache_control,
        content_disposition: input.response_content_disposition,
        content_encoding: input.response_content_encoding,
        content_language: input.response_content_language,
        content_type: input.response_content_type,
        expires: input.response_expires,
    };
    let attrs = &meta.attrs;
    let sums = Sums::when(&meta, input.checksum_mode.as_ref(), input.range.is_none());
    let output = GetObjectOutput {
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        body: Some(StreamingBlob::wrap(stream)),
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(len).ok(),
        content_range,
        e_tag: Some(etag(&meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        metadata: metadata(&meta),
        cache_control: overrides
            .cache_control
            .or_else(|| attrs.cache_control.clone()),
        content_disposition: overrides
            .content_disposition
            .or_else(|| attrs.content_disposition.clone()),
        content_encoding: overrides
            .content_encoding
            .or_else(|| attrs.content_encoding.clone()),
        content_language: overrides
            .content_language
            .or_else(|| attrs.content_language.clone()),
        content_type: Some(
            overrides
                .content_type
                .or_else(|| attrs.content_type.clone())
                .unwrap_or_else(|| "binary/octet-stream".into()),
        ),
        expires: overrides
            .expires
            .or_else(|| attrs.expires.and_then(timestamp_secs)),
        tag_count: (!meta.tags.is_empty())
            .then(|| i32::try_from(meta.tags.len()).unwrap_or(i32::MAX)),
        ..GetObjectOutput::default()
    };
    Ok(S3Response::new(output))
}

pub(crate) fn head(
    store: &Store,
    input: HeadObjectInput,
) -> S3Result<S3Response<HeadObjectOutput>> {
    only_null_version(input.version_id.as_deref())?;
    let meta = store.head_object(&input.bucket, &input.key)?;
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&meta, false)?;
    let (content_length, content_range) = match &input.range {
        Some(range) => {
            let r = range
                .check(meta.size)
                .map_err(|_| s3_error!(InvalidRange))?;
            (
                r.end - r.start,
                Some(format!(
                    "bytes {}-{}/{}",
                    r.start,
                    r.end.saturating_sub(1),
                    meta.size
                )),
            )
        }
        None => (meta.size, None),
    };
    let sums = Sums::when(&meta, input.checksum_mode.as_ref(), content_range.is_none());
    Ok(S3Response::new(head_output(
        &meta,
        content_length,
        content_range,
        sums,
    )))
}

fn head_output(
    meta: &ObjectMeta,
    len: u64,
    content_range: Option<String>,
    sums: Sums,
) -> HeadObjectOutput {
    let attrs = &meta.attrs;
    HeadObjectOutput {
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(len).ok(),
        content_range,
        e_tag: Some(etag(meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        metadata: metadata(meta),
        cache_control: attrs.cache_control.clone(),
        content_disposition: attrs.content_disposition.clone(),
        content_encoding: attrs.content_encoding.clone(),
        content_language: attrs.content_language.clone(),
        content_type: Some(
            attrs
                .content_type
                .clone()
                .unwrap_or_else(|| "binary/octet-stream".into()),
        ),
        expires: attrs.expires.and_then(timestamp_secs),
        ..HeadObjectOutput::default()
    }
}

pub(crate) async fn delete(
    store: &Store,
    input: DeleteObjectInput,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    only_null_version(input.version_id.as_deref())?;
    if let Some(cond) = &input.if_match {
        let meta = store.head_object(&input.bucket, &input.key)?;
        Conditions {
            if_match: Some(cond),
            ..Conditions::default()
        }
        .check(&meta, true)?;
    }
    store.delete_object(&input.bucket, &input.key).await?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

pub(crate) async fn delete_many(
    store: &Store,
    input: DeleteObjectsInput,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    store.head_bucket(&input.bucket)?;
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for object in input.delete.objects {
        match store.delete_object(&input.bucket, &object.key).await {
            Ok(()) if quiet => {}
            Ok(()) => deleted.push(DeletedObject {
                key: Some(object.key),
                ..DeletedObject::default()
            }),
            Err(err) => {
                let err = S3Error::from(err);
                errors.push(Error {
                    code: Some(err.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: err.message().map(str::to_owned),
                    version_id: None,
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..DeleteObjectsOutput::default()
    }))
}

pub(crate) async fn copy(
    store: &Store,
    input: CopyObjectInput,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let (src_bucket, src_key) = copy_source::bucket_and_key(&input.copy_source)?;
    let source = store.head_object(src_bucket, src_key)?;
    Conditions {
        if_match: input.copy_source_if_match.as_ref(),
        if_none_match: input.copy_source_if_none_match.as_ref(),
        if_modified_since: input.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
    }
    .check(&source, true)?;
    let replace = match input
        .metadata_directive
        .as_ref()
        .map(MetadataDirective::as_str)
    {
        None | Some(MetadataDirective::COPY) => false,
        Some(MetadataDirective::REPLACE) => true,
        Some(other) => {
            return Err(s3_error!(
                InvalidArgument,
                "Unknown metadata directive {other:?}"
            ));
        }
    };
    if !replace && src_bucket == input.bucket.as_str() && src_key == input.key.as_str() {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let tags = match input
        .tagging_directive
        .as_ref()
        .map(TaggingDirective::as_str)
    {
        None | Some(TaggingDirective::COPY) => None,
        Some(TaggingDirective::REPLACE) => Some(tagging::from_header(input.tagging.as_deref())?),
        Some(other) => {
            return Err(s3_error!(
                InvalidArgument,
                "Unknown tagging directive {other:?}"
            ));
        }
    };
    let attrs = replace.then(|| {
        AttrsIn {
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            content_disposition: input.content_disposition,
            content_language: input.content_language,
            cache_control: input.cache_control,
            expires: input.expires,
            metadata: input.metadata,
        }
        .into()
    });
    let meta = store
        .copy_object(src_bucket, src_key, &input.bucket, &input.key, attrs, tags)
        .await?;
    let result = CopyObjectResult {
        e_tag: Some(etag(&meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        ..CopyObjectResult::default()
    };
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(result),
        ..CopyObjectOutput::default()
    }))
}
