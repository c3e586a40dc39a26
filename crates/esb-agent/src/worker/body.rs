//! A streamed result body, read as the runtime posts it. It still obeys the function timeout (past it the worker is killed and the stream
//! ends with `Sandbox.Timedout`) and writes the invocation's `END`/`REPORT` lines when it ends.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Core;
use crate::runtime_api::{ResponseStream, StreamError};

/// What ends the invocation when the stream ends.
#[derive(Debug)]
pub(super) struct StreamEnd {
    pub core: Arc<Core>,
    pub request_id: String,
    pub started: Instant,
    pub init_duration: Option<std::time::Duration>,
    pub timeout_secs: u32,
}

/// A streamed body: call [`BodyStream::next`] until it returns `None`.
#[derive(Debug)]
pub struct BodyStream {
    inner: ResponseStream,
    deadline: tokio::time::Instant,
    /// `None` once the stream ended and the invocation was closed.
    end: Option<StreamEnd>,
    /// Dropped when the stream ends or is dropped: tells a waiting lease holder.
    done: Option<oneshot::Sender<()>>,
}

impl PartialEq for BodyStream {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for BodyStream {}

impl BodyStream {
    pub(super) fn new(inner: ResponseStream, deadline: Instant, end: StreamEnd) -> Self {
        BodyStream {
            inner,
            deadline: tokio::time::Instant::from_std(deadline),
            end: Some(end),
            done: None,
        }
    }

    /// The next chunk; `Some(Err(_))` once when the stream failed (handler error from the
    /// runtime's trailers, size limit, timeout, crash), `None` after the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, StreamError>> {
        let end = self.end.as_ref()?;
        let (item, message) = match tokio::time::timeout_at(self.deadline, self.inner.next()).await
        {
            Ok(item) => (item, None),
            Err(_) => {
                end.core.kill();
                let message = format!(
                    "RequestId: {} Error: Task timed out after {}.00 seconds",
                    end.request_id, end.timeout_secs
                );
                (
                    Some(Err(StreamError::new("Sandbox.Timedout", message.clone()))),
                    Some(message),
                )
            }
        };
        if !matches!(item, Some(Ok(_))) {
            self.close(message);
        }
        item
    }

    /// Reads the whole stream: the assembled body, or the error it ended with.
    pub async fn collect(mut self) -> Result<Bytes, StreamError> {
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = self.next().await {
            body.extend_from_slice(&chunk?);
        }
        Ok(body.freeze())
    }

    /// A receiver that completes when the stream has ended or was dropped.
    pub(crate) fn ended(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if self.end.is_some() {
            self.done = Some(tx);
        }
        rx
    }

    fn close(&mut self, platform_message: Option<String>) {
        if let Some(end) = self.end.take() {
            end.core.finish(
                &end.request_id,
                end.started.elapsed(),
                end.init_duration,
                platform_message.as_deref(),
            );
        }
        self.done = None;
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        // Dropped midway (the caller went away): the function runs on, as on AWS.
        self.close(None);
    }
}
