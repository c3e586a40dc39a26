//! Conditional reads (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`, and their `x-amz-copy-source-` forms), evaluated as RFC 9110 and
//! S3 do.

use http::header::{ETAG, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue};
use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Error, S3ErrorCode};

use super::convert::{http_date, unix_secs};
use crate::store::ObjectMeta;

/// The conditions of one request.
#[derive(Debug, Default)]
pub(crate) struct Conditions<'a> {
    pub(crate) if_match: Option<&'a ETagCondition>,
    pub(crate) if_none_match: Option<&'a ETagCondition>,
    pub(crate) if_modified_since: Option<&'a Timestamp>,
    pub(crate) if_unmodified_since: Option<&'a Timestamp>,
}

/// The `x-amz-copy-source-if-*` [`Conditions`] of `$input`, a CopyObject or an UploadPartCopy
/// input: s3s gives the two their own types with the same fields, so a macro reads them.
macro_rules! copy_source_conditions {
    ($input:ident) => {
        $crate::service::conditions::Conditions {
            if_match: $input.copy_source_if_match.as_ref(),
            if_none_match: $input.copy_source_if_none_match.as_ref(),
            if_modified_since: $input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: $input.copy_source_if_unmodified_since.as_ref(),
        }
    };
}
pub(crate) use copy_source_conditions;

fn matches(condition: &ETagCondition, meta: &ObjectMeta) -> bool {
    match condition {
        ETagCondition::Any => true,
        ETagCondition::ETag(etag) => etag.value() == meta.etag,
    }
}

impl Conditions<'_> {
    /// `Ok` if the request may proceed; 412 `PreconditionFailed`, or for reads 304
    /// `NotModified` with the object's `ETag` and `Last-Modified` (copies answer 412 for both).
    pub(crate) fn check(&self, meta: &ObjectMeta, is_copy: bool) -> Result<(), S3Error> {
        let modified = meta.last_modified_ms.div_euclid(1000);
        if let Some(cond) = self.if_match {
            if !matches(cond, meta) {
                return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
            }
        } else if let Some(since) = self.if_unmodified_since
            && modified > unix_secs(since)
        {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
        let not_modified = || {
            if is_copy {
                S3Error::new(S3ErrorCode::PreconditionFailed)
            } else {
                not_modified(meta)
            }
        };
        if let Some(cond) = self.if_none_match {
            if matches(cond, meta) {
                return Err(not_modified());
            }
        } else if let Some(since) = self.if_modified_since
            && modified <= unix_secs(since)
        {
            return Err(not_modified());
        }
        Ok(())
    }
}

/// 304 Not Modified with the headers RFC 9110 asks of it that S3 sends: the object's `ETag`
/// and `Last-Modified` (and its version id).
fn not_modified(meta: &ObjectMeta) -> S3Error {
    let mut err = S3Error::new(S3ErrorCode::NotModified);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
        headers.insert(ETAG, value);
    }
    if let Some(value) =
        http_date(meta.last_modified_ms).and_then(|d| HeaderValue::from_str(&d).ok())
    {
        headers.insert(LAST_MODIFIED, value);
    }
    if let Some(value) = meta
        .version_header()
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert("x-amz-version-id", value);
    }
    err.set_headers(headers);
    err
}
