//! Bucket operations: ListBuckets (with S3's paging), CreateBucket (its ACL and object
//! ownership, and S3's answer for a bucket you already own, per region), DeleteBucket,
//! HeadBucket, GetBucketLocation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Response, S3Result, s3_error};

use super::acl::{acl_headers, is_public, set_bucket_acl};
use super::bucket_config::Ownership;
use super::convert::timestamp;
use crate::store::{BucketConfig, DEFAULT_REGION, Store, StoreError};

/// S3's largest ListBuckets page, also its page size when paging is asked for without
/// `max-buckets`.
const MAX_BUCKETS: usize = 10_000;

pub(crate) fn list(
    store: &Store,
    input: ListBucketsInput,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let limit = match input.max_buckets {
        None => MAX_BUCKETS,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_BUCKETS).contains(n))
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "Argument max-buckets must be an integer between 1 and 10000"
                )
            })?,
    };
    let after = match &input.continuation_token {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "The continuation token provided is incorrect"
                    )
                })?,
        ),
        None => None,
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut matching = store
        .list_buckets()
        .into_iter()
        .filter(|b| b.name.starts_with(&prefix))
        .filter(|b| after.as_ref().is_none_or(|a| b.name > *a))
        .peekable();
    let mut page = Vec::new();
    while page.len() < limit {
        let Some(b) = matching.next() else { break };
        page.push(b);
    }
    let next = matching
        .peek()
        .is_some()
        .then(|| page.last().map(|b| URL_SAFE_NO_PAD.encode(&b.name)))
        .flatten();
    let buckets = page
        .into_iter()
        .map(|b| Bucket {
            bucket_region: Some(b.region.unwrap_or_else(|| DEFAULT_REGION.to_owned())),
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_ms)),
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        continuation_token: next,
        owner: Some(super::acl::owner()),
        prefix: input.prefix,
    }))
}

/// The region a CreateBucket asks for: its `LocationConstraint`, else the region the request
/// was signed for, else us-east-1.
fn requested_region(input: &CreateBucketInput, signed_for: Option<&s3s::region::Region>) -> String {
    input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(|l| l.as_str().to_owned())
        .filter(|r| !r.is_empty())
        .or_else(|| signed_for.map(|r| r.as_str().to_owned()))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

pub(crate) async fn create(
    store: &Store,
    input: CreateBucketInput,
    signed_for: Option<&s3s::region::Region>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let region = requested_region(&input, signed_for);
    let acl = acl_headers!(input, write).acl()?;
    let ownership = input
        .object_ownership
        .clone()
        .map(|o| {
            Ownership::of(&OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: o,
                }],
            })
        })
        .transpose()?;
    if let Some(ownership) = &ownership {
        let enforced = ownership.enforced();
        if enforced && acl.as_ref().is_some_and(|a| a.len() > 1 || is_public(a)) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidBucketAclWithObjectOwnership,
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            ));
        }
    }
    match store.create_bucket_in(&input.bucket, Some(&region)).await {
        Ok(()) => {
            if let Some(ownership) = &ownership {
                ownership.store(store, &input.bucket).await?;
            }
        }
        // S3 answers 200 to the owner re-creating a us-east-1 bucket in us-east-1 (legacy
        // behaviour, which also resets the bucket's ACL) and 409 BucketAlreadyOwnedByYou
        // everywhere else.
        Err(StoreError::BucketAlreadyOwnedByYou(_))
            if region == DEFAULT_REGION && store.head_bucket(&input.bucket)?.region.is_none() =>
        {
            if acl.is_none() {
                store
                    .delete_bucket_config(&input.bucket, BucketConfig::Acl)
                    .await?;
            }
        }
        Err(err) => return Err(err.into()),
    }
    if let Some(acl) = &acl {
        set_bucket_acl(store, &input.bucket, acl).await?;
    }
    let location = format!("/{}", input.bucket);
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(location),
    }))
}

pub(crate) async fn delete(
    store: &Store,
    input: DeleteBucketInput,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    store.delete_bucket(&input.bucket).await?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub(crate) fn head(
    store: &Store,
    input: HeadBucketInput,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let bucket = store.head_bucket(&input.bucket)?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(bucket.region.unwrap_or_else(|| DEFAULT_REGION.to_owned())),
        ..HeadBucketOutput::default()
    }))
}

/// The bucket's region; S3 answers an empty `LocationConstraint` for us-east-1.
pub(crate) fn location(
    store: &Store,
    input: GetBucketLocationInput,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let bucket = store.head_bucket(&input.bucket)?;
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint: bucket.region.map(BucketLocationConstraint::from),
    }))
}
