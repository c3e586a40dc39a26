//! What an invocation gives the caller, shaped as AWS Lambda shapes it: a handler error is a
//! result with `X-Amz-Function-Error: Unhandled` and the runtime's error JSON; a timeout,
//! crash or oversized response is the platform's error JSON.

use std::time::Duration;

use bytes::Bytes;

use super::body::BodyStream;
use crate::driver::Exit;
use crate::invoke::{FunctionError, InvokeResult};
use crate::runtime_api::{InvocationOutcome, ResponseStream};

fn result(
    payload: Bytes,
    content_type: Option<String>,
    error: bool,
    reusable: bool,
) -> InvokeResult {
    InvokeResult {
        payload,
        stream: None,
        content_type,
        function_error: error.then_some(FunctionError::Unhandled),
        reusable,
        log_tail: String::new(),
        duration: Duration::ZERO,
        init_duration: None,
        platform_message: None,
    }
}

/// The result of an outcome the runtime reported; `stream` wraps a streamed body.
pub(crate) fn completed(
    outcome: InvocationOutcome,
    stream: impl FnOnce(ResponseStream) -> BodyStream,
) -> InvokeResult {
    let json = || Some("application/json".to_owned());
    match outcome {
        InvocationOutcome::Response { body, content_type } => {
            result(body, content_type, false, true)
        }
        InvocationOutcome::Streaming {
            content_type,
            stream: inner,
        } => InvokeResult {
            stream: Some(stream(inner)),
            ..result(Bytes::new(), content_type, false, true)
        },
        InvocationOutcome::Error { body, .. } => result(body, json(), true, true),
        InvocationOutcome::InitError { body, .. } => result(body, json(), true, false),
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
