//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.

use s3s::dto::*;
use s3s::{S3Response, S3Result};

use super::convert::timestamp;
use crate::store::Store;

pub(crate) fn list(
    store: &Store,
    _input: ListBucketsInput,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let buckets = store
        .list_buckets()
        .into_iter()
        .map(|b| Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_ms)),
            ..Bucket::default()
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(super::listing::owner()),
        ..ListBucketsOutput::default()
    }))
}

pub(crate) async fn create(
    store: &Store,
    input: CreateBucketInput,
) -> S3Result<S3Response<CreateBucketOutput>> {
    store.create_bucket(&input.bucket).await?;
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
    store.head_bucket(&input.bucket)?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub(crate) fn location(
    store: &Store,
    input: GetBucketLocationInput,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    store.head_bucket(&input.bucket)?;
    Ok(S3Response::new(GetBucketLocationOutput::default()))
}
