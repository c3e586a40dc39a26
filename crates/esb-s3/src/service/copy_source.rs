//! The `x-amz-copy-source` of CopyObject and UploadPartCopy: a bucket and key of this store,
//! with no version other than `null` (versioning is not enabled here).

use s3s::dto::CopySource;
use s3s::{S3Result, s3_error};

/// The source bucket and key.
pub(crate) fn bucket_and_key(source: &CopySource) -> S3Result<(&str, &str)> {
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
    if version_id.as_deref().is_some_and(|v| v != "null") {
        return Err(s3_error!(NoSuchVersion, "versioning is not enabled"));
    }
    Ok((bucket, key))
}
