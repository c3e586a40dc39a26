//! A response body as the gateway sends it: whole, or streamed as a function produces it
//! (function URLs with `InvokeMode: RESPONSE_STREAM`). A streamed body is fed by a task that
//! reads the function's stream; a client that goes away drops the body, which ends that task.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use esb_agent::BodyStream;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Chunks in flight between the function's stream and the client.
const CHUNKS_IN_FLIGHT: usize = 16;

#[derive(Debug)]
pub enum GatewayBody {
    /// The whole body (`None` once sent).
    Full(Option<Bytes>),
    /// Chunks as they come.
    Stream(mpsc::Receiver<Bytes>),
}

impl From<Bytes> for GatewayBody {
    fn from(bytes: Bytes) -> Self {
        GatewayBody::Full(Some(bytes))
    }
}

impl GatewayBody {
    /// A body fed chunk by chunk through the returned sender; it ends when the sender drops.
    pub fn channel() -> (mpsc::Sender<Bytes>, GatewayBody) {
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        (tx, GatewayBody::Stream(rx))
    }

    /// `first` (already read from the stream), then the rest of `stream` as it comes. A stream
    /// that fails midway ends the body there: the status and headers are already sent.
    pub fn stream(first: Bytes, mut stream: BodyStream) -> GatewayBody {
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            if !first.is_empty() && tx.send(first).await.is_err() {
                return;
            }
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        if tx.send(chunk).await.is_err() {
                            return; // The client went away.
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "a streamed response ended with an error");
                        return;
                    }
                }
            }
        });
        GatewayBody::Stream(rx)
    }

    /// The whole body, waiting for a streamed one to end.
    pub async fn collect(self) -> Bytes {
        match self {
            GatewayBody::Full(bytes) => bytes.unwrap_or_default(),
            GatewayBody::Stream(mut rx) => {
                let mut all = bytes::BytesMut::new();
                while let Some(chunk) = rx.recv().await {
                    all.extend_from_slice(&chunk);
                }
                all.freeze()
            }
        }
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            GatewayBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            GatewayBody::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| Ok(Frame::data(c)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GatewayBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            GatewayBody::Full(None) => SizeHint::with_exact(0),
            GatewayBody::Stream(_) => SizeHint::default(),
        }
    }
}
