//! Asynchronous invocations (`X-Amz-Invocation-Type: Event`): accepted with 202 into a bounded
//! in-memory queue, run in the background, and retried twice after a function error, as Lambda
//! does (after 1 and then 2 minutes by default).

use std::sync::Arc;
use std::time::Duration;

use esb_agent::{InvokeInput, Invoker};
use tokio::sync::mpsc;

use super::LambdaApiError;

/// When to retry a failed asynchronous invocation.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// One delay per retry; Lambda's default is two retries, 1 and 2 minutes apart.
    pub delays: Vec<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
        }
    }
}

/// The queue's sending side; background tasks drain it.
#[derive(Debug, Clone)]
pub struct EventQueue {
    sender: mpsc::Sender<(String, InvokeInput)>,
}

impl EventQueue {
    /// Starts `runners` background tasks that invoke queued events through `invoker`.
    pub fn start(
        invoker: Arc<Invoker>,
        capacity: usize,
        runners: usize,
        retry: RetryPolicy,
    ) -> EventQueue {
        let (sender, receiver) = mpsc::channel::<(String, InvokeInput)>(capacity.max(1));
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..runners.max(1) {
            let invoker = Arc::clone(&invoker);
            let receiver = Arc::clone(&receiver);
            let retry = retry.clone();
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some((function, input)) = next else {
                        break;
                    };
                    run_with_retries(&invoker, &function, input, &retry).await;
                }
            });
        }
        EventQueue { sender }
    }

    /// Queues one event; a full queue is throttling (429), as Lambda's async queue limits are.
    pub fn enqueue(&self, function: String, input: InvokeInput) -> Result<(), LambdaApiError> {
        self.sender
            .try_send((function, input))
            .map_err(|_| LambdaApiError::Throttled)
    }
}

async fn run_with_retries(
    invoker: &Invoker,
    function: &str,
    input: InvokeInput,
    retry: &RetryPolicy,
) {
    let mut delays = retry.delays.iter();
    loop {
        let failure = match invoker.invoke(function, input.clone()).await {
            Ok(result) if result.function_error.is_none() => return,
            Ok(result) => String::from_utf8_lossy(&result.payload).into_owned(),
            Err(error) => error.to_string(),
        };
        match delays.next() {
            Some(delay) => {
                tracing::info!(function, request_id = %input.request_id, %failure, ?delay, "asynchronous invocation failed; retrying");
                tokio::time::sleep(*delay).await;
            }
            None => {
                tracing::warn!(function, request_id = %input.request_id, %failure, "asynchronous invocation failed after its retries; dropped");
                return;
            }
        }
    }
}
