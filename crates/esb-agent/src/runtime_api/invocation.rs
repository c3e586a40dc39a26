//! Invocation and outcome types exchanged between the agent and one worker's Runtime API.

use bytes::Bytes;

use super::ResponseStream;

/// One invocation handed to a worker through `GET /2018-06-01/runtime/invocation/next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`; also the `{id}` of the response/error routes.
    pub request_id: String,
    /// The event bytes, returned as the `/next` response body.
    pub payload: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: deadline in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`, sent when set.
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`, sent only when it is valid JSON.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`, sent only when it is valid JSON.
    pub cognito_identity: Option<String>,
}

/// How an invocation ended, as reported by the worker.
#[derive(Debug, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// `POST /runtime/invocation/{id}/response`.
    Response {
        /// The function result.
        body: Bytes,
        /// The `Content-Type` the runtime sent, if any.
        content_type: Option<String>,
    },
    /// `POST /runtime/invocation/{id}/response` with
    /// `Lambda-Runtime-Function-Response-Mode: streaming`: the body follows as it arrives.
    Streaming {
        /// The `Content-Type` the runtime sent, if any.
        content_type: Option<String>,
        /// The body chunks, ending in success or in the error of the runtime's trailers.
        stream: ResponseStream,
    },
    /// `POST /runtime/invocation/{id}/error`, or a response over the size limit
    /// (`Function.ResponseSizeTooLarge`).
    Error {
        /// `Lambda-Runtime-Function-Error-Type`, if sent.
        error_type: Option<String>,
        /// The runtime's error JSON.
        body: Bytes,
    },
    /// `POST /runtime/init/error`: the runtime failed to initialise.
    InitError {
        /// `Lambda-Runtime-Function-Error-Type`, if sent.
        error_type: Option<String>,
        /// The runtime's error JSON.
        body: Bytes,
    },
}
