//! Conversions between s3s's wire types and the store's: timestamps, ETags, object
//! attributes in and out, and `encoding-type=url` key encoding.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::{ETag, EncodingType, Metadata, Timestamp};

use crate::store::{ObjectAttrs, ObjectMeta};

/// Characters S3 leaves unescaped with `encoding-type=url`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Unix milliseconds to an s3s timestamp.
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let time = match u64::try_from(ms) {
        Ok(ms) => UNIX_EPOCH + Duration::from_millis(ms),
        Err(_) => UNIX_EPOCH,
    };
    Timestamp::from(time)
}

/// Unix milliseconds as an HTTP date (`Last-Modified` format).
pub(crate) fn http_date(ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    let (weekday, month) = (t.weekday().to_string(), t.month().to_string());
    Some(format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        weekday.get(..3)?,
        t.day(),
        month.get(..3)?,
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// An s3s timestamp to unix seconds.
pub(crate) fn unix_secs(ts: &Timestamp) -> i64 {
    time::OffsetDateTime::from(ts.clone()).unix_timestamp()
}

/// Unix seconds to an s3s timestamp.
pub(crate) fn timestamp_secs(secs: i64) -> Option<Timestamp> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(Timestamp::from)
}

/// The object's ETag as S3 returns it.
pub(crate) fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

/// The object's user metadata, if any.
pub(crate) fn metadata(meta: &ObjectMeta) -> Option<Metadata> {
    let map = &meta.attrs.user_metadata;
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The [`AttrsIn`] of `$input`, a PutObject, CopyObject or CreateMultipartUpload input: s3s
/// gives each its own type with the same fields, so a macro reads them.
macro_rules! attrs_in {
    ($input:ident) => {
        $crate::service::convert::AttrsIn {
            content_type: $input.content_type,
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires,
            metadata: $input.metadata,
        }
    };
}
pub(crate) use attrs_in;

/// The fields of a write request that become stored attributes.
#[derive(Debug, Default)]
pub(crate) struct AttrsIn {
    pub(crate) content_type: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) content_disposition: Option<String>,
    pub(crate) content_language: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) expires: Option<Timestamp>,
    pub(crate) metadata: Option<Metadata>,
}

impl From<AttrsIn> for ObjectAttrs {
    fn from(a: AttrsIn) -> Self {
        let user_metadata: BTreeMap<String, String> = a
            .metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        ObjectAttrs {
            content_type: a.content_type,
            content_encoding: a.content_encoding.and_then(|e| without_aws_chunked(&e)),
            content_disposition: a.content_disposition,
            content_language: a.content_language,
            cache_control: a.cache_control,
            expires: a.expires.as_ref().map(unix_secs),
            user_metadata,
        }
    }
}

/// `Content-Encoding` without `aws-chunked`, which describes the upload's framing, not the
/// object (S3 does not store it); `None` if nothing else is left. Without `aws-chunked` the
/// value is kept byte for byte, as S3 keeps it.
fn without_aws_chunked(encoding: &str) -> Option<String> {
    let chunked = |e: &str| e.trim().eq_ignore_ascii_case("aws-chunked");
    if !encoding.split(',').any(chunked) {
        return (!encoding.trim().is_empty()).then(|| encoding.to_owned());
    }
    let kept: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// Whether listing output must be URL-encoded.
pub(crate) fn wants_url(encoding: Option<&EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str().eq_ignore_ascii_case("url"))
}

/// Encodes a key or prefix for listing output when `url` is set.
pub(crate) fn encode_key(key: &str, url: bool) -> String {
    if url {
        utf8_percent_encode(key, KEY_ENCODE).to_string()
    } else {
        key.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_to_seconds() {
        let ts = timestamp(1_700_000_000_123);
        assert_eq!(unix_secs(&ts), 1_700_000_000);
        assert_eq!(timestamp_secs(5).map(|t| unix_secs(&t)), Some(5));
        assert_eq!(
            http_date(784_111_777_000).as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
    }

    #[test]
    fn aws_chunked_is_not_stored() {
        assert_eq!(without_aws_chunked("aws-chunked"), None);
        assert_eq!(
            without_aws_chunked("aws-chunked,gzip").as_deref(),
            Some("gzip")
        );
        assert_eq!(without_aws_chunked("gzip").as_deref(), Some("gzip"));
        assert_eq!(without_aws_chunked("gzip, br").as_deref(), Some("gzip, br"));
    }

    #[test]
    fn url_encoding_keeps_slashes() {
        assert_eq!(encode_key("a b/ü%", true), "a%20b/%C3%BC%25");
        assert_eq!(encode_key("a b", false), "a b");
    }
}
