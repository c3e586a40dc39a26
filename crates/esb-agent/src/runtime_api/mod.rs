//! Lambda Runtime API (2018-06-01) and Extensions API (2020-01-01) server for one worker.
//!
//! The worker's driver binds one listener per worker where only that worker reaches it, hands
//! it to [`RuntimeApi::serve`] and puts its address in `AWS_LAMBDA_RUNTIME_API`; the worker calls [`RuntimeApi::invoke`]: the invocation is handed to the
//! worker's pending `GET /next` through a channel and completed by its `POST /response`,
//! `POST /error` or `POST /init/error`. A streamed response completes the invocation at its
//! headers with an [`InvocationOutcome::Streaming`] whose body follows as it arrives.
//!
//! External extensions register on the same listener; init is over when the runtime and every
//! expected extension wait for their first event, and each invocation is also an `INVOKE`
//! event for the extensions registered for it. One registration per extension name: a second
//! `register` with the same name keeps the identifier and updates the events.

mod extension_routes;
mod extensions;
mod invocation;
mod routes;
mod state;
mod stream;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use extensions::{ExtensionEvent, FunctionInfo, ShutdownReason};
pub use invocation::{Invocation, InvocationOutcome};
use state::Shared;
pub use stream::{MAX_STREAM_BYTES, ResponseStream, StreamError};

/// Largest response body a runtime may post: 6 MB as on AWS (6,291,556 bytes).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Errors of the Runtime API server itself (not of the function).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    /// The listener could not be bound.
    #[error("cannot bind the Runtime API listener on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The invocation cannot be expressed in Runtime API headers.
    #[error("invalid invocation: {0}")]
    InvalidInvocation(String),
    /// The server stopped before the invocation completed.
    #[error("the Runtime API server stopped before the invocation completed")]
    Closed,
}

/// One worker's Runtime API: its state, and the listener serving it once a driver gave it one.
#[derive(Debug)]
pub struct RuntimeApi {
    local_addr: OnceLock<SocketAddr>,
    shared: Arc<Shared>,
    next_tx: mpsc::Sender<Invocation>,
    invoke_lock: tokio::sync::Mutex<()>,
    stop_tx: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Default for RuntimeApi {
    fn default() -> Self {
        RuntimeApi::new()
    }
}

impl RuntimeApi {
    /// A Runtime API that serves nothing yet: extensions can be expected before
    /// [`RuntimeApi::serve`] gives it a listener.
    pub fn new() -> RuntimeApi {
        // Capacity 1: the worker serves one invocation at a time.
        let (next_tx, next_rx) = mpsc::channel(1);
        let (stop_tx, _) = watch::channel(false);
        RuntimeApi {
            local_addr: OnceLock::new(),
            shared: Arc::new(Shared::new(next_rx)),
            next_tx,
            invoke_lock: tokio::sync::Mutex::new(()),
            stop_tx,
            task: Mutex::new(None),
        }
    }

    /// Binds `addr` (normally `127.0.0.1:0`) and serves the Runtime API in a tokio task.
    pub async fn bind(addr: SocketAddr) -> Result<RuntimeApi, RuntimeApiError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RuntimeApiError::Bind { addr, source })?;
        let api = RuntimeApi::new();
        api.serve(listener)
            .map_err(|source| RuntimeApiError::Bind { addr, source })?;
        Ok(api)
    }

    /// Serves the Runtime API on `listener` (wherever a driver bound it: the host's loopback,
    /// a worker's own network namespace) until [`RuntimeApi::shutdown`]; returns its address.
    /// Only the first call serves: a worker has one Runtime API.
    pub fn serve(&self, listener: TcpListener) -> std::io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.is_none() {
            let _ = self.local_addr.set(addr);
            let stop_rx = self.stop_tx.subscribe();
            *task = Some(tokio::spawn(serve(
                listener,
                Arc::clone(&self.shared),
                stop_rx,
            )));
        }
        Ok(addr)
    }

    /// Serves one connection carried by `io` instead of one accepted from the listener, until
    /// it closes: how the fuzz target feeds the routes raw bytes (`crate::fuzzing`).
    pub(crate) async fn serve_io<IO>(&self, io: IO)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        serve_connection(io, Arc::clone(&self.shared)).await;
    }

    /// The served `ip:port` as the box sees it (`0.0.0.0:0` before [`RuntimeApi::serve`]).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
            .get()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Completes when initialisation is over: the runtime first called `GET /next` and every
    /// expected extension (see [`RuntimeApi::expect_extensions`]) registered and called
    /// `event/next`, or an init error was reported (check [`RuntimeApi::init_failed`]).
    /// Registration closes with it.
    pub async fn ready(&self) {
        self.shared.ready().await;
    }

    /// Whether the runtime or an extension reported an init error, or [`RuntimeApi::fail_init`]
    /// was called (the environment is unusable).
    pub fn init_failed(&self) -> bool {
        self.shared.init_failed()
    }

    /// Fails initialisation as a runtime's `/init/error` would (e.g. an extension crashed):
    /// every invocation gets this error.
    pub fn fail_init(&self, error_type: &str, message: &str) {
        let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
        self.shared
            .init_error(Some(error_type.to_owned()), Bytes::from(body.to_string()));
    }

    /// Sets how many extension processes were started (init waits for each to register) and
    /// what `register` answers.
    pub fn expect_extensions(&self, count: usize, function: FunctionInfo) {
        self.shared.extensions.expect(count, function);
    }

    /// Whether some extension registered for `event`.
    pub fn has_extension_subscribers(&self, event: ExtensionEvent) -> bool {
        self.shared.extensions.has_subscribers(event)
    }

    /// Whether an extension reported `init/error` or `exit/error`.
    pub fn extension_failed(&self) -> bool {
        self.shared.extensions.failed()
    }

    /// Completes when every extension registered for `event` has taken its events and waits
    /// in `event/next` again.
    pub async fn extensions_idle(&self, event: ExtensionEvent) {
        self.shared.extensions.idle(event).await;
    }

    /// Sends `SHUTDOWN` to the extensions registered for it.
    pub fn shutdown_extensions(&self, reason: ShutdownReason, deadline_ms: u64) {
        self.shared.extensions.shutdown(reason, deadline_ms);
    }

    /// Hands one invocation to the worker (and as `INVOKE` to the extensions registered for
    /// it) and waits until the runtime answers.
    ///
    /// Invocations are serialised: a second call waits for the first to finish. Dropping the
    /// returned future abandons the invocation (a later post for its id is answered 400).
    pub async fn invoke(&self, request: Invocation) -> Result<InvocationOutcome, RuntimeApiError> {
        validate(&request)?;
        let _serial = self.invoke_lock.lock().await;
        let request_id = request.request_id.clone();
        let (done_tx, done_rx) = oneshot::channel();
        if let Some(outcome) = self.shared.begin(&request_id, done_tx) {
            return Ok(outcome);
        }
        let guard = state::AbandonGuard::new(&self.shared, &request_id);
        self.shared.extensions.invoke(&request);
        self.next_tx
            .send(request)
            .await
            .map_err(|_| RuntimeApiError::Closed)?;
        let outcome = done_rx.await.map_err(|_| RuntimeApiError::Closed)?;
        guard.disarm();
        Ok(outcome)
    }

    /// Stops the listener and closes every open connection.
    pub async fn shutdown(self) {
        let _ = self.stop_tx.send(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let task = self
            .task
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
        }
    }
}

fn validate(request: &Invocation) -> Result<(), RuntimeApiError> {
    let id = &request.request_id;
    if id.is_empty() || id.contains('/') || HeaderValue::from_str(id).is_err() {
        return Err(RuntimeApiError::InvalidInvocation(format!(
            "request id {id:?} is not usable in a header and a path segment"
        )));
    }
    if HeaderValue::from_str(&request.invoked_function_arn).is_err() {
        return Err(RuntimeApiError::InvalidInvocation(
            "invoked function ARN is not a valid header value".to_owned(),
        ));
    }
    Ok(())
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop_rx: watch::Receiver<bool>) {
    // Dropping the set on return aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stop_rx.changed() => {
                if changed.is_err() || *stop_rx.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                // Small request/response pairs on loopback: send each at once.
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one HTTP/1.1 connection of the worker until it closes.
async fn serve_connection<IO>(io: IO, shared: Arc<Shared>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, std::convert::Infallible>(routes::handle(&shared, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}
