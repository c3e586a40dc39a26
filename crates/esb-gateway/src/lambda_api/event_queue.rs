//! Asynchronous invocations (`X-Amz-Invocation-Type: Event`): accepted with 202 into a bounded
//! in-memory queue, run in the background, and retried twice after a function error, as Lambda
//! does (after 1 and then 2 minutes by default).
//!
//! When the box stops, the queue drains: what is queued or running may finish within the drain
//! time; what waits for a retry, or has not finished by then, is dropped and counted per
//! function, so whoever stopped the box learns what was lost.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use esb_agent::{InvokeInput, Invoker};
use tokio::sync::{mpsc, watch};

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
    ledger: Arc<Ledger>,
}

/// Events accepted and not yet done with, and those dropped by a stop, per function.
#[derive(Debug, Default)]
struct Ledger {
    counts: Mutex<Counts>,
    /// Turns true when the box stops: no event is accepted, no retry waited for.
    stopping: watch::Sender<bool>,
    /// Bumped whenever an event is done with, so a drain can wait for the last one.
    settled: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Counts {
    outstanding: BTreeMap<String, usize>,
    dropped: BTreeMap<String, usize>,
}

impl Ledger {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn accept(&self, function: &str) {
        *self
            .counts()
            .outstanding
            .entry(function.to_string())
            .or_default() += 1;
    }

    /// One event of `function` is done with: run, failed for good, or `dropped` by a stop.
    fn settle(&self, function: &str, dropped: bool) {
        let mut counts = self.counts();
        if let Some(left) = counts.outstanding.get_mut(function) {
            *left -= 1;
            if *left == 0 {
                counts.outstanding.remove(function);
            }
        }
        if dropped {
            *counts.dropped.entry(function.to_string()).or_default() += 1;
        }
        drop(counts);
        self.settled.notify_waiters();
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }
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
        let ledger = Arc::new(Ledger::default());
        for _ in 0..runners.max(1) {
            let invoker = Arc::clone(&invoker);
            let receiver = Arc::clone(&receiver);
            let retry = retry.clone();
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some((function, input)) = next else {
                        break;
                    };
                    let ran = run_with_retries(&invoker, &function, input, &retry, &ledger).await;
                    ledger.settle(&function, ran == Ran::StoppedWaiting);
                }
            });
        }
        EventQueue { sender, ledger }
    }

    /// Queues one event; a full queue is throttling (429), as Lambda's async queue limits are,
    /// and so is a box that is stopping.
    pub fn enqueue(&self, function: String, input: InvokeInput) -> Result<(), LambdaApiError> {
        if self.ledger.is_stopping() {
            return Err(LambdaApiError::Throttled);
        }
        self.ledger.accept(&function);
        self.sender.try_send((function, input)).map_err(|refused| {
            let (function, _) = refused.into_inner();
            self.ledger.settle(&function, false);
            LambdaApiError::Throttled
        })
    }

    /// Stops accepting events and waits up to `within` for the queued and running ones; returns
    /// how many events of each function were dropped (waiting for a retry, or unfinished).
    pub async fn drain(&self, within: Duration) -> BTreeMap<String, usize> {
        self.ledger.stopping.send_replace(true);
        let all_settled = async {
            loop {
                let settled = self.ledger.settled.notified();
                if self.ledger.counts().outstanding.is_empty() {
                    return;
                }
                settled.await;
            }
        };
        let _ = tokio::time::timeout(within, all_settled).await;
        let mut counts = self.ledger.counts();
        let mut dropped = std::mem::take(&mut counts.dropped);
        for (function, left) in std::mem::take(&mut counts.outstanding) {
            *dropped.entry(function).or_default() += left;
        }
        dropped
    }
}

/// How an asynchronous invocation ended.
#[derive(Debug, PartialEq, Eq)]
enum Ran {
    /// It succeeded, or failed on its last try.
    Done,
    /// The box stopped while it waited for a retry.
    StoppedWaiting,
}

async fn run_with_retries(
    invoker: &Invoker,
    function: &str,
    input: InvokeInput,
    retry: &RetryPolicy,
    ledger: &Ledger,
) -> Ran {
    let mut delays = retry.delays.iter();
    let mut stopping = ledger.stopping.subscribe();
    loop {
        let failure = match invoker.invoke(function, input.clone()).await {
            Ok(result) if result.function_error.is_none() => return Ran::Done,
            Ok(result) => String::from_utf8_lossy(&result.payload).into_owned(),
            Err(error) => error.to_string(),
        };
        match delays.next() {
            Some(delay) => {
                tracing::info!(function, request_id = %input.request_id, %failure, ?delay, "asynchronous invocation failed; retrying");
                tokio::select! {
                    () = tokio::time::sleep(*delay) => {}
                    _ = stopping.wait_for(|stop| *stop) => {
                        tracing::warn!(function, request_id = %input.request_id, "the box stopped while an asynchronous invocation waited for its retry; dropped");
                        return Ran::StoppedWaiting;
                    }
                }
            }
            None => {
                tracing::warn!(function, request_id = %input.request_id, %failure, "asynchronous invocation failed after its retries; dropped");
                return Ran::Done;
            }
        }
    }
}
