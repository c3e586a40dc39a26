//! Object tagging (the sidecar's tags) and the `x-amz-tagging` header, with S3's limits.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use s3s::dto::*;
use s3s::{S3Response, S3Result, s3_error};

use crate::store::Store;

/// Most tags on one object.
const MAX_TAGS: usize = 10;

fn check(tags: &BTreeMap<String, String>) -> S3Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(s3_error!(
            InvalidTag,
            "Object tags cannot be greater than {MAX_TAGS}"
        ));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(
                InvalidTag,
                "The TagKey or TagValue you have provided is too long or empty"
            ));
        }
    }
    Ok(())
}

/// Parses `x-amz-tagging: k1=v1&k2=v2` (URL query encoding).
pub(crate) fn from_header(header: Option<&str>) -> S3Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let Some(header) = header.filter(|h| !h.is_empty()) else {
        return Ok(tags);
    };
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| s3_error!(InvalidArgument, "x-amz-tagging is not valid UTF-8"))
    };
    for pair in header.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if tags.insert(decode(k)?, decode(v)?).is_some() {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    check(&tags)?;
    Ok(tags)
}

/// A request's tag set as a map.
pub(crate) fn from_tag_set(set: TagSet) -> S3Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for tag in set {
        let key = tag.key.unwrap_or_default();
        if tags.insert(key, tag.value.unwrap_or_default()).is_some() {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    check(&tags)?;
    Ok(tags)
}

pub(crate) fn to_tag_set(tags: &BTreeMap<String, String>) -> TagSet {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

pub(crate) async fn put(
    store: &Store,
    input: PutObjectTaggingInput,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let tags = from_tag_set(input.tagging.tag_set)?;
    let meta = store
        .put_object_tags(&input.bucket, &input.key, input.version_id.as_deref(), tags)
        .await?;
    Ok(S3Response::new(PutObjectTaggingOutput {
        version_id: meta.version_header(),
    }))
}

pub(crate) fn get(
    store: &Store,
    input: GetObjectTaggingInput,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let meta = store.head_object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: to_tag_set(&meta.tags),
        version_id: meta.version_header(),
    }))
}

pub(crate) async fn delete(
    store: &Store,
    input: DeleteObjectTaggingInput,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let meta = store
        .put_object_tags(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            BTreeMap::new(),
        )
        .await?;
    Ok(S3Response::new(DeleteObjectTaggingOutput {
        version_id: meta.version_header(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tagging_header() {
        let tags = from_header(Some("a=1&b%20c=d+e&empty=")).unwrap();
        assert_eq!(tags["a"], "1");
        assert_eq!(tags["b c"], "d e");
        assert_eq!(tags["empty"], "");
        assert!(from_header(Some("a=1&a=2")).is_err());
        let many: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(from_header(Some(&many.join("&"))).is_err());
    }
}
