//! Request bodies by `Content-Encoding` (`gzip`, `deflate`, `zstd`, identity), decoded
//! within a size limit so a small compressed bomb cannot exhaust memory.

use std::io::Read;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Decoded, it is larger than the limit.
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// Not valid data in the named encoding.
    #[error("cannot decode the {0} request body")]
    Corrupt(String),
    /// An encoding this server does not decode.
    #[error("unsupported Content-Encoding {0:?}; use gzip, deflate or zstd")]
    Unsupported(String),
}

/// Decodes `body` sent with `Content-Encoding: encoding`, refusing more than `limit`
/// decoded bytes. CPU-bound: call it off the async runtime threads.
pub fn decode(encoding: Option<&str>, body: Vec<u8>, limit: usize) -> Result<Vec<u8>, BodyError> {
    let encoding = encoding.map(str::trim).unwrap_or("").to_ascii_lowercase();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    let read = match encoding.as_str() {
        "" | "identity" => {
            return if body.len() > limit {
                Err(BodyError::TooLarge(limit))
            } else {
                Ok(body)
            };
        }
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&body[..])
            .take(cap)
            .read_to_end(&mut out),
        // HTTP's "deflate" is zlib-wrapped; some clients send a raw stream instead.
        "deflate" => match flate2::read::ZlibDecoder::new(&body[..])
            .take(cap)
            .read_to_end(&mut out)
        {
            Ok(n) => Ok(n),
            Err(_) => {
                out.clear();
                flate2::read::DeflateDecoder::new(&body[..])
                    .take(cap)
                    .read_to_end(&mut out)
            }
        },
        "zstd" => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(decoder) => decoder.take(cap).read_to_end(&mut out),
            Err(e) => Err(e),
        },
        other => return Err(BodyError::Unsupported(other.to_owned())),
    };
    read.map_err(|_| BodyError::Corrupt(encoding.clone()))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    #[test]
    fn encodings_decode() {
        let data = b"{\"_msg\":\"x\"}\n".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        assert_eq!(
            decode(Some("gzip"), gz.finish().unwrap(), 100).unwrap(),
            data
        );
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zl.write_all(&data).unwrap();
        assert_eq!(
            decode(Some("deflate"), zl.finish().unwrap(), 100).unwrap(),
            data
        );
        let zs = zstd::encode_all(&data[..], 1).unwrap();
        assert_eq!(decode(Some("ZSTD"), zs, 100).unwrap(), data);
        assert_eq!(decode(None, data.clone(), 100).unwrap(), data);
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let zeros = zstd::encode_all(&vec![0u8; 1 << 20][..], 3).unwrap();
        assert_eq!(
            decode(Some("zstd"), zeros, 1024),
            Err(BodyError::TooLarge(1024))
        );
        assert!(matches!(
            decode(Some("gzip"), b"nope".to_vec(), 10),
            Err(BodyError::Corrupt(_))
        ));
        assert!(matches!(
            decode(Some("zstd"), b"nope".to_vec(), 10),
            Err(BodyError::Corrupt(_))
        ));
        assert!(matches!(
            decode(Some("snappy"), b"x".to_vec(), 10),
            Err(BodyError::Unsupported(_))
        ));
        assert_eq!(decode(None, vec![1; 11], 10), Err(BodyError::TooLarge(10)));
    }
}
