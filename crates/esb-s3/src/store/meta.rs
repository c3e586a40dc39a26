//! The metadata sidecar: everything S3 returns about an object except its bytes, stored as
//! JSON next to the body. Renaming a sidecar into `keys/` is the commit point of a write.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::acl::Acl;
use super::checksum::ChecksumAlgorithm;
use super::error::{StoreError, StoreResult};

/// The caller-supplied attributes of an object: standard headers and user metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttrs {
    /// `Content-Type`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Content-Encoding`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Disposition`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Language`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Cache-Control`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Expires`, unix seconds
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// `x-amz-meta-*` (names lowercased, without the prefix)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_metadata: BTreeMap<String, String>,
}

/// A committed object's metadata, as stored in its sidecar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// the full key
    pub key: String,
    /// the body's blob file name under `blobs/`
    pub blob: String,
    /// body length in bytes
    pub size: u64,
    /// lowercase hex MD5 of the body (without quotes)
    pub etag: String,
    /// last modification, unix milliseconds
    pub last_modified_ms: i64,
    /// headers and user metadata
    #[serde(flatten)]
    pub attrs: ObjectAttrs,
    /// object tags
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// additional checksums of the whole body, base64
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<ChecksumAlgorithm, String>,
    /// Sizes of the parts of a multipart object, in order (for GET/HEAD by `partNumber`);
    /// empty for a single PUT or copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    /// The additional checksums of each part of a multipart object, in order (for
    /// GetObjectAttributes); empty when its parts had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<BTreeMap<ChecksumAlgorithm, String>>,
    /// The version id; `None` is S3's `null` version, the only version of every object in a
    /// bucket that never had versioning. Absent from the sidecars of such buckets, so their
    /// format is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// This version is a delete marker: no body, hides older versions from plain reads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// The version's access control list; `None` is `private` (the owner alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Acl>,
    /// Commit order among the key's versions (the highest is the latest); 0 for every write
    /// to a bucket that never had versioning.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ObjectMeta {
    /// The version id as S3 shows it (`null` for the null version).
    pub fn version_str(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION)
    }

    /// The `x-amz-version-id` to send for this version: none in a bucket that never had
    /// versioning (S3 sends none there), `null` for a null version written later.
    pub fn version_header(&self) -> Option<String> {
        match (&self.version_id, self.seq) {
            (Some(id), _) => Some(id.clone()),
            (None, 0) => None,
            (None, _) => Some(NULL_VERSION.to_owned()),
        }
    }

    /// S3's type of the object's checksum: `COMPOSITE` (a checksum of the parts' checksums,
    /// written `…-N`) or `FULL_OBJECT`.
    pub fn checksum_type(&self) -> &'static str {
        if self.checksums.values().any(|v| v.contains('-')) {
            "COMPOSITE"
        } else {
            "FULL_OBJECT"
        }
    }

    /// Serialises for the sidecar file.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a sidecar file.
    pub(crate) fn read(path: &Path) -> StoreResult<Self> {
        let bytes =
            std::fs::read(path).map_err(StoreError::io(format!("reading {}", path.display())))?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
            path: path.display().to_string(),
            source,
        })
    }
}

/// S3's name of the version an unversioned write creates.
pub const NULL_VERSION: &str = "null";

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sidecar_round_trips() {
        let mut attrs = ObjectAttrs {
            content_type: Some("text/plain".into()),
            ..ObjectAttrs::default()
        };
        attrs.user_metadata.insert("colour".into(), "blue".into());
        let meta = ObjectMeta {
            key: "a/../b".into(),
            blob: "x".into(),
            size: 3,
            etag: "abc".into(),
            last_modified_ms: 1,
            attrs,
            tags: BTreeMap::from([("t".to_owned(), "v".to_owned())]),
            checksums: BTreeMap::from([(ChecksumAlgorithm::Crc32, "NhCmhg==".to_owned())]),
            ..ObjectMeta::default()
        };
        let back: ObjectMeta = serde_json::from_slice(&meta.to_json()).unwrap();
        assert_eq!(back, meta);
    }

    #[test]
    fn sidecars_written_before_versioning_load_unchanged() {
        let legacy = br#"{"key":"k","blob":"b","size":1,"etag":"e","last_modified_ms":5,"content_type":"text/plain"}"#;
        let meta: ObjectMeta = serde_json::from_slice(legacy).unwrap();
        assert_eq!(meta.version_id, None);
        assert!(!meta.delete_marker);
        assert_eq!(meta.version_header(), None);
        assert_eq!(meta.to_json(), legacy);
    }
}
