//! HTTP routes of the Runtime API: `/next`, `/{id}/response`, `/{id}/error`, `/init/error`.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::state::{IdStatus, Shared};
use super::{Invocation, InvocationOutcome, MAX_RESPONSE_BYTES};

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// Header carrying the runtime's error type on the error routes.
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// Past the limit, the rest of an oversize body is read and dropped up to this many bytes so
/// the client sees the 413 instead of a reset; beyond it the connection is simply closed.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

const SIZE_ERROR_TYPE: &str = "Function.ResponseSizeTooLarge";

type Reply = Response<Full<Bytes>>;

/// Routes one request.
pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET, NEXT_PATH) => next(shared).await,
        (&Method::POST, INIT_ERROR_PATH) => init_error(shared, req).await,
        (&Method::POST, rest) => match rest
            .strip_prefix(INVOCATION_PREFIX)
            .and_then(|rest| rest.split_once('/'))
        {
            Some((id, "response")) if !id.is_empty() && id != "next" => {
                post_result(shared, id, Kind::Response, req).await
            }
            Some((id, "error")) if !id.is_empty() && id != "next" => {
                post_result(shared, id, Kind::Error, req).await
            }
            _ => not_found(),
        },
        _ => not_found(),
    }
}

async fn next(shared: &Shared) -> Reply {
    let Some(invocation) = shared.next().await else {
        return error_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "the Runtime API is shutting down",
        );
    };
    next_response(invocation)
}

fn next_response(invocation: Invocation) -> Reply {
    let mut response = Response::new(Full::new(invocation.payload));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        &invocation.invoked_function_arn,
    );
    if let Some(trace_id) = &invocation.trace_id {
        set("lambda-runtime-trace-id", trace_id);
    }
    if let Some(context) = invocation.client_context.as_deref().filter(|v| is_json(v)) {
        set("lambda-runtime-client-context", context);
    }
    if let Some(identity) = invocation
        .cognito_identity
        .as_deref()
        .filter(|v| is_json(v))
    {
        set("lambda-runtime-cognito-identity", identity);
    }
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn is_json(value: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(value).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Response,
    Error,
}

async fn post_result(shared: &Shared, id: &str, kind: Kind, req: Request<Incoming>) -> Reply {
    // Refuse bad ids before reading a possibly large body.
    if let Some(reply) = id_rejection(shared.status(id), id) {
        return reply;
    }
    let content_type = header_string(&req, CONTENT_TYPE.as_str());
    let error_type = header_string(&req, ERROR_TYPE_HEADER);
    let outcome = match read_body(req.into_body()).await {
        Ok(body) => match kind {
            Kind::Response => InvocationOutcome::Response { body, content_type },
            Kind::Error => InvocationOutcome::Error { error_type, body },
        },
        Err(BodyError::TooLarge) => {
            // Complete the invocation as AWS does, then tell the runtime.
            let _ = shared.complete(id, size_error_outcome());
            return too_large();
        }
        Err(BodyError::Read) => {
            return error_json(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "the request body could not be read",
            );
        }
    };
    match shared.complete(id, outcome) {
        Ok(()) => accepted(),
        Err(status) => id_rejection(status, id).unwrap_or_else(|| {
            error_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "the invocation could not be completed",
            )
        }),
    }
}

async fn init_error(shared: &Shared, req: Request<Incoming>) -> Reply {
    let error_type = header_string(&req, ERROR_TYPE_HEADER);
    match read_body(req.into_body()).await {
        Ok(body) => {
            shared.init_error(InvocationOutcome::InitError { error_type, body });
            accepted()
        }
        Err(BodyError::TooLarge) => {
            shared.init_error(InvocationOutcome::InitError {
                error_type,
                body: Bytes::new(),
            });
            too_large()
        }
        Err(BodyError::Read) => error_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the request body could not be read",
        ),
    }
}

fn id_rejection(status: IdStatus, id: &str) -> Option<Reply> {
    match status {
        IdStatus::Current => None,
        IdStatus::Answered => Some(error_json(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            &format!("invocation {id} has already been answered"),
        )),
        IdStatus::Unknown => Some(error_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("invalid request id {id}"),
        )),
    }
}

fn header_string(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    Read,
}

/// Reads a body of at most [`MAX_RESPONSE_BYTES`]; an oversize body is drained, not kept.
async fn read_body(mut body: Incoming) -> Result<Bytes, BodyError> {
    let declared = body.size_hint().exact();
    if declared.is_some_and(|len| len > DRAIN_LIMIT_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut collected = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Read)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT_BYTES {
            return Err(BodyError::TooLarge);
        }
        if seen <= MAX_RESPONSE_BYTES {
            collected.extend_from_slice(&data);
        }
    }
    if seen > MAX_RESPONSE_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(collected.freeze())
}

fn size_error_outcome() -> InvocationOutcome {
    let body = serde_json::json!({
        "errorMessage": format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
        "errorType": SIZE_ERROR_TYPE,
    });
    InvocationOutcome::Error {
        error_type: Some(SIZE_ERROR_TYPE.to_owned()),
        body: Bytes::from(body.to_string()),
    }
}

fn too_large() -> Reply {
    error_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("response payload exceeds the maximum of {MAX_RESPONSE_BYTES} bytes"),
    )
}

fn accepted() -> Reply {
    json(StatusCode::ACCEPTED, &serde_json::json!({ "status": "OK" }))
}

fn not_found() -> Reply {
    error_json(StatusCode::NOT_FOUND, "NotFound", "not found")
}

fn error_json(status: StatusCode, error_type: &str, message: &str) -> Reply {
    json(
        status,
        &serde_json::json!({ "errorMessage": message, "errorType": error_type }),
    )
}

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let body = Bytes::from(value.to_string());
    let mut response = Response::new(Full::new(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    response
}
