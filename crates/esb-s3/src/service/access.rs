//! Who may do what. Every signed request comes from the store's one owner (there is one key
//! pair) and may do everything. An unsigned request is served exactly when S3 would serve it:
//! the bucket must exist (else 404 `NoSuchBucket`), and the bucket policy (an explicit deny
//! wins), else the bucket's or object's ACL, must allow the operation to everyone — subject
//! to the bucket's public access block (`IgnorePublicAcls`, `RestrictPublicBuckets`) and to
//! `BucketOwnerEnforced`, which turns ACLs off. A read of a missing object is 404 `NoSuchKey`
//! only when everyone may list the bucket, else 403, as in S3. Everything else is 403
//! `AccessDenied`.

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::PublicAccessBlockConfiguration;
use s3s::path::S3Path;
use s3s::{S3Error, S3ErrorCode, S3Result};

use super::acl::{ALL_USERS, access_denied};
use super::bucket_config::Ownership;
use super::policy::Policy;
use crate::store::{Acl, BucketConfig, Grantee, ObjectMeta, Permission, Store};

/// The public access block settings of a bucket (all off when it has none).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Block {
    pub(crate) block_public_acls: bool,
    pub(crate) ignore_public_acls: bool,
    pub(crate) block_public_policy: bool,
    pub(crate) restrict_public_buckets: bool,
}

/// Everything about a bucket that decides access.
#[derive(Debug, Default)]
pub(crate) struct BucketAccess {
    /// the bucket's ACL (`None`: private)
    pub(crate) acl: Option<Acl>,
    /// the bucket policy, if it has one
    pub(crate) policy: Option<Policy>,
    /// public access block
    pub(crate) block: Block,
    /// `ObjectOwnership` is `BucketOwnerEnforced`: ACLs are off
    pub(crate) acls_disabled: bool,
}

async fn config<T: serde::de::DeserializeOwned>(
    store: &Store,
    bucket: &str,
    which: BucketConfig,
) -> S3Result<Option<T>> {
    let Some(json) = store.get_bucket_config(bucket, which).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| s3_error_internal(&e))
}

fn s3_error_internal(err: &dyn std::fmt::Display) -> S3Error {
    tracing::error!(%err, "unreadable bucket access configuration");
    S3Error::with_message(
        S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
}

impl BucketAccess {
    /// Reads the bucket's ACL, policy, public access block and ownership controls
    /// (`NoSuchBucket` if it does not exist).
    pub(crate) async fn load(store: &Store, bucket: &str) -> S3Result<Self> {
        store.head_bucket(bucket)?;
        let acl = config::<Acl>(store, bucket, BucketConfig::Acl).await?;
        let policy = match store
            .get_bucket_config(bucket, BucketConfig::Policy)
            .await?
        {
            Some(text) => Policy::parse(&String::from_utf8_lossy(&text), bucket).ok(),
            None => None,
        };
        let block = config::<PublicAccessBlockConfiguration>(
            store,
            bucket,
            BucketConfig::PublicAccessBlock,
        )
        .await?
        .map(|c| Block {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        })
        .unwrap_or_default();
        let acls_disabled = config::<Ownership>(store, bucket, BucketConfig::OwnershipControls)
            .await?
            .is_some_and(|o| o.enforced());
        Ok(Self {
            acl,
            policy,
            block,
            acls_disabled,
        })
    }

    /// What the policy says to everyone about `action` on `resource`, unless
    /// `RestrictPublicBuckets` shuts a public policy out.
    fn policy(&self, action: &str, resource: &str) -> Option<bool> {
        let policy = self.policy.as_ref()?;
        if self.block.restrict_public_buckets && policy.is_public() {
            return None;
        }
        policy.anonymous(action, resource)
    }

    /// Whether `acl` gives everyone `wanted`, unless ACLs are off or public ones ignored.
    fn acl_allows(&self, acl: Option<&Acl>, wanted: Permission) -> bool {
        if self.acls_disabled || self.block.ignore_public_acls {
            return false;
        }
        acl.is_some_and(|acl| {
            acl.iter().any(|g| {
                matches!(&g.grantee, Grantee::Group { uri } if uri == ALL_USERS)
                    && g.permission.covers(wanted)
            })
        })
    }

    /// Whether everyone may do `action` on the bucket itself (ACL permission `acl`).
    fn bucket_allows(&self, bucket: &str, action: &str, acl: Option<Permission>) -> bool {
        match self.policy(action, &format!("arn:aws:s3:::{bucket}")) {
            Some(decision) => decision,
            None => acl.is_some_and(|p| self.acl_allows(self.acl.as_ref(), p)),
        }
    }

    /// Whether everyone may do `action` on `key` (ACL permission `acl` of the object, or of
    /// the bucket for writes).
    fn object_allows(
        &self,
        bucket: &str,
        key: &str,
        action: &str,
        acl: Option<(Option<&Acl>, Permission)>,
    ) -> bool {
        match self.policy(action, &format!("arn:aws:s3:::{bucket}/{key}")) {
            Some(decision) => decision,
            None => acl.is_some_and(|(acl, p)| self.acl_allows(acl, p)),
        }
    }
}

/// What an operation needs, for an anonymous request.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// an action on the bucket, and the bucket ACL permission that also gives it
    Bucket(&'static str, Option<Permission>),
    /// an action on an existing object, and the object ACL permission that also gives it
    Object(&'static str, Option<Permission>),
    /// an action on a key that need not exist (writes), given also by the bucket ACL's WRITE
    Write(&'static str),
}

/// The IAM action and ACL permission of each operation an anonymous request may be allowed;
/// `None` for the rest (they are the owner's alone).
fn need(op: &str, versioned: bool) -> Option<Need> {
    use Permission::{Read, ReadAcp, WriteAcp};
    let read = if versioned {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    Some(match op {
        "GetObject" | "HeadObject" => Need::Object(read, Some(Read)),
        "GetObjectAcl" => Need::Object("s3:GetObjectAcl", Some(ReadAcp)),
        "PutObjectAcl" => Need::Object("s3:PutObjectAcl", Some(WriteAcp)),
        "GetObjectTagging" => Need::Object("s3:GetObjectTagging", None),
        "GetObjectAttributes" => Need::Object("s3:GetObjectAttributes", None),
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            Need::Write("s3:PutObject")
        }
        "AbortMultipartUpload" => Need::Write("s3:AbortMultipartUpload"),
        "DeleteObject" => Need::Write("s3:DeleteObject"),
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => Need::Bucket("s3:ListBucket", Some(Read)),
        "ListObjectVersions" => Need::Bucket("s3:ListBucketVersions", Some(Read)),
        "ListMultipartUploads" => Need::Bucket("s3:ListBucketMultipartUploads", Some(Read)),
        "GetBucketLocation" => Need::Bucket("s3:GetBucketLocation", None),
        "GetBucketAcl" => Need::Bucket("s3:GetBucketAcl", Some(ReadAcp)),
        "PutBucketAcl" => Need::Bucket("s3:PutBucketAcl", Some(WriteAcp)),
        _ => return None,
    })
}

/// The access check s3s runs before each operation.
#[derive(Debug, Clone)]
pub struct EsbAccess {
    store: Arc<Store>,
}

impl EsbAccess {
    /// Checks requests against `store`'s buckets.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    async fn anonymous(
        &self,
        op: &str,
        bucket: &str,
        key: Option<&str>,
        version_id: Option<&str>,
    ) -> S3Result<()> {
        let access = BucketAccess::load(&self.store, bucket).await?;
        let allowed = match (need(op, version_id.is_some()), key) {
            (None, _) => false,
            (Some(Need::Bucket(action, acl)), _) => access.bucket_allows(bucket, action, acl),
            (Some(Need::Write(action)), Some(key)) => {
                match access.policy(action, &format!("arn:aws:s3:::{bucket}/{key}")) {
                    Some(decision) => decision,
                    None => access.acl_allows(access.acl.as_ref(), Permission::Write),
                }
            }
            (Some(Need::Object(action, acl)), Some(key)) => {
                match self.store.head_object_version(bucket, key, version_id) {
                    Ok(meta) => {
                        let meta: &ObjectMeta = &meta;
                        access.object_allows(
                            bucket,
                            key,
                            action,
                            acl.map(|p| (meta.acl.as_ref(), p)),
                        )
                    }
                    // A missing object (or a delete marker): S3 tells only those who may
                    // list the bucket that it is missing (the handler answers NoSuchKey).
                    Err(_) => {
                        access.policy(action, &format!("arn:aws:s3:::{bucket}/{key}"))
                            != Some(false)
                            && access.bucket_allows(bucket, "s3:ListBucket", Some(Permission::Read))
                    }
                }
            }
            (Some(_), None) => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(access_denied())
        }
    }
}

#[async_trait::async_trait]
impl S3Access for EsbAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => return Err(access_denied()),
            S3Path::Bucket { bucket } => (bucket.to_string(), None),
            S3Path::Object { bucket, key } => (bucket.to_string(), Some(key.to_string())),
        };
        let version_id = cx.uri().query().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == "versionId")
                .map(|(_, v)| v.to_owned())
        });
        let op = cx.s3_op().name();
        self.anonymous(op, &bucket, key.as_deref(), version_id.as_deref())
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::Grant;

    fn public_read() -> Acl {
        vec![Grant {
            grantee: Grantee::Group {
                uri: ALL_USERS.into(),
            },
            permission: Permission::Read,
        }]
    }

    #[test]
    fn acls_policies_and_blocks() {
        let mut access = BucketAccess {
            acl: Some(public_read()),
            ..BucketAccess::default()
        };
        let acl = Some((Some(&public_read()), Permission::Read));
        assert!(access.object_allows("b", "k", "s3:GetObject", acl));
        assert!(access.bucket_allows("b", "s3:ListBucket", Some(Permission::Read)));
        assert!(!access.bucket_allows("b", "s3:ListBucket", Some(Permission::Write)));
        access.block.ignore_public_acls = true;
        assert!(!access.object_allows("b", "k", "s3:GetObject", acl));
        access.block.ignore_public_acls = false;
        access.acls_disabled = true;
        assert!(!access.object_allows("b", "k", "s3:GetObject", acl));
        let policy = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        access.policy = Some(Policy::parse(policy, "b").unwrap());
        assert!(access.object_allows("b", "k", "s3:GetObject", None));
        access.block.restrict_public_buckets = true;
        assert!(!access.object_allows("b", "k", "s3:GetObject", None));
    }
}
