//! The gateway's listener: HTTP/1.1 and HTTP/2 on one socket, over TLS (ALPN) or plain
//! TCP, each request handed to [`crate::app::App`], and a graceful shutdown that stops
//! accepting, lets in-flight requests finish for up to a drain timeout, then closes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::app::App;
use crate::body::GatewayBody;
use crate::connection::{ConnectionLimits, Counted, InFlight, Tracked};
use crate::response::{bad_request, payload_too_large};

/// API Gateway's payload limit: a larger request body gets 413.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// Which of the box's listeners a request came through (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The gateway's, where clients come.
    Public,
    /// Plain HTTP on loopback, for the CLI and the functions' SDKs.
    Admin,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains for up to `drain`.
pub async fn serve(
    kind: Listener,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
    limits: ConnectionLimits,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut warned_full: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    if warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!(max_connections = limits.max_connections, "connection limit reached; closing new connections");
                        warned_full = Some(Instant::now());
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let in_flight = Arc::new(InFlight::default());
                let app = Arc::clone(&app);
                let requests = Arc::clone(&in_flight);
                let service = hyper::service::service_fn(move |request| {
                    let app = Arc::clone(&app);
                    let guard = requests.enter();
                    async move {
                        let response = handle(&app, request, peer, kind).await;
                        Ok::<_, Infallible>(response.map(|body| Counted::new(body, guard)))
                    }
                });
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    match acceptor {
                        None => {
                            let stream = Tracked::new(stream, limits.idle_timeout, in_flight);
                            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            let _ = watcher.watch(connection.into_owned()).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(
                                limits.header_read_timeout,
                                accept_tls(&acceptor, stream, limits.idle_timeout, in_flight),
                            );
                            // A slow or failed handshake ends the connection, not the server.
                            let Ok(Some(stream)) = handshake.await else {
                                return;
                            };
                            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            let _ = watcher.watch(connection.into_owned()).await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "requests still in flight after the drain timeout; closing"
        );
    }
}

type TlsStream = tokio_rustls::server::TlsStream<Tracked<TcpStream>>;

/// The TLS session of a new connection; `None` when the handshake fails, or when the client
/// spoke plain HTTP (it gets a plain-text 400 saying to use HTTPS, not an empty reply).
async fn accept_tls(
    acceptor: &tokio_rustls::TlsAcceptor,
    mut stream: TcpStream,
    idle: Duration,
    in_flight: Arc<InFlight>,
) -> Option<TlsStream> {
    let mut first = [0u8; 1];
    // A TLS connection opens with a handshake record; an HTTP request with a method name.
    if matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase()) {
        refuse_plain_http(&mut stream).await;
        return None;
    }
    acceptor
        .accept(Tracked::new(stream, idle, in_flight))
        .await
        .ok()
}

async fn refuse_plain_http(stream: &mut TcpStream) {
    let body = "This port speaks HTTPS: send the request to https:// instead of http:// \
                (or start the box with --http).\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    // Read what the client sent before closing: unread input would make the close a reset,
    // which can discard the answer before the client reads it.
    let mut sink = [0u8; 4096];
    let drained = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
}

async fn handle(
    app: &App,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    kind: Listener,
) -> hyper::Response<GatewayBody> {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(kind);
    if crate::host::settle(&mut parts).is_err() {
        return app
            .refuse(&parts, peer, bad_request())
            .map(GatewayBody::from);
    }
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return app
                .refuse(&parts, peer, payload_too_large())
                .map(GatewayBody::from);
        }
        // A malformed body (broken chunked framing), or a client that went away mid-body
        // (then nobody reads this answer, but the access log still records the request).
        Err(_) => {
            return app
                .refuse(&parts, peer, bad_request())
                .map(GatewayBody::from);
        }
    };
    let request = http::Request::from_parts(parts, body);
    app.respond(request, peer).await
}
