//! Mapping of store errors to S3 error codes and statuses — the one place it happens.

use s3s::{S3Error, S3ErrorCode};

use crate::store::StoreError;

impl From<StoreError> for S3Error {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::NoSuchBucket(_) => S3ErrorCode::NoSuchBucket,
            StoreError::NoSuchKey(_) => S3ErrorCode::NoSuchKey,
            StoreError::BucketAlreadyOwnedByYou(_) => S3ErrorCode::BucketAlreadyOwnedByYou,
            StoreError::BucketNotEmpty(_) => S3ErrorCode::BucketNotEmpty,
            StoreError::InvalidBucketName(..) => S3ErrorCode::InvalidBucketName,
            StoreError::InvalidKey(why) if why.contains("longer") => S3ErrorCode::KeyTooLongError,
            StoreError::InvalidKey(_) => S3ErrorCode::InvalidArgument,
            StoreError::PreconditionFailed => S3ErrorCode::PreconditionFailed,
            StoreError::IncompleteBody { .. } | StoreError::Body(_) => S3ErrorCode::IncompleteBody,
            StoreError::EntityTooLarge => S3ErrorCode::EntityTooLarge,
            StoreError::BadDigest | StoreError::BadChecksum(_) => S3ErrorCode::BadDigest,
            StoreError::NoSuchUpload(_) => S3ErrorCode::NoSuchUpload,
            StoreError::InvalidPart(_) => S3ErrorCode::InvalidPart,
            StoreError::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
            StoreError::EntityTooSmall(_) => S3ErrorCode::EntityTooSmall,
            StoreError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
            StoreError::Io { .. } | StoreError::Corrupt { .. } | StoreError::Locked(_) => {
                tracing::error!(%err, "s3 store failure");
                return S3Error::with_message(
                    S3ErrorCode::InternalError,
                    "We encountered an internal error. Please try again.",
                );
            }
        };
        S3Error::with_message(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (StoreError::NoSuchBucket("b".into()), "NoSuchBucket", 404),
            (StoreError::NoSuchKey("k".into()), "NoSuchKey", 404),
            (
                StoreError::BucketNotEmpty("b".into()),
                "BucketNotEmpty",
                409,
            ),
            (
                StoreError::BucketAlreadyOwnedByYou("b".into()),
                "BucketAlreadyOwnedByYou",
                409,
            ),
            (
                StoreError::InvalidBucketName("B".into(), "x"),
                "InvalidBucketName",
                400,
            ),
            (StoreError::PreconditionFailed, "PreconditionFailed", 412),
            (
                StoreError::InvalidKey("the key is longer than 1024 bytes"),
                "KeyTooLongError",
                400,
            ),
        ];
        for (err, code, status) in cases {
            let s3 = S3Error::from(err);
            assert_eq!(s3.code().as_str(), code);
            assert_eq!(s3.status_code().map(|s| s.as_u16()), Some(status), "{code}");
        }
    }
}
