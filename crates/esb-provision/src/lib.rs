//! The provisioner: makes the buckets and tables of `resources.yml` exist, as the template
//! declares them, on whatever S3 and DynamoDB endpoints the box is configured with — the
//! embedded services or external ones. Idempotent: a second run reads everything back and
//! changes nothing; a changed template updates what can be updated in place and reports what
//! cannot.

pub mod buckets;
pub mod error;
pub mod report;
pub mod sdk;
pub mod tables;

pub use error::ProvisionError;
pub use report::{Outcome, Report, ResourceKind};
pub use sdk::{ServiceEndpoint, dynamodb_client, s3_client};

use esb_model::artifacts::ResourcesFile;

/// The endpoints to provision on; `None` when that service is not available.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub s3: Option<ServiceEndpoint>,
    pub dynamodb: Option<ServiceEndpoint>,
}

/// Provisions every bucket, then every table, stopping at the first failure.
pub async fn provision(
    resources: &ResourcesFile,
    targets: &Targets,
) -> Result<Report, ProvisionError> {
    let mut report = Report::default();
    if !resources.buckets.is_empty() {
        let endpoint = targets.s3.as_ref().ok_or(ProvisionError::NoEndpoint {
            what: "buckets",
            service: "S3",
        })?;
        let client = s3_client(endpoint);
        for bucket in &resources.buckets {
            report
                .outcomes
                .push(buckets::provision_bucket(&client, &endpoint.region, bucket).await?);
        }
    }
    if !resources.tables.is_empty() {
        let endpoint = targets
            .dynamodb
            .as_ref()
            .ok_or(ProvisionError::NoEndpoint {
                what: "tables",
                service: "DynamoDB",
            })?;
        let client = dynamodb_client(endpoint);
        for table in &resources.tables {
            report
                .outcomes
                .push(tables::provision_table(&client, table).await?);
        }
    }
    Ok(report)
}
