//! Bucket versioning: the state (never set, Enabled, Suspended), kept in
//! `<bucket>/versioning.json`, and the version ids the store hands out.
//!
//! A bucket that never had versioning keeps the original layout: one sidecar per key in
//! `keys/`, which is the key's `null` version. Once versioning is set, every write gets a
//! commit sequence number (`seq`, the highest is the latest version); Enabled writes go to
//! their own sidecar under `versions/` (the rename is still the commit), Suspended writes
//! replace the `null` version in `keys/`. Nothing is ever moved between files, so each
//! write stays one atomic rename.

use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::meta::NULL_VERSION;
use super::paths::{fsync_dir, write_atomic};
use super::{Store, blocking};

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersioningState {
    /// never enabled: one (`null`) version per key
    #[default]
    Unversioned,
    /// every write creates a new version
    Enabled,
    /// writes replace the `null` version; older versions are kept
    Suspended,
}

impl VersioningState {
    /// Whether writes get a sequence number (versioning was set at some point).
    pub(crate) fn ever(self) -> bool {
        self != Self::Unversioned
    }
}

/// The stored form of `versioning.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    state: VersioningState,
}

/// A new version id: 32 lowercase hex digits (safe in a file name).
pub(crate) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A client's version id: `None` for `null`, the id if it can be one of ours; anything else
/// is refused before it gets near a path.
pub(crate) fn parse_version_id(id: &str) -> StoreResult<Option<&str>> {
    if id == NULL_VERSION {
        return Ok(None);
    }
    if id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(Some(id));
    }
    Err(StoreError::InvalidArgument(
        "Invalid version id specified".into(),
    ))
}

/// Reads a bucket's state (absent file: never versioned).
pub(crate) fn load(path: &std::path::Path) -> StoreResult<VersioningState> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Record>(&bytes)
            .map(|r| r.state)
            .map_err(|source| StoreError::Corrupt {
                path: path.display().to_string(),
                source,
            }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(VersioningState::Unversioned),
        Err(err) => Err(StoreError::io(format!("reading {}", path.display()))(err)),
    }
}

impl Store {
    /// Sets a bucket's versioning to Enabled or Suspended, durably. The `versions/`
    /// directory is made (and synced) before the state that lets writes use it.
    pub async fn put_bucket_versioning(
        &self,
        bucket: &str,
        state: VersioningState,
    ) -> StoreResult<()> {
        if !state.ever() {
            return Err(StoreError::InvalidArgument(
                "versioning can only be Enabled or Suspended".into(),
            ));
        }
        let bucket = self.bucket(bucket)?;
        let (tmp, paths) = (self.tmp.clone(), bucket.paths.clone());
        let json = serde_json::to_vec(&Record { state }).unwrap_or_default();
        blocking(move || -> std::io::Result<()> {
            let versions = paths.versions();
            if !versions.exists() {
                std::fs::create_dir(&versions)?;
                fsync_dir(&paths.dir)?;
            }
            write_atomic(&tmp, &paths.versioning(), &json)
        })
        .await?
        .map_err(StoreError::io("storing the versioning state"))?;
        bucket.set_versioning(state);
        Ok(())
    }

    /// A bucket's versioning state.
    pub fn bucket_versioning(&self, bucket: &str) -> StoreResult<VersioningState> {
        Ok(self.bucket(bucket)?.versioning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_checked_before_use() {
        assert_eq!(parse_version_id("null").ok(), Some(None));
        let id = new_version_id();
        assert_eq!(parse_version_id(&id).ok(), Some(Some(id.as_str())));
        for bad in ["", "../x", &"A".repeat(32), &"a".repeat(31), "null2"] {
            assert!(parse_version_id(bad).is_err(), "{bad}");
        }
    }
}
