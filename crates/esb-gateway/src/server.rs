//! The gateway's listener: HTTP/1.1 and HTTP/2 on one socket, over TLS (ALPN) or plain
//! TCP, each request handed to [`crate::app::App`], and a graceful shutdown that stops
//! accepting, lets in-flight requests finish for up to a drain timeout, then closes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::App;
use crate::body::GatewayBody;

/// API Gateway's payload limit: a larger request body gets 413.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then drains for up to `drain`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let service = hyper::service::service_fn(move |request| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(handle(&app, request, peer).await) }
                });
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        None => {
                            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            let _ = watcher.watch(connection.into_owned()).await;
                        }
                        Some(acceptor) => {
                            // A failed handshake (a client speaking plain HTTP, say) ends the
                            // connection, not the server.
                            let Ok(stream) = acceptor.accept(stream).await else {
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

async fn handle(
    app: &App,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<GatewayBody> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return app.too_large(&parts, peer).map(GatewayBody::from);
        }
        // The client went away or sent a broken body: nobody reads this answer.
        Err(_) => return hyper::Response::new(GatewayBody::from(Bytes::new())),
    };
    let request = http::Request::from_parts(parts, body);
    app.respond(request, peer).await
}
