//! The logs role's HTTP listener on `127.0.0.1:9428`: the VictoriaLogs API subset. [`handle`]
//! answers one request without a socket (the route table is here); [`serve`] runs it with
//! hyper (HTTP/1.1 and HTTP/2) and a graceful shutdown; [`run`] is the whole role.

pub mod args;
mod insert;
mod lines;
mod response;
mod select;
mod tail;

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::store::{Store, StoreConfig, StoreError};
use args::Args;
pub use response::Body;
use select::Listing;

/// The port VictoriaLogs (and the logs role) listens on.
pub const DEFAULT_PORT: u16 = 9428;
/// How long in-flight requests may run after shutdown is requested.
pub const DRAIN: Duration = Duration::from_secs(30);

/// What the logs role needs besides its data directory.
#[derive(Debug, Clone)]
pub struct LogsServerConfig {
    /// the store's settings (retention, sync interval, …)
    pub store: StoreConfig,
    /// largest request body, compressed or decoded (413 beyond)
    pub max_request_bytes: usize,
    /// longest a query may run (VictoriaLogs' `-search.maxQueryDuration`); the `timeout`
    /// argument can only shorten it
    pub max_query_duration: Duration,
}

impl Default for LogsServerConfig {
    fn default() -> Self {
        Self {
            store: StoreConfig::default(),
            max_request_bytes: 64 << 20,
            max_query_duration: Duration::from_secs(30),
        }
    }
}

/// Why the logs role could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or recovered.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread opening the store failed.
    #[error("opening the logs store failed: {0}")]
    Open(String),
}

/// The service: the store, the settings, and the signal that ends live tails at shutdown.
#[derive(Debug)]
pub struct Service {
    store: Arc<Store>,
    config: LogsServerConfig,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Service {
    /// A service over `store`.
    pub fn new(store: Arc<Store>, config: LogsServerConfig) -> Self {
        Self {
            store,
            config,
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Ends every live tail (at shutdown).
    pub fn stop_tails(&self) {
        self.stopping.send_replace(true);
    }
}

/// The whole logs role: opens (and recovers) the store under `data_dir`, serves it on
/// `listener` until `shutdown` completes, then closes the store.
pub async fn run(
    data_dir: impl Into<PathBuf>,
    config: &LogsServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let dir = data_dir.into();
    let store_config = config.store.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(dir, store_config))
        .await
        .map_err(|e| ServerError::Open(e.to_string()))??;
    let store = Arc::new(store);
    let service = Arc::new(Service::new(Arc::clone(&store), config.clone()));
    serve(listener, service, shutdown).await;
    // Closing syncs the WAL and joins the store's threads: blocking work.
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    Ok(())
}

/// Serves on `listener` until `shutdown` completes, then ends live tails and lets
/// in-flight requests finish for up to [`DRAIN`].
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = Arc::clone(&service);
                let svc = service_fn(move |request: Request<Incoming>| {
                    let service = Arc::clone(&service);
                    async move { Ok::<_, Infallible>(serve_one(&service, request).await) }
                });
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc).into_owned());
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "logs connection ended");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    service.stop_tails();
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?DRAIN,
            "logs requests still in flight after the drain timeout; closing"
        );
    }
}

/// Reads the body within the size limit, then answers.
async fn serve_one(service: &Service, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let limit = service.config.max_request_bytes;
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        response::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds {limit} bytes"),
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => handle(service, Request::from_parts(parts, collected.to_bytes())).await,
        Err(e) if e.is::<http_body_util::LengthLimitError>() => too_large(),
        Err(e) => response::bad_request(format!("cannot read the request body: {e}")),
    }
}

/// Answers one request (its body already read). The route table of the logs role.
pub async fn handle(service: &Service, request: Request<Bytes>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    match path.as_str() {
        "/health" | "/insert/ready" => response::text(StatusCode::OK, "OK"),
        "/internal/force_flush" => force_flush(service).await,
        "/insert/jsonline" => insert::insert(service, &parts, body, insert::Format::JsonLine).await,
        "/insert/loki/api/v1/push" => {
            insert::insert(service, &parts, body, insert::Format::Loki).await
        }
        p if p.starts_with("/insert/elasticsearch") && p.ends_with("/_bulk") => {
            insert::insert(service, &parts, body, insert::Format::Bulk).await
        }
        p if p == "/insert/elasticsearch" || p.starts_with("/insert/elasticsearch/") => {
            insert::elasticsearch_pose(&parts)
        }
        p if p.starts_with("/select/logsql/") => {
            let mut args = Args::from_query(parts.uri.query());
            let form = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
            if parts.method == Method::POST && form {
                args.extend(&String::from_utf8_lossy(&body));
            }
            select_route(service, p, &args).await
        }
        other => response::text(
            StatusCode::NOT_FOUND,
            format!("unsupported path requested: {other:?}"),
        ),
    }
}

async fn select_route(service: &Service, path: &str, args: &Args) -> Response<Body> {
    match path.trim_start_matches("/select/logsql/") {
        "query" => select::query(service, args).await,
        "tail" => tail::tail(service, args).await,
        "hits" => select::hits(service, args).await,
        "field_names" => select::values(service, args, Listing::FieldNames).await,
        "field_values" => select::values(service, args, Listing::FieldValues).await,
        "streams" => select::values(service, args, Listing::Streams).await,
        "stream_ids" => select::values(service, args, Listing::StreamIds).await,
        "stream_field_names" => select::values(service, args, Listing::StreamFieldNames).await,
        "stream_field_values" => select::values(service, args, Listing::StreamFieldValues).await,
        _ => response::text(
            StatusCode::NOT_FOUND,
            format!("unsupported path requested: {path:?}"),
        ),
    }
}

/// Seals everything buffered into blocks now (VictoriaLogs' way to make recent rows
/// searchable; here they already are, so this is for tests and before backups).
async fn force_flush(service: &Service) -> Response<Body> {
    let store = Arc::clone(&service.store);
    match tokio::task::spawn_blocking(move || store.flush()).await {
        Ok(Ok(())) => response::text(StatusCode::OK, "OK"),
        Ok(Err(e)) => response::text(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => response::text(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[cfg(test)]
mod tests;
