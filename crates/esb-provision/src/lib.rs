//! The provisioner: makes the buckets and tables of `resources.yml` exist, as the template
//! declares them, on whatever S3 and DynamoDB endpoints the box is configured with.

pub mod sdk;

pub use sdk::{ServiceEndpoint, dynamodb_client, s3_client};
