//! Request bodies: `Content-Encoding: gzip` (as the AWS SDKs may send) decoded within the
//! request size limit.

use std::io::Read;

use bytes::Bytes;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Decoded, it is larger than the limit.
    TooLarge,
    /// Not valid gzip, or an encoding we do not support.
    Undecodable,
}

/// Decode `body` per its `Content-Encoding` header value (`None`, `identity` or `gzip`),
/// refusing more than `limit` decoded bytes. CPU-bound: call it off the runtime threads for a
/// large gzip body.
pub(crate) fn decode(
    encoding: Option<&str>,
    body: Bytes,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let encoding = encoding.map(str::trim).unwrap_or("");
    if encoding.is_empty() || encoding.eq_ignore_ascii_case("identity") {
        return if body.len() > limit {
            Err(BodyError::TooLarge)
        } else {
            Ok(body)
        };
    }
    if !encoding.eq_ignore_ascii_case("gzip") {
        return Err(BodyError::Undecodable);
    }
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(&body[..])
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| BodyError::Undecodable)?;
    if out.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn identity_passes_through() {
        assert_eq!(
            decode(None, Bytes::from_static(b"{}"), 10),
            Ok(Bytes::from_static(b"{}"))
        );
        assert_eq!(
            decode(Some("identity"), Bytes::from_static(b"{}"), 1),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn gzip_is_decoded_within_the_limit() {
        assert_eq!(
            decode(Some("gzip"), gzip(b"{\"a\":1}"), 100),
            Ok(Bytes::from_static(b"{\"a\":1}"))
        );
        // A small bomb: 1 MB of zeros decodes past a 1 KB limit.
        assert_eq!(
            decode(Some("gzip"), gzip(&vec![0u8; 1 << 20]), 1024),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            decode(Some("gzip"), Bytes::from_static(b"not gzip"), 100),
            Err(BodyError::Undecodable)
        );
        assert_eq!(
            decode(Some("br"), Bytes::from_static(b"x"), 100),
            Err(BodyError::Undecodable)
        );
    }
}
