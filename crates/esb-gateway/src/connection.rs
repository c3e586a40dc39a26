//! What one client connection may hold: how long it may take to send a request's headers, how
//! long it may stay open with nothing to do, and how many connections the box keeps at once.
//! Without these, a client that opens sockets and sends nothing keeps them forever.
//!
//! hyper closes a connection whose headers are slow ([`ConnectionLimits::header_read_timeout`]);
//! idleness is measured here, on the socket itself, so it covers HTTP/1.1 keep-alive and HTTP/2
//! alike: [`Tracked`] notes every byte read or written and ends the connection (as a clean end of
//! input) once nothing moved for [`ConnectionLimits::idle_timeout`] while no request is in flight.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Limits on client connections, from `[gateway]` in `esb.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's first byte (or the end of the previous request) to the end of the
    /// request's headers; also bounds a TLS handshake.
    pub header_read_timeout: Duration,
    /// How long a connection with no request in flight may stay open without traffic.
    pub idle_timeout: Duration,
    /// Connections open at once; one more is closed at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1_000,
        }
    }
}

/// Requests of one connection whose response is not yet fully sent.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    /// Counts a request until the returned guard drops (with its response body).
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(Arc::clone(self))
    }

    fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped: a
/// streamed response may pause longer than the idle timeout.
#[derive(Debug)]
pub struct Counted<B> {
    body: B,
    _guard: InFlightGuard,
}

impl<B> Counted<B> {
    pub fn new(body: B, guard: InFlightGuard) -> Counted<B> {
        Counted {
            body,
            _guard: guard,
        }
    }
}

impl<B: Body + Unpin> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket that ends itself after `idle` without traffic while nothing is in
/// flight.
#[derive(Debug)]
pub struct Tracked<S> {
    inner: S,
    idle: Duration,
    in_flight: Arc<InFlight>,
    /// When the connection goes idle unless something moves first.
    deadline: Pin<Box<Sleep>>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, idle: Duration, in_flight: Arc<InFlight>) -> Tracked<S> {
        Tracked {
            inner,
            idle,
            in_flight,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn moved(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// Whether the connection has been idle too long; re-arms the deadline while a request
    /// is in flight.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.deadline.as_mut().poll(cx).is_pending() {
            return false;
        }
        if self.in_flight.is_empty() {
            return true;
        }
        self.moved();
        // Registers the re-armed deadline with this task's waker.
        let _ = self.deadline.as_mut().poll(cx);
        false
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            // Idle: an end of input, which hyper takes as the client closing.
            Poll::Pending if self.idle_expired(cx) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.moved();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.moved();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn an_idle_socket_reads_as_ended_after_the_timeout() {
        let (client, server) = tokio::io::duplex(64);
        let in_flight = Arc::new(InFlight::default());
        let mut tracked = Tracked::new(server, Duration::from_secs(60), Arc::clone(&in_flight));
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_secs(61), tracked.read(&mut buf)).await;
        assert_eq!(
            read.expect("ended before the test's own timeout")
                .expect("ok"),
            0
        );
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_and_requests_in_flight_keep_it_open() {
        let (mut client, server) = tokio::io::duplex(64);
        let in_flight = Arc::new(InFlight::default());
        let mut tracked = Tracked::new(server, Duration::from_secs(60), Arc::clone(&in_flight));
        let mut buf = [0u8; 8];
        tokio::time::sleep(Duration::from_secs(50)).await;
        client.write_all(b"a").await.expect("write");
        assert_eq!(tracked.read(&mut buf).await.expect("read"), 1);
        // 50 s after that byte: not idle yet.
        let early = tokio::time::timeout(Duration::from_secs(50), tracked.read(&mut buf)).await;
        assert!(early.is_err(), "closed before the idle timeout");

        let guard = in_flight.enter();
        let busy = tokio::time::timeout(Duration::from_secs(300), tracked.read(&mut buf)).await;
        assert!(busy.is_err(), "closed while a request was in flight");
        drop(guard);
        let idle = tokio::time::timeout(Duration::from_secs(61), tracked.read(&mut buf)).await;
        assert_eq!(idle.expect("ends once idle").expect("ok"), 0);
    }
}
