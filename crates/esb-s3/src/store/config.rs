//! Bucket sub-resources (CORS, lifecycle, tagging, ACL, policy, public access block,
//! ownership controls) stored as opaque JSON documents under
//! `<bucket>/config/<name>.json`, each written atomically; the service owns their schema.

use super::error::{StoreError, StoreResult};
use super::paths::write_atomic;
use super::{Store, blocking};

/// The sub-resources a bucket may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketConfig {
    /// CORS rules
    Cors,
    /// lifecycle rules
    Lifecycle,
    /// bucket tags
    Tagging,
    /// the bucket's access control list (absent: `private`)
    Acl,
    /// the bucket policy, as the client sent it
    Policy,
    /// the public access block settings
    PublicAccessBlock,
    /// the object ownership setting
    OwnershipControls,
}

impl BucketConfig {
    fn file_name(self) -> &'static str {
        match self {
            Self::Cors => "cors.json",
            Self::Lifecycle => "lifecycle.json",
            Self::Tagging => "tagging.json",
            Self::Acl => "acl.json",
            Self::Policy => "policy.json",
            Self::PublicAccessBlock => "public-access-block.json",
            Self::OwnershipControls => "ownership-controls.json",
        }
    }
}

impl Store {
    /// Stores (replacing) a bucket sub-resource durably.
    pub async fn put_bucket_config(
        &self,
        bucket: &str,
        which: BucketConfig,
        json: Vec<u8>,
    ) -> StoreResult<()> {
        let bucket = self.bucket(bucket)?;
        let dir = bucket.paths.dir.join("config");
        let tmp = self.tmp.clone();
        blocking(move || {
            if !dir.exists() {
                std::fs::create_dir_all(&dir)?;
                if let Some(bucket_dir) = dir.parent() {
                    super::paths::fsync_dir(bucket_dir)?;
                }
            }
            write_atomic(&tmp, &dir.join(which.file_name()), &json)
        })
        .await?
        .map_err(StoreError::io("storing a bucket configuration"))
    }

    /// A bucket sub-resource, if set.
    pub async fn get_bucket_config(
        &self,
        bucket: &str,
        which: BucketConfig,
    ) -> StoreResult<Option<Vec<u8>>> {
        let bucket = self.bucket(bucket)?;
        let path = bucket.paths.dir.join("config").join(which.file_name());
        match blocking(move || std::fs::read(path)).await? {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::io("reading a bucket configuration")(err)),
        }
    }

    /// Removes a bucket sub-resource (absent is fine).
    pub async fn delete_bucket_config(&self, bucket: &str, which: BucketConfig) -> StoreResult<()> {
        let bucket = self.bucket(bucket)?;
        let dir = bucket.paths.dir.join("config");
        blocking(
            move || match std::fs::remove_file(dir.join(which.file_name())) {
                Ok(()) => super::paths::fsync_dir(&dir),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(err),
            },
        )
        .await?
        .map_err(StoreError::io("removing a bucket configuration"))
    }
}
