//! GetObjectAttributes: what HeadObject and ListParts tell about an object in one answer —
//! the attributes asked for in `x-amz-object-attributes` (ETag, Checksum, ObjectParts,
//! StorageClass, ObjectSize), with `Last-Modified` and the version id always.
//!
//! As in S3 (general purpose buckets), `ObjectParts` lists the parts only when they carry
//! additional checksums (`PartsCount` otherwise alone), paged by `x-amz-max-parts` and
//! `x-amz-part-number-marker`; a single-part object has no `ObjectParts`.

use s3s::dto::*;
use s3s::{S3Response, S3Result, s3_error};

use super::convert::timestamp;
use super::objects::Sums;
use crate::store::{ObjectMeta, Store};

/// S3's default and largest page of parts.
const MAX_PARTS: i32 = 1000;

/// The attributes a request asks for.
#[derive(Debug, Default)]
struct Wanted {
    etag: bool,
    checksum: bool,
    parts: bool,
    storage_class: bool,
    size: bool,
}

impl Wanted {
    fn of(list: &[ObjectAttributes]) -> S3Result<Self> {
        let mut wanted = Self::default();
        for attribute in list {
            // The SDKs send the list in one comma-separated header.
            for name in attribute.as_str().split(',').map(str::trim) {
                match name {
                    ObjectAttributes::ETAG => wanted.etag = true,
                    ObjectAttributes::CHECKSUM => wanted.checksum = true,
                    ObjectAttributes::OBJECT_PARTS => wanted.parts = true,
                    ObjectAttributes::STORAGE_CLASS => wanted.storage_class = true,
                    ObjectAttributes::OBJECT_SIZE => wanted.size = true,
                    "" => {}
                    _ => {
                        return Err(s3_error!(
                            InvalidArgument,
                            "Invalid attribute name specified."
                        ));
                    }
                }
            }
        }
        Ok(wanted)
    }
}

pub(crate) fn get(
    store: &Store,
    input: GetObjectAttributesInput,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let wanted = Wanted::of(&input.object_attributes)?;
    let max_parts = match input.max_parts {
        None => MAX_PARTS,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument max-parts must be an integer between 0 and 2147483647"
            ));
        }
        Some(n) => n.min(MAX_PARTS),
    };
    let marker = input.part_number_marker.unwrap_or(0);
    if marker < 0 {
        return Err(s3_error!(
            InvalidArgument,
            "Argument part-number-marker must be an integer between 0 and 2147483647"
        ));
    }
    let meta = store.head_object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
    Ok(S3Response::new(GetObjectAttributesOutput {
        e_tag: wanted.etag.then(|| ETag::Strong(meta.etag.clone())),
        checksum: wanted.checksum.then(|| checksum(&meta)).flatten(),
        object_parts: wanted
            .parts
            .then(|| parts(&meta, max_parts, marker))
            .flatten(),
        object_size: wanted.size.then(|| i64::try_from(meta.size).ok()).flatten(),
        storage_class: wanted
            .storage_class
            .then(|| StorageClass::from_static(StorageClass::STANDARD)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        version_id: meta.version_header(),
        ..GetObjectAttributesOutput::default()
    }))
}

/// The object's additional checksum, if it has one.
fn checksum(meta: &ObjectMeta) -> Option<Checksum> {
    if meta.checksums.is_empty() {
        return None;
    }
    let sums = Sums::from_map(&meta.checksums);
    Some(Checksum {
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        checksum_type: Some(ChecksumType::from_static(meta.checksum_type())),
    })
}

/// The parts of a multipart object: their count, and a page of them when they carry
/// checksums.
fn parts(meta: &ObjectMeta, max_parts: i32, marker: i32) -> Option<GetObjectAttributesParts> {
    if meta.part_sizes.is_empty() {
        return None;
    }
    let total = i32::try_from(meta.part_sizes.len()).unwrap_or(i32::MAX);
    if meta.part_checksums.is_empty() {
        return Some(GetObjectAttributesParts {
            total_parts_count: Some(total),
            ..GetObjectAttributesParts::default()
        });
    }
    let limit = usize::try_from(max_parts).unwrap_or(0);
    let mut after = meta
        .part_sizes
        .iter()
        .zip(&meta.part_checksums)
        .zip(1..)
        .filter(|(_, number)| *number > marker)
        .peekable();
    let mut page = Vec::new();
    while page.len() < limit {
        let Some(((size, sums), number)) = after.next() else {
            break;
        };
        let sums = Sums::from_map(sums);
        page.push(ObjectPart {
            checksum_crc32: sums.crc32,
            checksum_crc32c: sums.crc32c,
            checksum_crc64nvme: sums.crc64nvme,
            checksum_sha1: sums.sha1,
            checksum_sha256: sums.sha256,
            part_number: Some(number),
            size: i64::try_from(*size).ok(),
        });
    }
    let truncated = after.peek().is_some();
    Some(GetObjectAttributesParts {
        total_parts_count: Some(total),
        part_number_marker: Some(marker),
        next_part_number_marker: page.last().and_then(|p| p.part_number),
        max_parts: Some(max_parts),
        is_truncated: Some(truncated),
        parts: Some(page),
    })
}
