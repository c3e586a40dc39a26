//! The `x-amz-copy-source` of CopyObject and UploadPartCopy: a bucket, key and optional
//! version of this store.

use s3s::dto::CopySource;
use s3s::{S3Result, s3_error};

/// The source bucket, key and version id (`None`: the current object).
pub(crate) fn parts(source: &CopySource) -> S3Result<(&str, &str, Option<&str>)> {
    let CopySource::Bucket {
        bucket,
        key,
        version_id,
    } = source
    else {
        return Err(s3_error!(
            NotImplemented,
            "copy from an access point is not supported"
        ));
    };
    Ok((bucket, key, version_id.as_deref()))
}
