//! Bucket sub-resources: CORS, lifecycle, bucket tagging, the public access block and the
//! ownership controls stored as given and returned as stored (s3s's own types, kept as JSON;
//! `access.rs` acts on the last two), and the versioning state (kept by the store, which acts
//! on it).

use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Response, S3Result, s3_error};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::tagging;
use crate::store::{BucketConfig, Store, VersioningState};

async fn put<T: Serialize>(
    store: &Store,
    bucket: &str,
    which: BucketConfig,
    value: &T,
) -> S3Result<()> {
    let json = serde_json::to_vec(value).map_err(|e| s3_error!(e, InternalError))?;
    Ok(store.put_bucket_config(bucket, which, json).await?)
}

async fn get<T: DeserializeOwned>(
    store: &Store,
    bucket: &str,
    which: BucketConfig,
    missing: S3ErrorCode,
) -> S3Result<T> {
    let json = store
        .get_bucket_config(bucket, which)
        .await?
        .ok_or_else(|| S3Error::new(missing))?;
    serde_json::from_slice(&json).map_err(|e| s3_error!(e, InternalError))
}

pub(crate) async fn put_cors(
    store: &Store,
    input: PutBucketCorsInput,
) -> S3Result<S3Response<PutBucketCorsOutput>> {
    put(
        store,
        &input.bucket,
        BucketConfig::Cors,
        &input.cors_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketCorsOutput::default()))
}

pub(crate) async fn get_cors(
    store: &Store,
    input: GetBucketCorsInput,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let cfg: CORSConfiguration = get(
        store,
        &input.bucket,
        BucketConfig::Cors,
        S3ErrorCode::NoSuchCORSConfiguration,
    )
    .await?;
    Ok(S3Response::new(GetBucketCorsOutput {
        cors_rules: Some(cfg.cors_rules),
    }))
}

pub(crate) async fn delete_cors(
    store: &Store,
    input: DeleteBucketCorsInput,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::Cors)
        .await?;
    Ok(S3Response::new(DeleteBucketCorsOutput::default()))
}

pub(crate) async fn put_lifecycle(
    store: &Store,
    input: PutBucketLifecycleConfigurationInput,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let cfg = input
        .lifecycle_configuration
        .ok_or_else(|| s3_error!(MalformedXML, "missing LifecycleConfiguration"))?;
    put(store, &input.bucket, BucketConfig::Lifecycle, &cfg).await?;
    Ok(S3Response::new(
        PutBucketLifecycleConfigurationOutput::default(),
    ))
}

pub(crate) async fn get_lifecycle(
    store: &Store,
    input: GetBucketLifecycleConfigurationInput,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let cfg: BucketLifecycleConfiguration = get(
        store,
        &input.bucket,
        BucketConfig::Lifecycle,
        S3ErrorCode::NoSuchLifecycleConfiguration,
    )
    .await?;
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(cfg.rules),
        ..GetBucketLifecycleConfigurationOutput::default()
    }))
}

pub(crate) async fn delete_lifecycle(
    store: &Store,
    input: DeleteBucketLifecycleInput,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::Lifecycle)
        .await?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
}

pub(crate) async fn put_tagging(
    store: &Store,
    input: PutBucketTaggingInput,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let tags = tagging::from_tag_set(input.tagging.tag_set)?;
    put(store, &input.bucket, BucketConfig::Tagging, &tags).await?;
    Ok(S3Response::new(PutBucketTaggingOutput::default()))
}

pub(crate) async fn get_tagging(
    store: &Store,
    input: GetBucketTaggingInput,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let tags: std::collections::BTreeMap<String, String> = get(
        store,
        &input.bucket,
        BucketConfig::Tagging,
        S3ErrorCode::NoSuchTagSet,
    )
    .await?;
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: tagging::to_tag_set(&tags),
    }))
}

pub(crate) async fn delete_tagging(
    store: &Store,
    input: DeleteBucketTaggingInput,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::Tagging)
        .await?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}

pub(crate) fn get_versioning(
    store: &Store,
    input: GetBucketVersioningInput,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let status = match store.bucket_versioning(&input.bucket)? {
        VersioningState::Unversioned => None,
        VersioningState::Enabled => Some(BucketVersioningStatus::ENABLED),
        VersioningState::Suspended => Some(BucketVersioningStatus::SUSPENDED),
    };
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: status.map(BucketVersioningStatus::from_static),
        ..GetBucketVersioningOutput::default()
    }))
}

pub(crate) async fn put_versioning(
    store: &Store,
    input: PutBucketVersioningInput,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let config = input.versioning_configuration;
    if config
        .mfa_delete
        .as_ref()
        .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
    {
        return Err(s3_error!(NotImplemented, "MFA delete is not supported"));
    }
    let state = match config.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(BucketVersioningStatus::ENABLED) => VersioningState::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => VersioningState::Suspended,
        // S3 accepts a configuration without Status and changes nothing.
        None => {
            store.head_bucket(&input.bucket)?;
            return Ok(S3Response::new(PutBucketVersioningOutput::default()));
        }
        Some(other) => {
            return Err(s3_error!(
                MalformedXML,
                "Unknown versioning status {other:?}"
            ));
        }
    };
    store.put_bucket_versioning(&input.bucket, state).await?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

pub(crate) async fn put_public_access_block(
    store: &Store,
    input: PutPublicAccessBlockInput,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let cfg = input.public_access_block_configuration;
    put(store, &input.bucket, BucketConfig::PublicAccessBlock, &cfg).await?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

pub(crate) async fn get_public_access_block(
    store: &Store,
    input: GetPublicAccessBlockInput,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let missing = S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into());
    let cfg: PublicAccessBlockConfiguration = get(
        store,
        &input.bucket,
        BucketConfig::PublicAccessBlock,
        missing,
    )
    .await
    .map_err(|mut err| {
        if err.code().as_str() == "NoSuchPublicAccessBlockConfiguration" {
            err.set_status_code(http::StatusCode::NOT_FOUND);
            err.set_message("The public access block configuration was not found");
        }
        err
    })?;
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(cfg),
    }))
}

pub(crate) async fn delete_public_access_block(
    store: &Store,
    input: DeletePublicAccessBlockInput,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::PublicAccessBlock)
        .await?;
    Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
}

/// The object ownership setting as stored (s3s's type has no serde).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ownership {
    /// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`
    pub(crate) object_ownership: String,
}

impl Ownership {
    /// The one rule of `controls`, naming one of S3's three settings (else `MalformedXML`).
    pub(crate) fn of(controls: &OwnershipControls) -> S3Result<Self> {
        let known = [
            ObjectOwnership::BUCKET_OWNER_ENFORCED,
            ObjectOwnership::BUCKET_OWNER_PREFERRED,
            ObjectOwnership::OBJECT_WRITER,
        ];
        match controls.rules.as_slice() {
            [rule] if known.contains(&rule.object_ownership.as_str()) => Ok(Self {
                object_ownership: rule.object_ownership.as_str().to_owned(),
            }),
            _ => Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            )),
        }
    }

    /// Whether ACLs are off (`BucketOwnerEnforced`).
    pub(crate) fn enforced(&self) -> bool {
        self.object_ownership == ObjectOwnership::BUCKET_OWNER_ENFORCED
    }

    /// Stores it as the bucket's setting.
    pub(crate) async fn store(&self, store: &Store, bucket: &str) -> S3Result<()> {
        put(store, bucket, BucketConfig::OwnershipControls, self).await
    }
}

pub(crate) async fn put_ownership(
    store: &Store,
    input: PutBucketOwnershipControlsInput,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    Ownership::of(&input.ownership_controls)?
        .store(store, &input.bucket)
        .await?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
}

pub(crate) async fn get_ownership(
    store: &Store,
    input: GetBucketOwnershipControlsInput,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let cfg: Ownership = get(
        store,
        &input.bucket,
        BucketConfig::OwnershipControls,
        S3ErrorCode::OwnershipControlsNotFoundError,
    )
    .await
    .map_err(|mut err| {
        if err.code() == &S3ErrorCode::OwnershipControlsNotFoundError {
            err.set_message("The bucket ownership controls were not found");
        }
        err
    })?;
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from(cfg.object_ownership),
            }],
        }),
    }))
}

pub(crate) async fn delete_ownership(
    store: &Store,
    input: DeleteBucketOwnershipControlsInput,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::OwnershipControls)
        .await?;
    Ok(S3Response::new(
        DeleteBucketOwnershipControlsOutput::default(),
    ))
}
