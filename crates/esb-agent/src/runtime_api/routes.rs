//! HTTP routes of the Runtime API (the Extensions API's are in `extension_routes`): `/next`, `/{id}/response` (buffered or streamed),
//! `/{id}/error`, `/init/error`.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::extension_routes;
use super::state::{IdStatus, Shared};
use super::stream::{MAX_STREAM_BYTES, ResponseStream, StreamError};
use super::{Invocation, InvocationOutcome, MAX_RESPONSE_BYTES};

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// Header carrying the runtime's error type on the error routes.
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// `streaming` in this header makes a response a stream.
const RESPONSE_MODE_HEADER: &str = "lambda-runtime-function-response-mode";

/// Trailer with the base64 error JSON of a stream that failed midway.
const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";

const TRUNCATED_ERROR_TYPE: &str = "Runtime.TruncatedResponse";

/// Past the limit, the rest of an oversize body is read and dropped up to this many bytes so
/// the client sees the 413 instead of a reset; beyond it the connection is simply closed.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

const SIZE_ERROR_TYPE: &str = "Function.ResponseSizeTooLarge";

type Reply = Response<Full<Bytes>>;

/// Routes one request.
pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    if path.starts_with(extension_routes::PREFIX) {
        return extension_routes::handle(shared, req).await;
    }
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
    let streaming = header_string(&req, RESPONSE_MODE_HEADER)
        .is_some_and(|mode| mode.eq_ignore_ascii_case("streaming"));
    if kind == Kind::Response && streaming {
        return post_stream(shared, id, content_type, req.into_body()).await;
    }
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
        Err(status) => id_rejection(status, id).unwrap_or_else(not_completed),
    }
}

/// Completes the invocation with a stream at once, then forwards the body as it arrives; the
/// runtime gets its answer when its body ends.
async fn post_stream(
    shared: &Shared,
    id: &str,
    content_type: Option<String>,
    mut body: Incoming,
) -> Reply {
    let (tx, stream) = ResponseStream::channel();
    if let Err(status) = shared.complete(
        id,
        InvocationOutcome::Streaming {
            content_type,
            stream,
        },
    ) {
        return id_rejection(status, id).unwrap_or_else(not_completed);
    }
    let mut seen = 0usize;
    // The reader may go away (client gone); the runtime's body is still read to its end.
    let mut reading = true;
    let result = loop {
        let Some(frame) = body.frame().await else {
            break Ok(());
        };
        let Ok(frame) = frame else {
            break Err(StreamError::new(
                TRUNCATED_ERROR_TYPE,
                "the runtime's response stream broke off",
            ));
        };
        match frame.into_data() {
            Ok(data) => {
                seen = seen.saturating_add(data.len());
                if seen > MAX_STREAM_BYTES {
                    break Err(StreamError::new(
                        SIZE_ERROR_TYPE,
                        format!(
                            "Response payload size exceeded maximum allowed payload size \
                             ({MAX_STREAM_BYTES} bytes)."
                        ),
                    ));
                }
                if reading && !data.is_empty() {
                    reading = tx.chunk(data).await;
                }
            }
            Err(frame) => {
                if let Some(error) = frame
                    .into_trailers()
                    .ok()
                    .and_then(|trailers| trailer_error(&trailers))
                {
                    break Err(error);
                }
            }
        }
    };
    let too_large = matches!(&result, Err(error) if error.error_type == SIZE_ERROR_TYPE);
    tx.end(result).await;
    if too_large {
        error_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("streamed response exceeds the maximum of {MAX_STREAM_BYTES} bytes"),
        )
    } else {
        accepted()
    }
}

/// The error a failed stream's trailers name; the error body is base64 of the error JSON.
fn trailer_error(trailers: &hyper::HeaderMap) -> Option<StreamError> {
    use base64::Engine as _;
    let error_type = trailers.get(ERROR_TYPE_HEADER)?.to_str().ok()?.trim();
    let message = trailers
        .get(ERROR_BODY_TRAILER)
        .and_then(|v| v.to_str().ok())
        .map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_or_else(
                    |_| encoded.to_owned(),
                    |bytes| String::from_utf8_lossy(&bytes).into_owned(),
                )
        })
        .unwrap_or_default();
    Some(StreamError::new(error_type, message))
}

fn not_completed() -> Reply {
    error_json(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        "the invocation could not be completed",
    )
}

async fn init_error(shared: &Shared, req: Request<Incoming>) -> Reply {
    let error_type = header_string(&req, ERROR_TYPE_HEADER);
    match read_body(req.into_body()).await {
        Ok(body) => {
            shared.init_error(error_type, body);
            accepted()
        }
        Err(BodyError::TooLarge) => {
            shared.init_error(error_type, Bytes::new());
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

pub(super) fn accepted() -> Reply {
    json(StatusCode::ACCEPTED, &serde_json::json!({ "status": "OK" }))
}

pub(super) fn not_found() -> Reply {
    error_json(StatusCode::NOT_FOUND, "NotFound", "not found")
}

pub(super) fn error_json(status: StatusCode, error_type: &str, message: &str) -> Reply {
    json(
        status,
        &serde_json::json!({ "errorMessage": message, "errorType": error_type }),
    )
}

pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let body = Bytes::from(value.to_string());
    let mut response = Response::new(Full::new(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    response
}
