//! ListObjectsV2, ListObjects (v1) and ListObjectVersions: request parameters to a store listing and the page
//! back to S3's shapes. Continuation tokens are the base64 of the last key or prefix sent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3Response, S3Result, s3_error};

use super::convert::{encode_key, etag, timestamp, wants_url};
use crate::store::{ListPage, ListParams, Store};

/// S3's default and largest page.
const MAX_KEYS: i32 = 1000;

fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_KEYS as usize),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok(n.min(MAX_KEYS) as usize),
    }
}

/// The page's objects; with their `Owner` when `owners` (always in v1, with `fetch-owner` in
/// v2, as S3 does).
fn contents(page: &ListPage, url: bool, owners: bool) -> Vec<Object> {
    page.objects
        .iter()
        .map(|meta| Object {
            owner: owners.then(super::acl::owner),
            key: Some(encode_key(&meta.key, url)),
            size: i64::try_from(meta.size).ok(),
            e_tag: Some(etag(meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            storage_class: Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            )),
            ..Object::default()
        })
        .collect()
}

fn prefixes(page: &ListPage, url: bool) -> Vec<CommonPrefix> {
    page.common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(encode_key(p, url)),
        })
        .collect()
}

pub(crate) fn v2(
    store: &Store,
    input: ListObjectsV2Input,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let token_after = match &input.continuation_token {
        Some(token) => {
            let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?;
            Some(String::from_utf8(bytes).map_err(|_| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?)
        }
        None => None,
    };
    let after = match (token_after, &input.start_after) {
        (Some(token), Some(start)) => Some(token.max(start.clone())),
        (token, start) => token.or_else(|| start.clone()),
    };
    let params = ListParams {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone(),
        after,
        max_keys: max_keys(input.max_keys)?,
    };
    let page = store.list_objects(&input.bucket, &params)?;
    let url = wants_url(input.encoding_type.as_ref());
    let objects = contents(&page, url, input.fetch_owner == Some(true));
    let common = prefixes(&page, url);
    let key_count = i32::try_from(objects.len() + common.len()).unwrap_or(i32::MAX);
    let next = page
        .is_truncated
        .then(|| page.next_after.as_ref().map(|k| URL_SAFE_NO_PAD.encode(k)))
        .flatten();
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(encode_key(&params.prefix, url)),
        delimiter: echoed_delimiter(input.delimiter, url),
        max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
        key_count: Some(key_count),
        continuation_token: input.continuation_token,
        next_continuation_token: next,
        is_truncated: Some(page.is_truncated),
        start_after: input.start_after.map(|s| encode_key(&s, url)),
        encoding_type: input.encoding_type,
        contents: (!objects.is_empty()).then_some(objects),
        common_prefixes: (!common.is_empty()).then_some(common),
        ..ListObjectsV2Output::default()
    }))
}

pub(crate) fn v1(
    store: &Store,
    input: ListObjectsInput,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let params = ListParams {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone(),
        after: input.marker.clone().filter(|m| !m.is_empty()),
        max_keys: max_keys(input.max_keys)?,
    };
    let page = store.list_objects(&input.bucket, &params)?;
    let url = wants_url(input.encoding_type.as_ref());
    let objects = contents(&page, url, true);
    let common = prefixes(&page, url);
    // S3 sends NextMarker only with a delimiter; clients use the last key otherwise.
    let next_marker = (page.is_truncated
        && input.delimiter.as_ref().is_some_and(|d| !d.is_empty()))
    .then(|| page.next_after.as_ref().map(|k| encode_key(k, url)))
    .flatten();
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(encode_key(&params.prefix, url)),
        marker: Some(
            input
                .marker
                .map(|m| encode_key(&m, url))
                .unwrap_or_default(),
        ),
        delimiter: echoed_delimiter(input.delimiter, url),
        max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
        is_truncated: Some(page.is_truncated),
        next_marker,
        encoding_type: input.encoding_type,
        contents: (!objects.is_empty()).then_some(objects),
        common_prefixes: (!common.is_empty()).then_some(common),
        ..ListObjectsOutput::default()
    }))
}

/// ListObjectVersions: every version and delete marker, newest first within a key (a
/// bucket that never had versioning lists each object as its only, `null`, version).
pub(crate) fn versions(
    store: &Store,
    input: ListObjectVersionsInput,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let params = ListParams {
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone(),
        after: input.key_marker.clone().filter(|m| !m.is_empty()),
        max_keys: max_keys(input.max_keys)?,
    };
    let version_after = input
        .version_id_marker
        .as_deref()
        .filter(|v| !v.is_empty() && params.after.is_some());
    let page = store.list_object_versions(&input.bucket, &params, version_after)?;
    let url = wants_url(input.encoding_type.as_ref());
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    for (meta, is_latest) in &page.versions {
        let key = Some(encode_key(&meta.key, url));
        let version_id = Some(meta.version_str().to_owned());
        let last_modified = Some(timestamp(meta.last_modified_ms));
        if meta.delete_marker {
            markers.push(DeleteMarkerEntry {
                key,
                version_id,
                is_latest: Some(*is_latest),
                last_modified,
                owner: Some(super::acl::owner()),
            });
        } else {
            versions.push(ObjectVersion {
                key,
                version_id,
                is_latest: Some(*is_latest),
                size: i64::try_from(meta.size).ok(),
                e_tag: Some(etag(meta)),
                last_modified,
                owner: Some(super::acl::owner()),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                ..ObjectVersion::default()
            });
        }
    }
    let common: Vec<CommonPrefix> = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(encode_key(p, url)),
        })
        .collect();
    let truncated = page.is_truncated;
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(encode_key(&params.prefix, url)),
        delimiter: echoed_delimiter(input.delimiter, url),
        key_marker: input.key_marker,
        version_id_marker: input.version_id_marker,
        max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
        is_truncated: Some(truncated),
        next_key_marker: truncated
            .then(|| page.next_key.as_ref().map(|k| encode_key(k, url)))
            .flatten(),
        next_version_id_marker: truncated.then_some(page.next_version).flatten(),
        encoding_type: input.encoding_type,
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        common_prefixes: (!common.is_empty()).then_some(common),
        ..ListObjectVersionsOutput::default()
    }))
}

/// The `Delimiter` a listing echoes: S3 sends none for an empty one.
fn echoed_delimiter(delimiter: Option<String>, url: bool) -> Option<String> {
    delimiter
        .filter(|d| !d.is_empty())
        .map(|d| encode_key(&d, url))
}
