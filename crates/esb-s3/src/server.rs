//! The S3 listener: builds the s3s service (SigV4 with the configured key pair, optional
//! virtual-host addressing) and serves it over HTTP/1.1 and HTTP/2 with a graceful shutdown.
//! Every response carries `x-amz-request-id` and `x-amz-id-2`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::auth::SimpleAuth;
use s3s::host::SingleDomain;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;

use crate::service::{EsbAccess, EsbS3};
use crate::store::Store;

/// How long in-flight requests may run after shutdown is requested.
pub const DRAIN: Duration = Duration::from_secs(30);

/// What the S3 listener needs besides the store.
#[derive(Debug, Clone)]
pub struct S3ServerConfig {
    /// access key id clients sign with
    pub access_key: String,
    /// secret access key
    pub secret_key: String,
    /// Base domain for virtual-host addressing (`<bucket>.<domain>`), including the port
    /// when it is not 80, e.g. `s3.localhost:9000`. Path-style always works; requests to
    /// an IP address are always path-style.
    pub virtual_host_domain: Option<String>,
    /// How often the lifecycle sweeper applies expiration rules (used by [`run`]).
    pub lifecycle_interval: Duration,
}

impl Default for S3ServerConfig {
    fn default() -> Self {
        Self {
            lifecycle_interval: Duration::from_secs(3600),
            access_key: esb_model::credentials::DEFAULT_ACCESS_KEY_ID.into(),
            secret_key: esb_model::credentials::DEFAULT_SECRET_ACCESS_KEY.into(),
            virtual_host_domain: None,
        }
    }
}

/// Why the S3 role could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be opened or recovered.
    #[error("cannot open the S3 data directory: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The virtual-host base domain is not a valid domain.
    #[error(
        "invalid virtual-host domain {0:?}: expected a host name like s3.localhost or s3.localhost:9000"
    )]
    InvalidDomain(String),
}

/// Builds the HTTP service for `store`: SigV4 (header and presigned URL) against the
/// configured key pair; unsigned requests are served where ACLs and policies allow.
pub fn build_service(store: Arc<Store>, config: &S3ServerConfig) -> Result<S3Service, ServerError> {
    let mut builder = S3ServiceBuilder::new(EsbS3::new(Arc::clone(&store)));
    builder.set_auth(SimpleAuth::from_single(
        config.access_key.clone(),
        config.secret_key.clone(),
    ));
    builder.set_access(EsbAccess::new(store));
    if let Some(domain) = &config.virtual_host_domain {
        let host =
            SingleDomain::new(domain).map_err(|_| ServerError::InvalidDomain(domain.clone()))?;
        builder.set_host(host);
    }
    Ok(builder.build())
}

/// The whole S3 role: opens (and recovers) the store under `data_dir`, serves it on
/// `listener` with the lifecycle sweeper running, until `shutdown` completes.
pub async fn run(
    data_dir: impl Into<std::path::PathBuf>,
    config: &S3ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let store = Store::open(data_dir).await?;
    let service = build_service(Arc::clone(&store), config)?;
    let (stop_sweeper, sweeper_stopped) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(crate::lifecycle::run(
        store,
        config.lifecycle_interval,
        async {
            let _ = sweeper_stopped.await;
        },
    ));
    serve(listener, service, shutdown).await;
    let _ = stop_sweeper.send(());
    let _ = sweeper.await;
    Ok(())
}

/// Serves `service` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for up to [`DRAIN`].
pub async fn serve(listener: TcpListener, service: S3Service, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = service.clone();
                let handler = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let service = service.clone();
                    async move { handle(&service, request.map(s3s::Body::from)).await }
                });
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), handler).into_owned();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _ = watcher.watch(connection).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?DRAIN,
            "s3 requests still in flight after the drain timeout; closing"
        );
    }
}

/// One request through s3s, stamped with a request id (`x-amz-request-id`, `x-amz-id-2`,
/// and `<RequestId>` in an XML error body, as S3 does); callable without a socket.
pub async fn handle(
    service: &S3Service,
    request: http::Request<s3s::Body>,
) -> Result<s3s::HttpResponse, s3s::HttpError> {
    let request_id = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    let request_id = request_id.get(..16).unwrap_or(&request_id);
    let attributes = is_get_object_attributes(&request);
    let mut response = if let Some(message) = presigned_expiry_error(request.uri()) {
        error_response(
            http::StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            message,
            request_id,
        )
    } else if is_plain_chunked_upload(&request) {
        error_response(
            http::StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            request_id,
        )
    } else {
        service.call(request).await?
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        stamp_error_body(&mut response, request_id);
    } else if attributes {
        unquote_attributes_etag(&mut response);
    }
    if let Ok(value) = http::HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert("x-amz-request-id", value.clone());
        response.headers_mut().insert("x-amz-id-2", value);
    }
    Ok(response)
}

/// Whether `request` is a GetObjectAttributes (`GET /bucket/key?attributes`).
fn is_get_object_attributes(request: &http::Request<s3s::Body>) -> bool {
    request.method() == http::Method::GET
        && request.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|pair| pair == "attributes" || pair == "attributes=")
        })
}

/// S3 answers GetObjectAttributes with the ETag unquoted (everywhere else it is quoted, and
/// s3s always quotes it). The body is s3s's small in-memory XML document.
fn unquote_attributes_etag(response: &mut s3s::HttpResponse) {
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let (open, close) = ("<ETag>\"", "\"</ETag>");
    let Some(start) = text.find(open).map(|i| i + open.len()) else {
        return;
    };
    let Some(len) = text[start..].find(close) else {
        return;
    };
    let unquoted = format!(
        "{}<ETag>{}</ETag>{}",
        &text[..start - open.len()],
        &text[start..start + len],
        &text[start + len + close.len()..]
    );
    if let Ok(value) = http::HeaderValue::from_str(&unquoted.len().to_string()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, value);
    }
    *response.body_mut() = s3s::Body::from(unquoted);
}

/// Whether `request` uploads a body with `Transfer-Encoding: chunked` and no length at all:
/// neither `Content-Length` nor, for an aws-chunked body, `x-amz-decoded-content-length`.
/// S3 refuses such a PUT with 501 `NotImplemented` (naming the `Transfer-Encoding` header).
fn is_plain_chunked_upload(request: &http::Request<s3s::Body>) -> bool {
    let headers = request.headers();
    request.method() == http::Method::PUT
        && headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
            })
        && !headers.contains_key(http::header::CONTENT_LENGTH)
        && !headers.contains_key("x-amz-decoded-content-length")
}

/// Longest validity of a presigned URL (S3's limit: seven days).
const MAX_PRESIGNED_EXPIRES: i64 = 604_800;

/// S3's refusal of a SigV4 presigned URL whose `X-Amz-Expires` is not a number of seconds
/// from 0 to seven days (s3s reads it as any `u32`). Expiry itself is checked by s3s
/// (403 `AccessDenied`, "Request has expired").
fn presigned_expiry_error(uri: &http::Uri) -> Option<&'static str> {
    let query = uri.query()?;
    let mut presigned = false;
    let mut expires = None;
    for (name, value) in form_urlencoded_pairs(query) {
        if name == "X-Amz-Algorithm" {
            presigned = true;
        } else if name == "X-Amz-Expires" {
            expires = Some(value);
        }
    }
    let expires = expires.filter(|_| presigned)?;
    match expires.parse::<i64>() {
        Err(_) => Some("X-Amz-Expires should be a number"),
        Ok(n) if n < 0 => Some("X-Amz-Expires must be non-negative"),
        Ok(n) if n > MAX_PRESIGNED_EXPIRES => {
            Some("X-Amz-Expires must be less than a week (in seconds) that is; 604800")
        }
        Ok(_) => None,
    }
}

/// The `name=value` pairs of a query string, percent-decoded.
fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        (decode(name), decode(value))
    })
}

/// An S3 XML error response made here, before s3s sees the request.
fn error_response(
    status: http::StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> s3s::HttpResponse {
    let body = crate::error_body::rendered(code, message, request_id);
    let mut response = http::Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    response
}

/// Completes an S3 XML error body ([`crate::error_body::completed`]). s3s renders its errors
/// (including the ones from signature checks, before our code runs) into one in-memory
/// buffer, so this never reads a streamed body.
fn stamp_error_body(response: &mut s3s::HttpResponse, request_id: &str) {
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let Some(stamped) = crate::error_body::completed(text, request_id) else {
        return;
    };
    if let Ok(len) = http::HeaderValue::from_str(&stamped.len().to_string()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, len);
    }
    *response.body_mut() = s3s::Body::from(stamped);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn uri(query: &str) -> http::Uri {
        format!("/b/k?{query}").parse().unwrap()
    }

    #[test]
    fn presigned_expiry_bounds() {
        let signed = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=";
        assert_eq!(
            presigned_expiry_error(&uri(&format!("{signed}604800"))),
            None
        );
        assert_eq!(presigned_expiry_error(&uri(&format!("{signed}0"))), None);
        for bad in ["604801", "-1", "soon", ""] {
            assert!(
                presigned_expiry_error(&uri(&format!("{signed}{bad}"))).is_some(),
                "{bad}"
            );
        }
        // Not a presigned URL: not ours to judge.
        assert_eq!(presigned_expiry_error(&uri("X-Amz-Expires=x")), None);
    }

    #[test]
    fn attributes_etag_is_unquoted_whatever_it_holds() {
        for (body, want) in [
            ("<R><ETag>\"abc\"</ETag></R>", "<R><ETag>abc</ETag></R>"),
            ("<R><ETag>\"\"</ETag></R>", "<R><ETag></ETag></R>"),
            ("<R><ETag>\"</ETag></R>", "<R><ETag>\"</ETag></R>"),
            ("<R></R>", "<R></R>"),
        ] {
            let mut response = http::Response::new(s3s::Body::from(body.to_owned()));
            unquote_attributes_etag(&mut response);
            let got = response.body().bytes().unwrap();
            assert_eq!(std::str::from_utf8(&got).unwrap(), want);
        }
    }
}
