//! Additional checksums (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256) computed while a body
//! streams in, checked against the client's value and kept in the sidecar. The hash
//! implementations are s3s's.

use std::sync::Arc;

use base64::Engine;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use serde::{Deserialize, Serialize};

/// A checksum algorithm S3 supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    /// CRC32
    #[serde(rename = "CRC32")]
    Crc32,
    /// CRC32C
    #[serde(rename = "CRC32C")]
    Crc32c,
    /// CRC64NVME
    #[serde(rename = "CRC64NVME")]
    Crc64Nvme,
    /// SHA1
    #[serde(rename = "SHA1")]
    Sha1,
    /// SHA256
    #[serde(rename = "SHA256")]
    Sha256,
}

impl ChecksumAlgorithm {
    /// S3's name of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// Parses S3's name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Crc32,
            Self::Crc32c,
            Self::Crc64Nvme,
            Self::Sha1,
            Self::Sha256,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

/// How the checksum of a multipart object is made from its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumType {
    /// a checksum of the parts' checksums, written `<base64>-<number of parts>`
    #[serde(rename = "COMPOSITE")]
    Composite,
    /// the checksum of the whole object, as a single PUT would have it (CRCs only)
    #[serde(rename = "FULL_OBJECT")]
    FullObject,
}

impl ChecksumType {
    /// S3's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Composite => "COMPOSITE",
            Self::FullObject => "FULL_OBJECT",
        }
    }

    /// S3's default for an algorithm: full-object for CRC64NVME, composite for the others.
    pub fn default_for(algorithm: ChecksumAlgorithm) -> Self {
        if algorithm == ChecksumAlgorithm::Crc64Nvme {
            Self::FullObject
        } else {
            Self::Composite
        }
    }

    /// Whether S3 allows this type with `algorithm` (full-object only for the CRCs,
    /// composite for all but CRC64NVME).
    pub fn allowed_with(self, algorithm: ChecksumAlgorithm) -> bool {
        match self {
            Self::FullObject => !matches!(
                algorithm,
                ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256
            ),
            Self::Composite => algorithm != ChecksumAlgorithm::Crc64Nvme,
        }
    }
}

/// The composite checksum of parts whose `algorithm` checksums (base64) are `parts`: the
/// checksum of their concatenated digests, then `-<number of parts>`. `None` if a part's
/// checksum is not valid base64.
pub(crate) fn composite<'a>(
    algorithm: ChecksumAlgorithm,
    parts: impl ExactSizeIterator<Item = &'a str>,
) -> Option<String> {
    let count = parts.len();
    let mut hasher = Hasher::new(algorithm);
    for part in parts {
        let digest = base64::engine::general_purpose::STANDARD
            .decode(part)
            .ok()?;
        hasher.update(&digest);
    }
    Some(format!("{}-{count}", hasher.finalize()))
}

/// A checksum the client sends after the body (an aws-chunked trailer such as
/// `x-amz-checksum-crc32`): its value can only be read once the body has been consumed.
#[derive(Clone)]
pub struct TrailingChecksum {
    /// the algorithm named by `x-amz-trailer`
    pub algorithm: ChecksumAlgorithm,
    value: Arc<dyn Fn() -> Option<String> + Send + Sync>,
}

impl TrailingChecksum {
    /// A trailer of `algorithm` whose value `value` reads (`None`: not sent).
    pub fn new(
        algorithm: ChecksumAlgorithm,
        value: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            algorithm,
            value: Arc::new(value),
        }
    }

    /// The value the client sent, once the body is read.
    pub(crate) fn value(&self) -> Option<String> {
        (self.value)()
    }
}

impl std::fmt::Debug for TrailingChecksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrailingChecksum")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// One running checksum.
pub(crate) enum Hasher {
    Crc32(Crc32),
    Crc32c(Crc32c),
    Crc64Nvme(Crc64Nvme),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32 => Self::Crc32(Crc32::new()),
            ChecksumAlgorithm::Crc32c => Self::Crc32c(Crc32c::new()),
            ChecksumAlgorithm::Crc64Nvme => Self::Crc64Nvme(Crc64Nvme::new()),
            ChecksumAlgorithm::Sha1 => Self::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(data),
            Self::Crc32c(h) => h.update(data),
            Self::Crc64Nvme(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    /// The base64 digest, as S3 sends it.
    pub(crate) fn finalize(self) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        match self {
            Self::Crc32(h) => b64(h.finalize().as_ref()),
            Self::Crc32c(h) => b64(h.finalize().as_ref()),
            Self::Crc64Nvme(h) => b64(h.finalize().as_ref()),
            Self::Sha1(h) => b64(h.finalize().as_ref()),
            Self::Sha256(h) => b64(h.finalize().as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let mut h = Hasher::new(ChecksumAlgorithm::Crc32);
        h.update(b"hello");
        assert_eq!(h.finalize(), "NhCmhg==");
        let mut h = Hasher::new(ChecksumAlgorithm::Sha256);
        h.update(b"hello");
        assert_eq!(h.finalize(), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert_eq!(
            ChecksumAlgorithm::parse("crc32c"),
            Some(ChecksumAlgorithm::Crc32c)
        );
    }

    #[test]
    fn composite_checksums_hash_the_part_digests() {
        // CRC32 of "hello" is 3610a686, of "world" 3a771143: the composite is the CRC32 of
        // those eight bytes.
        let mut whole = Hasher::new(ChecksumAlgorithm::Crc32);
        whole.update(&[0x36, 0x10, 0xa6, 0x86, 0x3a, 0x77, 0x11, 0x43]);
        let expected = format!("{}-2", whole.finalize());
        let parts = ["NhCmhg==", "OncRQw=="];
        assert_eq!(
            composite(ChecksumAlgorithm::Crc32, parts.into_iter()),
            Some(expected)
        );
        assert_eq!(composite(ChecksumAlgorithm::Crc32, ["!"].into_iter()), None);
        assert!(!ChecksumType::FullObject.allowed_with(ChecksumAlgorithm::Sha256));
        assert!(!ChecksumType::Composite.allowed_with(ChecksumAlgorithm::Crc64Nvme));
    }
}
