//! The box's default key pair and region: what the embedded S3 and DynamoDB accept, what
//! functions get as their AWS credentials and what the provisioner signs with, until
//! `[credentials]` in `esb.toml` says otherwise. One definition, so the roles cannot drift
//! apart.

pub const DEFAULT_ACCESS_KEY_ID: &str = "esb";
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "esb-local-secret";
pub const DEFAULT_REGION: &str = "us-east-1";
