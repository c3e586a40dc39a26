//! The DynamoDB JSON 1.0 front: [`handle`] answers one request without a socket, [`serve`]
//! runs it on a listener with hyper. The front owns request limits, gzip bodies, SigV4, the
//! request id and CRC32 headers; the engine owns the operations.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;

use crate::body::{BodyError, decode as decode_body};
use crate::engine::Engine;
use crate::error::DynamoError;
use crate::sigv4::{self, Credential};
use crate::wire::{self, AMZ_JSON, FrontError};

/// The port the dynamodb role listens on by default.
pub const DEFAULT_PORT: u16 = 8001;

/// Largest request body accepted, as DynamoDB: 16 MB. Larger bodies get 413.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const STREAMS_TARGET_PREFIX: &str = "DynamoDBStreams_20120810.";
const NOT_FOUND_BODY: &str = "<UnknownOperationException/>\n";
/// The service name in the credential scope of requests to DynamoDB.
const SIGNING_SERVICE: &str = "dynamodb";
const HEALTHY_BODY: &str = "healthy: dynamodb.us-east-1.amazonaws.com ";

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Accept every request, signed or not (local experiments).
    Off,
    /// Verify SigV4 signatures against these credentials.
    SigV4(Vec<Credential>),
}

/// The DynamoDB service: an engine and how requests to it are authenticated.
#[derive(Debug)]
pub struct Service {
    engine: Engine,
    auth: Auth,
}

impl Service {
    /// A service answering from `engine`.
    pub fn new(engine: Engine, auth: Auth) -> Self {
        Self { engine, auth }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Answer one DynamoDB request. The body must already be read (and bounded by
/// [`MAX_REQUEST_BYTES`]; a longer one is refused with 413 here as well).
pub async fn handle(service: &Service, request: Request<Bytes>) -> Response<Bytes> {
    let (parts, body) = request.into_parts();
    if parts.uri.path() != "/" {
        return wire::response(
            StatusCode::NOT_FOUND,
            None,
            Bytes::from_static(NOT_FOUND_BODY.as_bytes()),
        );
    }
    match parts.method {
        Method::POST => {}
        Method::GET => {
            return wire::response(
                StatusCode::OK,
                None,
                Bytes::from_static(HEALTHY_BODY.as_bytes()),
            );
        }
        _ => {
            return wire::response(
                StatusCode::NOT_FOUND,
                None,
                Bytes::from_static(NOT_FOUND_BODY.as_bytes()),
            );
        }
    }

    // DynamoDB accepts application/x-amz-json-1.0 and application/json and echoes the one used.
    let raw_ct = header_str(&parts.headers, http::header::CONTENT_TYPE.as_str()).unwrap_or("");
    let base_ct = raw_ct.split(';').next().unwrap_or("").trim();
    let response_ct = if base_ct.eq_ignore_ascii_case(AMZ_JSON) {
        AMZ_JSON
    } else if base_ct.eq_ignore_ascii_case("application/json") {
        "application/json"
    } else if body.is_empty() && raw_ct.is_empty() {
        AMZ_JSON
    } else {
        return wire::response(
            StatusCode::NOT_FOUND,
            None,
            Bytes::from_static(NOT_FOUND_BODY.as_bytes()),
        );
    };

    if body.len() > MAX_REQUEST_BYTES {
        return too_large(response_ct);
    }
    let Some(target) = header_str(&parts.headers, "x-amz-target") else {
        return wire::front_error(&FrontError::UnknownOperation, response_ct);
    };
    if !target.starts_with(TARGET_PREFIX) && !target.starts_with(STREAMS_TARGET_PREFIX) {
        return wire::front_error(&FrontError::UnknownOperation, response_ct);
    }
    // The signature covers the body as sent, so it is checked before decoding.
    if let Some(refusal) = authenticate(&service.auth, &parts, &body, response_ct) {
        return refusal;
    }
    let body = match decode(&parts.headers, body).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return too_large(response_ct),
        Err(BodyError::Undecodable) => {
            return wire::front_error(&FrontError::UnreadableBody, response_ct);
        }
    };

    match service.engine.call(target, body).await {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_REQUEST);
            wire::response(status, Some(response_ct), reply.body)
        }
        Err(e) => {
            tracing::error!(error = %e, "DynamoDB engine call failed");
            wire::front_error(&FrontError::EngineUnavailable, response_ct)
        }
    }
}

fn too_large(content_type: &'static str) -> Response<Bytes> {
    wire::front_error(
        &FrontError::TooLarge {
            limit: MAX_REQUEST_BYTES,
        },
        content_type,
    )
}

/// Check the request's credentials; `Some` is the refusal to send.
fn authenticate(
    auth: &Auth,
    parts: &http::request::Parts,
    body: &[u8],
    response_ct: &'static str,
) -> Option<Response<Bytes>> {
    let Auth::SigV4(credentials) = auth else {
        return None;
    };
    let material = dynoxide::auth_material::AuthMaterial {
        authorization: header_str(&parts.headers, "authorization"),
        query: parts.uri.query().unwrap_or(""),
        has_date_header: parts.headers.contains_key("x-amz-date")
            || parts.headers.contains_key(http::header::DATE),
    };
    // Missing or incomplete auth material, worded as DynamoDB words it.
    if let Some(refusal) = dynoxide::auth_material::validate(material) {
        return Some(wire::response(
            StatusCode::BAD_REQUEST,
            Some(response_ct),
            Bytes::from(refusal),
        ));
    }
    let signed = sigv4::Signed {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
        body,
    };
    sigv4::verify(&signed, credentials, SIGNING_SERVICE, unix_now())
        .err()
        .map(|e| wire::front_error(&FrontError::Auth(e), response_ct))
}

/// Decode a `Content-Encoding` body within the size limit.
async fn decode(headers: &http::HeaderMap, body: Bytes) -> Result<Bytes, BodyError> {
    match header_str(headers, http::header::CONTENT_ENCODING.as_str()).map(str::to_owned) {
        // Decompression is CPU work: keep it off the runtime threads.
        Some(enc) => {
            tokio::task::spawn_blocking(move || decode_body(Some(&enc), body, MAX_REQUEST_BYTES))
                .await
                .unwrap_or(Err(BodyError::Undecodable))
        }
        None => decode_body(None, body, MAX_REQUEST_BYTES),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Serve DynamoDB on `listener` until `shutdown` resolves; then stop accepting, let running
/// requests finish and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DynamoError> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving the others.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = service.clone();
                let svc = service_fn(move |req: Request<Incoming>| {
                    let service = service.clone();
                    async move { Ok::<_, Infallible>(serve_one(&service, req).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "DynamoDB connection ended");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Read a bounded body from the connection and answer it.
async fn serve_one(service: &Service, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_REQUEST_BYTES as u64);
    let response = if too_large {
        wire::front_error(
            &FrontError::TooLarge {
                limit: MAX_REQUEST_BYTES,
            },
            AMZ_JSON,
        )
    } else {
        match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(collected) => {
                handle(service, Request::from_parts(parts, collected.to_bytes())).await
            }
            Err(e) if e.is::<http_body_util::LengthLimitError>() => wire::front_error(
                &FrontError::TooLarge {
                    limit: MAX_REQUEST_BYTES,
                },
                AMZ_JSON,
            ),
            Err(_) => wire::front_error(&FrontError::UnreadableBody, AMZ_JSON),
        }
    };
    response.map(Full::new)
}
