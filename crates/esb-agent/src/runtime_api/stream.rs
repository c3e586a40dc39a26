//! A streamed function response (`Lambda-Runtime-Function-Response-Mode: streaming`): the
//! chunks as the runtime posts them, through a bounded channel, ending in success or in the
//! error the runtime's trailers name.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;

/// Largest streamed response: 20 MB as on AWS (the 6 MB limit is for buffered responses).
pub const MAX_STREAM_BYTES: usize = 20 * 1024 * 1024;

/// Chunks in flight between the runtime's connection and the reader; past it, the runtime
/// waits (back-pressure).
const CHANNEL_CHUNKS: usize = 16;

/// Error type when the runtime's stream ended without a proper end (connection lost).
const TRUNCATED_ERROR_TYPE: &str = "Runtime.TruncatedResponse";

/// How a stream failed: from the `Lambda-Runtime-Function-Error-Type` and
/// `Lambda-Runtime-Function-Error-Body` trailers, or from the platform (size, timeout, crash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct StreamError {
    /// E.g. `Runtime.Unhandled`, `Function.ResponseSizeTooLarge`, `Sandbox.Timedout`.
    pub error_type: String,
    /// The error body or message, as text.
    pub message: String,
}

impl StreamError {
    /// A stream error of `error_type` with `message`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        StreamError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug)]
enum Frame {
    Chunk(Bytes),
    End(Result<(), StreamError>),
}

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

/// The reading end of a streamed response.
#[derive(Debug)]
pub struct ResponseStream {
    id: u64,
    rx: mpsc::Receiver<Frame>,
    ended: bool,
}

/// Two handles are equal only when they are the same stream.
impl PartialEq for ResponseStream {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for ResponseStream {}

impl ResponseStream {
    /// A new stream and the sender that feeds it.
    pub(crate) fn channel() -> (StreamSender, ResponseStream) {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
        (
            StreamSender { tx },
            ResponseStream {
                id,
                rx,
                ended: false,
            },
        )
    }

    /// The next chunk; `Some(Err(_))` once when the stream failed, `None` after the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, StreamError>> {
        if self.ended {
            return None;
        }
        match self.rx.recv().await {
            Some(Frame::Chunk(chunk)) => Some(Ok(chunk)),
            Some(Frame::End(Ok(()))) => {
                self.ended = true;
                None
            }
            Some(Frame::End(Err(error))) => {
                self.ended = true;
                Some(Err(error))
            }
            None => {
                self.ended = true;
                Some(Err(StreamError::new(
                    TRUNCATED_ERROR_TYPE,
                    "the runtime's response stream ended unexpectedly",
                )))
            }
        }
    }

    /// Reads the whole stream: the assembled body, or the first error.
    pub async fn collect(mut self) -> Result<Bytes, StreamError> {
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = self.next().await {
            body.extend_from_slice(&chunk?);
        }
        Ok(body.freeze())
    }
}

/// The writing end, held by the route reading the runtime's request body.
#[derive(Debug)]
pub(crate) struct StreamSender {
    tx: mpsc::Sender<Frame>,
}

impl StreamSender {
    /// Sends one chunk, waiting while the reader is behind; false once the reader is gone.
    pub(crate) async fn chunk(&self, chunk: Bytes) -> bool {
        self.tx.send(Frame::Chunk(chunk)).await.is_ok()
    }

    /// Ends the stream.
    pub(crate) async fn end(self, result: Result<(), StreamError>) {
        let _ = self.tx.send(Frame::End(result)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn chunks_then_ok_or_error_then_none() {
        let (tx, mut rx) = ResponseStream::channel();
        tokio::spawn(async move {
            assert!(tx.chunk(Bytes::from_static(b"a")).await);
            tx.end(Ok(())).await;
        });
        assert_eq!(rx.next().await.unwrap().unwrap(), Bytes::from_static(b"a"));
        assert!(rx.next().await.is_none());
        assert!(rx.next().await.is_none());

        let (tx, rx) = ResponseStream::channel();
        tokio::spawn(async move {
            tx.chunk(Bytes::from_static(b"a")).await;
            tx.end(Err(StreamError::new("E", "m"))).await;
        });
        assert_eq!(rx.collect().await, Err(StreamError::new("E", "m")));

        let (tx, mut rx) = ResponseStream::channel();
        drop(tx);
        let error = rx.next().await.unwrap().unwrap_err();
        assert_eq!(error.error_type, TRUNCATED_ERROR_TYPE);
        assert!(rx.next().await.is_none());
    }
}
