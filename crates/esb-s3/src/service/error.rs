//! Mapping of store errors to S3 error codes and statuses — the one place it happens.

use http::header::{CONTENT_TYPE, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue};
use s3s::{S3Error, S3ErrorCode};

use crate::store::StoreError;

impl From<StoreError> for S3Error {
    fn from(err: StoreError) -> Self {
        // Codes S3 answers with a fixed message get that message (clients and tests match on
        // it); the store's own text, which names the bucket or key, goes to the log.
        let fixed = |code: S3ErrorCode| {
            let message = crate::error_body::message_for(code.as_str());
            S3Error::with_message(code, message)
        };
        let code = match &err {
            StoreError::NoSuchBucket(_) => return fixed(S3ErrorCode::NoSuchBucket),
            StoreError::NoSuchKey(_) => return fixed(S3ErrorCode::NoSuchKey),
            StoreError::NoSuchVersion(_) => return fixed(S3ErrorCode::NoSuchVersion),
            StoreError::DeleteMarker {
                version_id,
                last_modified_ms,
                requested,
                ..
            } => return delete_marker(version_id.as_deref(), *last_modified_ms, *requested),
            StoreError::BucketAlreadyOwnedByYou(_) => {
                return fixed(S3ErrorCode::BucketAlreadyOwnedByYou);
            }
            StoreError::BucketNotEmpty(_) => return fixed(S3ErrorCode::BucketNotEmpty),
            StoreError::InvalidBucketName(_, why) => {
                return S3Error::with_message(
                    S3ErrorCode::InvalidBucketName,
                    format!("The specified bucket is not valid: a bucket name {why}."),
                );
            }
            StoreError::InvalidKey(why) if why.contains("longer") => {
                return fixed(S3ErrorCode::KeyTooLongError);
            }
            StoreError::InvalidKey(_) => S3ErrorCode::InvalidArgument,
            StoreError::PreconditionFailed => return fixed(S3ErrorCode::PreconditionFailed),
            StoreError::ConditionalRequestConflict => {
                return fixed(S3ErrorCode::ConditionalRequestConflict);
            }
            // s3s reports a body whose SHA-256 is not the signed `x-amz-content-sha256` as a
            // stream error; its text is all that reaches the store.
            StoreError::Body(why) if why.contains("Sha256Mismatch") => {
                let mut err = S3Error::with_message(
                    S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                );
                err.set_status_code(http::StatusCode::BAD_REQUEST);
                return err;
            }
            StoreError::IncompleteBody { .. } => return fixed(S3ErrorCode::IncompleteBody),
            StoreError::Body(_) => S3ErrorCode::IncompleteBody,
            StoreError::EntityTooLarge => return fixed(S3ErrorCode::EntityTooLarge),
            StoreError::BadDigest => return fixed(S3ErrorCode::BadDigest),
            StoreError::BadChecksum(algorithm) => {
                return S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    format!("The {algorithm} you specified did not match the calculated checksum."),
                );
            }
            StoreError::NoSuchUpload(_) => return fixed(S3ErrorCode::NoSuchUpload),
            StoreError::InvalidPart(_) => return fixed(S3ErrorCode::InvalidPart),
            StoreError::InvalidPartOrder => return fixed(S3ErrorCode::InvalidPartOrder),
            StoreError::EntityTooSmall(_) => return fixed(S3ErrorCode::EntityTooSmall),
            StoreError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
            StoreError::ChecksumTypeMismatch { .. } | StoreError::MissingPartChecksum { .. } => {
                S3ErrorCode::InvalidRequest
            }
            // S3 has no code for this; a full local disk is not worth retrying (clients retry
            // 500s) and the operator needs to know. 507 and the code are MinIO's.
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                tracing::error!(%err, "s3 store failure: the disk is full");
                let mut err = S3Error::with_message(
                    S3ErrorCode::Custom("XMinioStorageFull".into()),
                    "The store's disk is full; the object was not stored. Free space on the \
                     data directory's disk and retry.",
                );
                err.set_status_code(http::StatusCode::INSUFFICIENT_STORAGE);
                return err;
            }
            StoreError::Io { .. } | StoreError::Corrupt { .. } | StoreError::Locked(_) => {
                tracing::error!(%err, "s3 store failure");
                return fixed(S3ErrorCode::InternalError);
            }
        };
        S3Error::with_message(code, err.to_string())
    }
}

/// S3's answer for a read that hits a delete marker: 404 `NoSuchKey` for the latest version,
/// 405 `MethodNotAllowed` for a marker named by version id, both with
/// `x-amz-delete-marker: true` and the marker's version id.
fn delete_marker(version_id: Option<&str>, last_modified_ms: i64, requested: bool) -> S3Error {
    let mut err = if requested {
        S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        )
    } else {
        S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
    };
    let mut headers = HeaderMap::new();
    // s3s replaces all headers of the error response with these, so the type goes too.
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
    if let Some(value) = version_id.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert("x-amz-version-id", value);
    }
    if requested
        && let Some(date) = super::convert::http_date(last_modified_ms)
        && let Ok(value) = HeaderValue::from_str(&date)
    {
        headers.insert(LAST_MODIFIED, value);
    }
    err.set_headers(headers);
    err
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
                StoreError::ConditionalRequestConflict,
                "ConditionalRequestConflict",
                409,
            ),
            (
                StoreError::InvalidKey("the key is longer than 1024 bytes"),
                "KeyTooLongError",
                400,
            ),
            (
                StoreError::Io {
                    context: "writing a blob".into(),
                    source: std::io::Error::from(std::io::ErrorKind::StorageFull),
                },
                "XMinioStorageFull",
                507,
            ),
            (
                StoreError::Io {
                    context: "reading a blob".into(),
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                },
                "InternalError",
                500,
            ),
        ];
        for (err, code, status) in cases {
            let s3 = S3Error::from(err);
            assert_eq!(s3.code().as_str(), code);
            assert_eq!(s3.status_code().map(|s| s.as_u16()), Some(status), "{code}");
        }
    }

    #[test]
    fn messages_are_s3s_where_s3_has_a_fixed_one() {
        let cases = [
            (
                StoreError::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ),
            (
                StoreError::NoSuchKey("k".into()),
                "The specified key does not exist.",
            ),
            (
                StoreError::NoSuchBucket("b".into()),
                "The specified bucket does not exist",
            ),
            (
                StoreError::BadChecksum("CRC32"),
                "The CRC32 you specified did not match the calculated checksum.",
            ),
        ];
        for (err, message) in cases {
            assert_eq!(S3Error::from(err).message(), Some(message));
        }
    }
}
