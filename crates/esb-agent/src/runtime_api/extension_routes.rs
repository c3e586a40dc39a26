//! HTTP routes of the Extensions API (`2020-01-01`): `register`, `event/next`, `init/error`
//! and `exit/error`, on the same listener as the Runtime API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::extensions::RegisterError;
use super::routes::{accepted, error_json, json, not_found};
use super::state::Shared;

pub(super) const PREFIX: &str = "/2020-01-01/extension/";

const NAME_HEADER: &str = "lambda-extension-name";
const IDENTIFIER_HEADER: &str = "lambda-extension-identifier";
const EVENT_IDENTIFIER_HEADER: &str = "lambda-extension-event-identifier";
const ERROR_TYPE_HEADER: &str = "lambda-extension-function-error-type";

/// Registration and error bodies are small; anything larger is refused.
const MAX_BODY_BYTES: usize = 64 * 1024;

type Reply = Response<Full<Bytes>>;

/// Routes one request under [`PREFIX`].
pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let route = path.strip_prefix(PREFIX).unwrap_or_default();
    match (req.method(), route) {
        (&Method::POST, "register") => register(shared, req).await,
        (&Method::GET, "event/next") => next_event(shared, &req).await,
        (&Method::POST, "init/error") => report_error(shared, req, true).await,
        (&Method::POST, "exit/error") => report_error(shared, req, false).await,
        _ => not_found(),
    }
}

async fn register(shared: &Shared, req: Request<Incoming>) -> Reply {
    let Some(name) = header(&req, NAME_HEADER).filter(|name| !name.is_empty()) else {
        return error_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the Lambda-Extension-Name header is required",
        );
    };
    let Some(body) = read_small(req.into_body()).await else {
        return invalid_body();
    };
    let events: Vec<String> = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => value["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => return invalid_body(),
    };
    match shared.extensions.register(&name, &events) {
        Ok((id, function)) => {
            let mut reply = json(
                StatusCode::OK,
                &serde_json::json!({
                    "functionName": function.function_name,
                    "functionVersion": function.function_version,
                    "handler": function.handler,
                }),
            );
            if let Ok(value) = HeaderValue::from_str(&id) {
                reply
                    .headers_mut()
                    .insert(HeaderName::from_static(IDENTIFIER_HEADER), value);
            }
            reply
        }
        Err(RegisterError::AfterInit) => error_json(
            StatusCode::FORBIDDEN,
            "Extension.InvalidStateTransition",
            &format!("extension {name} cannot register after the init phase"),
        ),
        Err(RegisterError::UnknownEvent(event)) => error_json(
            StatusCode::BAD_REQUEST,
            "InvalidEventType",
            &format!("unknown event {event:?}; use INVOKE or SHUTDOWN"),
        ),
    }
}

async fn next_event(shared: &Shared, req: &Request<Incoming>) -> Reply {
    let Some(id) = header(req, IDENTIFIER_HEADER) else {
        return unknown_extension();
    };
    if !shared.extensions.is_registered(&id) {
        return unknown_extension();
    }
    let Some(event) = shared.extensions.next_event(&id).await else {
        return error_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "the Extensions API is shutting down",
        );
    };
    let mut reply = Response::new(Full::new(event));
    let headers = reply.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert(HeaderName::from_static(EVENT_IDENTIFIER_HEADER), value);
    }
    reply
}

/// `init/error` fails the environment like the runtime's init error; `exit/error` marks it
/// for reset.
async fn report_error(shared: &Shared, req: Request<Incoming>, init: bool) -> Reply {
    let Some(id) = header(&req, IDENTIFIER_HEADER) else {
        return unknown_extension();
    };
    if !shared.extensions.is_registered(&id) {
        return unknown_extension();
    }
    let error_type = header(&req, ERROR_TYPE_HEADER).unwrap_or_else(|| "Extension.Unknown".into());
    let body = read_small(req.into_body()).await.unwrap_or_default();
    tracing::debug!(%error_type, init, "an extension reported an error");
    shared.extensions.fail();
    if init {
        let body = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
            body
        } else {
            Bytes::from(
                serde_json::json!({
                    "errorMessage": format!("an extension failed to initialise: {error_type}"),
                    "errorType": error_type,
                })
                .to_string(),
            )
        };
        shared.init_error(Some(error_type), body);
    }
    accepted()
}

fn unknown_extension() -> Reply {
    error_json(
        StatusCode::FORBIDDEN,
        "Extension.UnknownExtensionIdentifier",
        "missing or unknown Lambda-Extension-Identifier",
    )
}

fn invalid_body() -> Reply {
    error_json(
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
        "the body must be JSON like {\"events\":[\"INVOKE\",\"SHUTDOWN\"]}",
    )
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

async fn read_small(body: Incoming) -> Option<Bytes> {
    Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}
