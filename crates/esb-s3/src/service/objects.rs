//! Object operations: PutObject, GetObject (ranges, conditions), HeadObject, DeleteObject,
//! DeleteObjects and CopyObject.

use std::collections::BTreeMap;

use base64::Engine;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Response, S3Result, s3_error};

use super::acl::{acl_headers, check_settable};
use super::conditions::{Conditions, copy_source_conditions};
use super::convert::{attrs_in, etag, metadata, timestamp, timestamp_secs};
use super::copy_source;
use super::tagging;
use crate::store::{
    BodyChecks, ChecksumAlgorithm, ObjectMeta, PutCondition, PutOptions, Store, TrailingChecksum,
    VersionRef,
};

/// [`body_checks`] from the headers of `$input`, a PutObject or an UploadPart input: s3s gives
/// the two their own types with the same fields, so a macro reads them.
macro_rules! body_checks_of {
    ($input:ident, $trailing:expr) => {{
        use $crate::store::ChecksumAlgorithm;
        $crate::service::objects::body_checks(
            $input.content_length,
            $input.content_md5.as_deref(),
            $input.checksum_algorithm.as_ref(),
            [
                (ChecksumAlgorithm::Crc32, $input.checksum_crc32),
                (ChecksumAlgorithm::Crc32c, $input.checksum_crc32c),
                (ChecksumAlgorithm::Crc64Nvme, $input.checksum_crc64nvme),
                (ChecksumAlgorithm::Sha1, $input.checksum_sha1),
                (ChecksumAlgorithm::Sha256, $input.checksum_sha256),
            ],
            $trailing,
        )
    }};
}
pub(crate) use body_checks_of;

/// What a written body must match, from its request's `Content-Length`, `Content-MD5`,
/// checksum headers and trailing checksum.
pub(crate) fn body_checks(
    content_length: Option<i64>,
    content_md5: Option<&str>,
    named: Option<&s3s::dto::ChecksumAlgorithm>,
    sent: [(ChecksumAlgorithm, Option<String>); 5],
    trailing: Option<TrailingChecksum>,
) -> S3Result<BodyChecks> {
    Ok(BodyChecks {
        expected_len: content_length.and_then(|n| u64::try_from(n).ok()),
        content_md5: decode_md5(content_md5)?,
        checksums: requested_checksums(named, sent)?,
        trailing,
    })
}

/// The request body, or an empty one when the request has none.
pub(crate) fn body_or_empty(body: Option<StreamingBlob>) -> StreamingBlob {
    body.unwrap_or_else(|| {
        StreamingBlob::wrap(futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>())
    })
}

fn decode_md5(value: Option<&str>) -> S3Result<Option<[u8; 16]>> {
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
    trailing: Option<TrailingChecksum>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let condition = write_condition(input.if_none_match.as_ref(), input.if_match.as_ref())?;
    let acl = acl_headers!(input).acl()?;
    check_settable(store, &input.bucket, acl.as_ref()).await?;
    let options = PutOptions {
        tags: tagging::from_header(input.tagging.as_deref())?,
        checks: body_checks_of!(input, trailing)?,
        attrs: attrs_in!(input).into(),
        condition,
        acl,
    };
    let body = body_or_empty(input.body);
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
        version_id: meta.version_header(),
        ..PutObjectOutput::default()
    }))
}

/// The condition of a PutObject or CompleteMultipartUpload: `If-None-Match: *` (S3 takes no
/// other value there) or `If-Match` with an ETag or `*`.
pub(crate) fn write_condition(
    if_none_match: Option<&ETagCondition>,
    if_match: Option<&ETagCondition>,
) -> S3Result<PutCondition> {
    Ok(match (if_none_match, if_match) {
        (Some(ETagCondition::Any), _) => PutCondition::IfNoneMatchAny,
        (Some(ETagCondition::ETag(_)), _) => {
            return Err(s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented"
            ));
        }
        (None, Some(ETagCondition::ETag(tag))) => PutCondition::IfMatch(tag.value().to_owned()),
        (None, Some(ETagCondition::Any)) => PutCondition::IfExists,
        (None, None) => PutCondition::None,
    })
}

/// The checksums to compute for a write: those the client sent (to check) and the one it
/// named in `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm` (to compute).
fn requested_checksums(
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

    /// Only for `x-amz-checksum-mode: ENABLED`, as S3 does: the object's for the whole
    /// object, the part's for a read by part number, none for a range.
    fn when(meta: &ObjectMeta, mode: Option<&ChecksumMode>, window: &Window) -> Self {
        if !mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED)) {
            return Self::default();
        }
        match window.part {
            Some(index) => meta
                .part_checksums
                .get(index)
                .map(Self::from_map)
                .unwrap_or_default(),
            None if window.content_range.is_none() => Self::of(meta),
            None => Self::default(),
        }
    }

    /// `x-amz-checksum-type` to go with these checksums.
    fn kind(&self, meta: &ObjectMeta, window: &Window) -> Option<s3s::dto::ChecksumType> {
        let any = [
            &self.crc32,
            &self.crc32c,
            &self.crc64nvme,
            &self.sha1,
            &self.sha256,
        ]
        .iter()
        .any(|v| v.is_some());
        let kind = if window.part.is_some() {
            "FULL_OBJECT"
        } else {
            meta.checksum_type()
        };
        any.then(|| s3s::dto::ChecksumType::from_static(kind))
    }
}

/// The bytes a GET or HEAD answers with: a `Range`, a `partNumber` of a multipart object,
/// or the whole object.
struct Window {
    start: u64,
    len: u64,
    content_range: Option<String>,
    parts_count: Option<i32>,
    /// the index of the part read by part number, for a multipart object
    part: Option<usize>,
}

impl Window {
    fn of(meta: &ObjectMeta, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Self> {
        let size = meta.size;
        let partial = |start: u64, end: u64, parts_count| Self {
            start,
            len: end - start,
            content_range: Some(format!("bytes {start}-{}/{size}", end.saturating_sub(1))),
            parts_count,
            part: None,
        };
        match (range, part_number) {
            (Some(_), Some(_)) => Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            )),
            (Some(range), None) => {
                let r = range.check(size).map_err(|_| {
                    s3_error!(
                        InvalidRange,
                        "The requested range is not satisfiable (object size {size})"
                    )
                })?;
                Ok(partial(r.start, r.end, None))
            }
            (None, Some(n)) => {
                if !(1..=10_000).contains(&n) {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive"
                    ));
                }
                let count = meta.part_sizes.len().max(1);
                let index = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .filter(|i| *i < count)
                    .ok_or_else(invalid_part_number)?;
                if meta.part_sizes.is_empty() {
                    // A single-part object: part 1 is all of it.
                    return Ok(if size == 0 {
                        Self::whole(meta)
                    } else {
                        partial(0, size, None)
                    });
                }
                let start: u64 = meta.part_sizes[..index].iter().sum();
                let end = start + meta.part_sizes[index];
                Ok(Self {
                    part: Some(index),
                    ..partial(start, end, i32::try_from(meta.part_sizes.len()).ok())
                })
            }
            (None, None) => Ok(Self::whole(meta)),
        }
    }

    fn whole(meta: &ObjectMeta) -> Self {
        Self {
            start: 0,
            len: meta.size,
            content_range: None,
            parts_count: None,
            part: None,
        }
    }
}

/// S3's 416 for a part number (1 to 10,000) past the object's parts (s3s has no constant for
/// it).
fn invalid_part_number() -> S3Error {
    let mut err = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    err.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    err
}

/// [`read_window`] for `$input`, a GetObject or a HeadObject input: s3s gives the two their own
/// types with the same fields, so a macro reads them.
macro_rules! read_window {
    ($input:ident, $meta:expr) => {
        read_window(
            $meta,
            Conditions {
                if_match: $input.if_match.as_ref(),
                if_none_match: $input.if_none_match.as_ref(),
                if_modified_since: $input.if_modified_since.as_ref(),
                if_unmodified_since: $input.if_unmodified_since.as_ref(),
            },
            $input.range.as_ref(),
            $input.part_number,
            $input.checksum_mode.as_ref(),
        )
    };
}

/// What a GET and a HEAD answer with, once the object's preconditions hold: the window of
/// bytes and, for the whole object, the checksums `x-amz-checksum-mode` asks for.
fn read_window(
    meta: &ObjectMeta,
    conditions: Conditions<'_>,
    range: Option<&Range>,
    part_number: Option<i32>,
    checksum_mode: Option<&ChecksumMode>,
) -> S3Result<(Window, Sums)> {
    conditions.check(meta, false)?;
    let window = Window::of(meta, range, part_number)?;
    let sums = Sums::when(meta, checksum_mode, &window);
    Ok((window, sums))
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
    let reader = store
        .open_object_version(&input.bucket, &input.key, input.version_id.as_deref())
        .await?;
    let meta = std::sync::Arc::clone(&reader.meta);
    let (window, sums) = read_window!(input, &meta)?;
    let stream = reader.stream(window.start, window.len).await?;
    let overrides = Overrides {
        cache_control: input.response_cache_control,
        content_disposition: input.response_content_disposition,
        content_encoding: input.response_content_encoding,
        content_language: input.response_content_language,
        content_type: input.response_content_type,
        expires: input.response_expires,
    };
    let attrs = &meta.attrs;
    let output = GetObjectOutput {
        checksum_type: sums.kind(&meta, &window),
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        body: Some(StreamingBlob::wrap(stream)),
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(window.len).ok(),
        content_range: window.content_range,
        parts_count: window.parts_count,
        version_id: meta.version_header(),
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
    let meta = store.head_object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
    let (window, sums) = read_window!(input, &meta)?;
    let partial = window.content_range.is_some();
    let mut response = S3Response::new(head_output(&meta, window, sums));
    if partial {
        // s3s sets 206 for a ranged GET only; S3 answers a ranged HEAD the same way.
        response.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(response)
}

fn head_output(meta: &ObjectMeta, window: Window, sums: Sums) -> HeadObjectOutput {
    let attrs = &meta.attrs;
    HeadObjectOutput {
        checksum_type: sums.kind(meta, &window),
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(window.len).ok(),
        content_range: window.content_range,
        parts_count: window.parts_count,
        version_id: meta.version_header(),
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
    if let Some(cond) = &input.if_match {
        let meta = store.head_object(&input.bucket, &input.key)?;
        Conditions {
            if_match: Some(cond),
            ..Conditions::default()
        }
        .check(&meta, true)?;
    }
    let deleted = store
        .delete_object(&input.bucket, &input.key, input.version_id.as_deref())
        .await?;
    Ok(S3Response::new(DeleteObjectOutput {
        delete_marker: deleted.delete_marker.then_some(true),
        version_id: deleted.version_id,
        ..DeleteObjectOutput::default()
    }))
}

/// Most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

pub(crate) async fn delete_many(
    store: &Store,
    input: DeleteObjectsInput,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    // S3 refuses a request naming no key or more than 1,000 with MalformedXML.
    if input.delete.objects.is_empty() || input.delete.objects.len() > MAX_DELETE_KEYS {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedXML,
            crate::error_body::message_for(S3ErrorCode::MalformedXML.as_str()),
        ));
    }
    store.head_bucket(&input.bucket)?;
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for object in input.delete.objects {
        let version = object.version_id.as_deref();
        match store
            .delete_object(&input.bucket, &object.key, version)
            .await
        {
            Ok(_) if quiet => {}
            Ok(done) => deleted.push(DeletedObject {
                key: Some(object.key),
                version_id: object.version_id.clone(),
                delete_marker: done.delete_marker.then_some(true),
                delete_marker_version_id: done.delete_marker.then_some(done.version_id).flatten(),
            }),
            Err(err) => {
                let err = S3Error::from(err);
                errors.push(Error {
                    code: Some(err.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: err.message().map(str::to_owned),
                    version_id: object.version_id,
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
    let (src_bucket, src_key, src_version) = copy_source::parts(&input.copy_source)?;
    let source = store.head_object_version(src_bucket, src_key, src_version)?;
    copy_source_conditions!(input).check(&source, true)?;
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
    if !replace
        && src_version.is_none()
        && src_bucket == input.bucket.as_str()
        && src_key == input.key.as_str()
    {
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
    let acl = acl_headers!(input).acl()?;
    check_settable(store, &input.bucket, acl.as_ref()).await?;
    let attrs = replace.then(|| attrs_in!(input).into());
    let meta = store
        .copy_object(
            VersionRef {
                bucket: src_bucket,
                key: src_key,
                version_id: src_version,
            },
            &input.bucket,
            &input.key,
            attrs,
            tags,
            acl,
        )
        .await?;
    let result = CopyObjectResult {
        e_tag: Some(etag(&meta)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        ..CopyObjectResult::default()
    };
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(result),
        copy_source_version_id: source.version_header(),
        version_id: meta.version_header(),
        ..CopyObjectOutput::default()
    }))
}
