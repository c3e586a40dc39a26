//! What an invocation gives the caller, shaped as AWS Lambda shapes it: a handler error is a
//! result with `X-Amz-Function-Error: Unhandled` and the runtime's error JSON; a timeout,
//! crash or oversized response is the platform's error JSON.

use std::time::Duration;

use bytes::Bytes;

use super::child::Exit;
use crate::runtime_api::InvocationOutcome;

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
#[derive(Debug, Clone)]
pub struct InvokeResult {
    pub payload: Bytes,
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

fn result(
    payload: Bytes,
    content_type: Option<String>,
    error: bool,
    reusable: bool,
) -> InvokeResult {
    InvokeResult {
        payload,
        content_type,
        function_error: error.then_some(FunctionError::Unhandled),
        reusable,
        log_tail: String::new(),
        duration: Duration::ZERO,
        init_duration: None,
        platform_message: None,
    }
}

pub(crate) fn completed(outcome: InvocationOutcome) -> InvokeResult {
    match outcome {
        InvocationOutcome::Response { body, content_type } => {
            result(body, content_type, false, true)
        }
        InvocationOutcome::Error { body, .. } => {
            let reusable = true;
            result(body, Some("application/json".into()), true, reusable)
        }
        InvocationOutcome::InitError { body, .. } => {
            result(body, Some("application/json".into()), true, false)
        }
    }
}

pub(crate) fn timed_out(request_id: &str, timeout_secs: u32) -> InvokeResult {
    let message =
        format!("RequestId: {request_id} Error: Task timed out after {timeout_secs}.00 seconds");
    platform_error("Sandbox.Timedout", message)
}

/// The runtime process ended during an invocation; a kill by the memory limit is
/// `Runtime.OutOfMemory`, as on AWS.
pub(crate) fn crashed(request_id: &str, exit: &Exit, oom_killed: bool) -> InvokeResult {
    let message = format!("RequestId: {request_id} Error: Runtime exited with error: {exit}");
    let error_type = if oom_killed {
        "Runtime.OutOfMemory"
    } else {
        "Runtime.ExitError"
    };
    platform_error(error_type, message)
}

fn platform_error(error_type: &str, message: String) -> InvokeResult {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
    let mut result = result(
        Bytes::from(body.to_string()),
        Some("application/json".into()),
        true,
        false,
    );
    result.platform_message = Some(message);
    result
}
