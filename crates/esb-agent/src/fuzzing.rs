//! Entry points for the fuzz targets in `fuzz/` (docs/fuzzing.md), not part of the crate's
//! API: each reaches code that is private to the crate without making that code public.

use crate::runtime_api::RuntimeApi;

/// Serves one connection of a worker to `api`'s Runtime API and Extensions API over `io` (an
/// in-memory pipe in the fuzz target) until it closes: the same HTTP/1.1 server and routes
/// as a connection accepted from the worker's listener.
pub async fn runtime_api_connection<IO>(api: &RuntimeApi, io: IO)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    api.serve_io(io).await;
}
