//! Why a provisioning run stopped, with the SDK's whole error chain in the message.

use std::error::Error;

use aws_sdk_s3::error::DisplayErrorContext;

/// A failure that stops the run: the endpoint refused or could not be reached. Differences
/// that merely cannot be applied are not errors; they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("bucket {name} ({logical_id}): {action} failed: {message}")]
    Bucket {
        name: String,
        logical_id: String,
        action: &'static str,
        message: String,
    },
    #[error("table {name} ({logical_id}): {action} failed: {message}")]
    Table {
        name: String,
        logical_id: String,
        action: &'static str,
        message: String,
    },
    #[error("table {name} ({logical_id}): still not ACTIVE after {seconds} s")]
    NotActive {
        name: String,
        logical_id: String,
        seconds: u64,
    },
    #[error("the template declares {what} but no {service} endpoint is configured")]
    NoEndpoint {
        what: &'static str,
        service: &'static str,
    },
}

/// The error and everything under it, on one line: "dispatch failure: io error: Connection
/// refused" says more than the SDK's top-level "dispatch failure".
pub(crate) fn describe(error: &(impl Error + 'static)) -> String {
    DisplayErrorContext(error).to_string()
}
