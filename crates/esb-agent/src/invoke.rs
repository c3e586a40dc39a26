//! The invoke vocabulary every front end shares (the gateway, the Invoke API, `esb invoke`):
//! what an invocation asks, what it gives back, and how it can fail. Driver-neutral: no front
//! end needs to know where a worker runs.

use std::time::Duration;

use bytes::Bytes;

use crate::runtime_api::RuntimeApiError;
pub use crate::worker::BodyStream;

/// What one invocation asks of a worker.
#[derive(Debug, Clone)]
pub struct InvokeInput {
    pub request_id: String,
    pub payload: Bytes,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

/// `X-Amz-Function-Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionError {
    Unhandled,
}

impl FunctionError {
    pub fn as_str(self) -> &'static str {
        match self {
            FunctionError::Unhandled => "Unhandled",
        }
    }
}

/// The result of one invocation on one worker.
#[derive(Debug)]
pub struct InvokeResult {
    /// The result body; empty when the result is streamed.
    pub payload: Bytes,
    /// The body of a streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`),
    /// read with [`BodyStream::next`]; the invocation ends when the stream does.
    pub stream: Option<BodyStream>,
    pub content_type: Option<String>,
    pub function_error: Option<FunctionError>,
    /// False when the worker must be discarded (timeout, crash, init failure).
    pub reusable: bool,
    /// The last 4 KB of the invocation's log.
    pub log_tail: String,
    pub duration: Duration,
    pub init_duration: Option<Duration>,
    /// A platform line for the log (e.g. the timeout message), before `END`.
    pub(crate) platform_message: Option<String>,
}

/// A worker could not run an invocation at all (as opposed to the function failing, which is
/// an [`InvokeResult`] with a [`FunctionError`]).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start a worker for {function}: {message}")]
    Start { function: String, message: String },
    #[error(transparent)]
    RuntimeApi(#[from] RuntimeApiError),
}
