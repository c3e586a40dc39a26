//! Multipart upload operations: Create, UploadPart, Complete, Abort, ListParts and
//! ListMultipartUploads.

use s3s::dto::*;
use s3s::{S3Response, S3Result, s3_error};

use super::acl::{acl_headers, check_settable};
use super::conditions::copy_source_conditions;
use super::convert::{attrs_in, encode_key, timestamp, wants_url};
use super::copy_source;
use super::objects::{Sums, body_checks_of, body_or_empty, write_condition};
use crate::store::{
    BodyChecks, ChecksumAlgorithm, ChecksumType, Completion, NewUpload, RequestedPart, Store,
    TrailingChecksum, UploadChecksum,
};

/// A checksum map from S3's five fields (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
fn sums_map(values: [Option<String>; 5]) -> std::collections::BTreeMap<ChecksumAlgorithm, String> {
    let algorithms = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];
    algorithms
        .into_iter()
        .zip(values)
        .filter_map(|(a, v)| v.map(|v| (a, v)))
        .collect()
}

pub(crate) async fn create(
    store: &Store,
    input: CreateMultipartUploadInput,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let tags = super::tagging::from_header(input.tagging.as_deref())?;
    let acl = acl_headers!(input).acl()?;
    check_settable(store, &input.bucket, acl.as_ref()).await?;
    let checksum = upload_checksum(
        input.checksum_algorithm.as_ref(),
        input.checksum_type.as_ref(),
    )?;
    let upload = NewUpload {
        tags,
        acl,
        checksum,
        attrs: attrs_in!(input).into(),
    };
    let upload_id = store
        .create_multipart_upload(&input.bucket, &input.key, upload)
        .await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload_id),
        checksum_algorithm: input.checksum_algorithm,
        checksum_type: checksum.map(|c| s3s::dto::ChecksumType::from_static(c.kind.name())),
        ..CreateMultipartUploadOutput::default()
    }))
}

/// The checksum an upload asks for with `x-amz-checksum-algorithm` and `x-amz-checksum-type`,
/// refused as S3 refuses the combinations it does not support.
fn upload_checksum(
    algorithm: Option<&s3s::dto::ChecksumAlgorithm>,
    kind: Option<&s3s::dto::ChecksumType>,
) -> S3Result<Option<UploadChecksum>> {
    let Some(algorithm) = algorithm else {
        if kind.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        return Ok(None);
    };
    let algorithm = ChecksumAlgorithm::parse(algorithm.as_str()).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "Checksum algorithm {} is not supported",
            algorithm.as_str()
        )
    })?;
    let kind = match kind.map(s3s::dto::ChecksumType::as_str) {
        None => ChecksumType::default_for(algorithm),
        Some("COMPOSITE") => ChecksumType::Composite,
        Some("FULL_OBJECT") => ChecksumType::FullObject,
        Some(other) => {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid: {other}"
            ));
        }
    };
    if !kind.allowed_with(algorithm) {
        return Err(s3_error!(
            InvalidRequest,
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            kind.name(),
            algorithm.name().to_ascii_lowercase()
        ));
    }
    Ok(Some(UploadChecksum { algorithm, kind }))
}

pub(crate) async fn upload_part(
    store: &Store,
    input: UploadPartInput,
    trailing: Option<TrailingChecksum>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let checks = body_checks_of!(input, trailing)?;
    let body = body_or_empty(input.body);
    let part = store
        .upload_part(
            &input.bucket,
            &input.upload_id,
            input.part_number,
            body,
            &checks,
        )
        .await?;
    let sums = Sums::from_map(&part.checksums);
    Ok(S3Response::new(UploadPartOutput {
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        e_tag: Some(ETag::Strong(part.etag)),
        ..UploadPartOutput::default()
    }))
}

pub(crate) async fn complete(
    store: &Store,
    input: CompleteMultipartUploadInput,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let parts = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let number = p
                .part_number
                .ok_or_else(|| s3_error!(InvalidPart, "a part has no PartNumber"))?;
            Ok(RequestedPart {
                number,
                checksums: sums_map([
                    p.checksum_crc32,
                    p.checksum_crc32c,
                    p.checksum_crc64nvme,
                    p.checksum_sha1,
                    p.checksum_sha256,
                ]),
                etag: p.e_tag.map(ETag::into_value).unwrap_or_default(),
            })
        })
        .collect::<S3Result<Vec<_>>>()?;
    let completion = Completion {
        parts,
        condition: write_condition(input.if_none_match.as_ref(), input.if_match.as_ref())?,
        checksums: sums_map([
            input.checksum_crc32,
            input.checksum_crc32c,
            input.checksum_crc64nvme,
            input.checksum_sha1,
            input.checksum_sha256,
        ]),
    };
    let meta = store
        .complete_multipart_upload(&input.bucket, &input.upload_id, completion)
        .await?;
    let sums = Sums::from_map(&meta.checksums);
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        location: Some(format!("/{}/{}", input.bucket, meta.key)),
        bucket: Some(input.bucket),
        key: Some(meta.key.clone()),
        e_tag: Some(ETag::Strong(meta.etag.clone())),
        version_id: meta.version_header(),
        checksum_type: (!meta.checksums.is_empty())
            .then(|| s3s::dto::ChecksumType::from_static(meta.checksum_type())),
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        ..CompleteMultipartUploadOutput::default()
    }))
}

pub(crate) async fn abort(
    store: &Store,
    input: AbortMultipartUploadInput,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    store
        .abort_multipart_upload(&input.bucket, &input.upload_id)
        .await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(crate) async fn list_parts(
    store: &Store,
    input: ListPartsInput,
) -> S3Result<S3Response<ListPartsOutput>> {
    let (info, parts) = store.list_parts(&input.bucket, &input.upload_id).await?;
    let max = input.max_parts.unwrap_or(1000).clamp(0, 1000);
    let marker = input.part_number_marker.unwrap_or(0);
    let after: Vec<_> = parts
        .into_iter()
        .filter(|p| p.part_number > marker)
        .collect();
    let truncated = after.len() > usize::try_from(max).unwrap_or(0);
    let page: Vec<Part> = after
        .into_iter()
        .take(usize::try_from(max).unwrap_or(0))
        .map(|p| {
            let sums = Sums::from_map(&p.checksums);
            Part {
                e_tag: Some(ETag::Strong(p.etag)),
                last_modified: Some(timestamp(p.last_modified_ms)),
                part_number: Some(p.part_number),
                size: i64::try_from(p.size).ok(),
                checksum_crc32: sums.crc32,
                checksum_crc32c: sums.crc32c,
                checksum_crc64nvme: sums.crc64nvme,
                checksum_sha1: sums.sha1,
                checksum_sha256: sums.sha256,
            }
        })
        .collect();
    let next = page.last().and_then(|p| p.part_number);
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(info.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: truncated.then_some(next).flatten(),
        is_truncated: Some(truncated),
        parts: Some(page),
        checksum_algorithm: info
            .checksum
            .map(|c| s3s::dto::ChecksumAlgorithm::from_static(c.algorithm.name())),
        checksum_type: info
            .checksum
            .map(|c| s3s::dto::ChecksumType::from_static(c.kind.name())),
        ..ListPartsOutput::default()
    }))
}

pub(crate) async fn list_uploads(
    store: &Store,
    input: ListMultipartUploadsInput,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let prefix = input.prefix.clone().unwrap_or_default();
    let url = wants_url(input.encoding_type.as_ref());
    let all = store.list_multipart_uploads(&input.bucket, &prefix).await?;
    let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000);
    let marker = input.key_marker.clone().unwrap_or_default();
    let after: Vec<_> = all.into_iter().filter(|u| u.key > marker).collect();
    let limit = usize::try_from(max).unwrap_or(0);
    let truncated = after.len() > limit;
    let uploads: Vec<MultipartUpload> = after
        .into_iter()
        .take(limit)
        .map(|u| MultipartUpload {
            owner: Some(super::acl::owner()),
            initiator: Some(Initiator {
                display_name: Some(super::acl::OWNER_ID.into()),
                id: Some(super::acl::OWNER_ID.into()),
            }),
            initiated: Some(timestamp(u.initiated_ms)),
            checksum_algorithm: u
                .checksum
                .map(|c| s3s::dto::ChecksumAlgorithm::from_static(c.algorithm.name())),
            checksum_type: u
                .checksum
                .map(|c| s3s::dto::ChecksumType::from_static(c.kind.name())),
            key: Some(encode_key(&u.key, url)),
            upload_id: Some(u.upload_id),
            ..MultipartUpload::default()
        })
        .collect();
    let next_key = uploads.last().and_then(|u| u.key.clone());
    let next_id = uploads.last().and_then(|u| u.upload_id.clone());
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: Some(encode_key(&prefix, url)),
        key_marker: input.key_marker,
        max_uploads: Some(max),
        is_truncated: Some(truncated),
        next_key_marker: truncated.then_some(next_key).flatten(),
        next_upload_id_marker: truncated.then_some(next_id).flatten(),
        encoding_type: input.encoding_type,
        uploads: Some(uploads),
        ..ListMultipartUploadsOutput::default()
    }))
}

pub(crate) async fn upload_part_copy(
    store: &Store,
    input: UploadPartCopyInput,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let (src_bucket, src_key, src_version) = copy_source::parts(&input.copy_source)?;
    let reader = store
        .open_object_version(src_bucket, src_key, src_version)
        .await?;
    let copy_source_version_id = reader.meta.version_header();
    copy_source_conditions!(input).check(&reader.meta, true)?;
    let size = reader.meta.size;
    let range = match &input.copy_source_range {
        Some(header) => {
            let parsed = Range::parse(header).map_err(|_| {
                s3_error!(
                    InvalidArgument,
                    "The x-amz-copy-source-range value must be of the form bytes=first-last"
                )
            })?;
            match parsed {
                Range::Int {
                    last: Some(last), ..
                } if last >= size => {
                    return Err(s3_error!(
                        InvalidRange,
                        "The requested range is not satisfiable"
                    ));
                }
                _ => parsed.check(size).map_err(|_| s3_error!(InvalidRange))?,
            }
        }
        None => 0..size,
    };
    let len = range.end - range.start;
    let stream = reader.stream(range.start, len).await?;
    let part = store
        .upload_part(
            &input.bucket,
            &input.upload_id,
            input.part_number,
            stream,
            &BodyChecks {
                expected_len: Some(len),
                ..BodyChecks::default()
            },
        )
        .await?;
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag)),
            last_modified: Some(timestamp(part.last_modified_ms)),
            ..CopyPartResult::default()
        }),
        copy_source_version_id,
        ..UploadPartCopyOutput::default()
    }))
}
