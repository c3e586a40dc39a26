//! Bucket operations: ListBuckets (with S3's paging), CreateBucket (S3's answer for a bucket
//! you already own, per region), DeleteBucket, HeadBucket, GetBucketLocation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3Response, S3Result, s3_error};

use super::convert::timestamp;
use crate::store::{DEFAULT_REGION, Store, StoreError};

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
        owner: Some(super::listing::owner()),
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
    match store.create_bucket_in(&input.bucket, Some(&region)).await {
        Ok(()) => {}
        // S3 answers 200 to the owner re-creating a us-east-1 bucket in us-east-1 (legacy
        // behaviour) and 409 BucketAlreadyOwnedByYou everywhere else.
        Err(StoreError::BucketAlreadyOwnedByYou(_))
            if region == DEFAULT_REGION && store.head_bucket(&input.bucket)?.region.is_none() => {}
        Err(err) => return Err(err.into()),
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
