//! Checksums sent as aws-chunked trailers: `x-amz-trailer: x-amz-checksum-<alg>` announces
//! one, s3s hands its value over once the body is read, and the store compares it with the
//! data before it commits (a mismatch is `BadDigest`, as in S3).

use s3s::S3Request;
use s3s::{S3Result, s3_error};

use crate::store::{ChecksumAlgorithm, TrailingChecksum};

/// The trailing checksum the request announces, if any.
pub(crate) fn checksum<T>(req: &S3Request<T>) -> S3Result<Option<TrailingChecksum>> {
    let Some(announced) = req.headers.get("x-amz-trailer") else {
        return Ok(None);
    };
    let name = announced
        .to_str()
        .map_err(|_| s3_error!(InvalidRequest, "x-amz-trailer is not ASCII"))?
        .trim()
        .to_ascii_lowercase();
    let Some(algorithm) = name.strip_prefix("x-amz-checksum-") else {
        // Another trailer (none is defined today): nothing to check.
        return Ok(None);
    };
    let algorithm = ChecksumAlgorithm::parse(algorithm).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "The trailing checksum algorithm {algorithm} is not supported"
        )
    })?;
    let Some(trailers) = req.trailing_headers.clone() else {
        // Not an aws-chunked body with trailers, so there is nothing to wait for.
        return Ok(None);
    };
    Ok(Some(TrailingChecksum::new(algorithm, move || {
        trailers
            .read(|headers| {
                headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_owned())
            })
            .flatten()
    })))
}
