//! Shared state of one worker's Runtime API: the invocation in flight and recent answers.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::extensions::Registry;
use super::{Invocation, InvocationOutcome};

/// How many answered request ids are remembered to tell 403 from 400.
const ANSWERED_MEMORY: usize = 64;

/// Where a request id stands, for the response and error routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdStatus {
    /// The invocation in flight.
    Current,
    /// Recently completed: a second answer is an invalid state transition.
    Answered,
    /// Never seen (or forgotten, or abandoned by the caller).
    Unknown,
}

#[derive(Debug)]
struct Current {
    request_id: String,
    done: oneshot::Sender<InvocationOutcome>,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Current>,
    answered: VecDeque<String>,
    /// The init error's type and body, once the runtime (or an extension) reported one.
    init_error: Option<(Option<String>, Bytes)>,
}

impl State {
    fn remember(&mut self, request_id: String) {
        if self.answered.len() >= ANSWERED_MEMORY {
            self.answered.pop_front();
        }
        self.answered.push_back(request_id);
    }
}

/// State shared by the server task and the [`super::RuntimeApi`] handle.
#[derive(Debug)]
pub(super) struct Shared {
    next_rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    state: Mutex<State>,
    /// Becomes true at the runtime's first `GET /next`: its initialisation is over.
    ready: tokio::sync::watch::Sender<bool>,
    /// The worker's external extensions.
    pub(super) extensions: Registry,
}

impl Shared {
    pub(super) fn new(next_rx: mpsc::Receiver<Invocation>) -> Self {
        Shared {
            next_rx: tokio::sync::Mutex::new(next_rx),
            state: Mutex::new(State::default()),
            ready: tokio::sync::watch::Sender::new(false),
            extensions: Registry::new(),
        }
    }

    /// Waits until the runtime first asks for an invocation and every extension registered and
    /// waits for its first event, or until an init error.
    pub(super) async fn ready(&self) {
        let mut ready = self.ready.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _ = ready.wait_for(|ready| *ready).await;
        drop(ready);
        if !self.init_failed() {
            self.extensions.init_done().await;
        }
    }

    /// Whether an init error was posted.
    pub(super) fn init_failed(&self) -> bool {
        self.lock().init_error.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `request_id` as the invocation in flight, or returns the init error at once
    /// when the runtime already failed to initialise.
    pub(super) fn begin(
        &self,
        request_id: &str,
        done: oneshot::Sender<InvocationOutcome>,
    ) -> Option<InvocationOutcome> {
        let mut state = self.lock();
        if let Some((error_type, body)) = &state.init_error {
            return Some(InvocationOutcome::InitError {
                error_type: error_type.clone(),
                body: body.clone(),
            });
        }
        state.current = Some(Current {
            request_id: request_id.to_owned(),
            done,
        });
        None
    }

    /// Waits for the next invocation still in flight (skipping ones completed or abandoned
    /// while queued). `None` once the server is shutting down.
    pub(super) async fn next(&self) -> Option<Invocation> {
        self.ready.send_replace(true);
        let mut next_rx = self.next_rx.lock().await;
        loop {
            let invocation = next_rx.recv().await?;
            if self.status(&invocation.request_id) == IdStatus::Current {
                return Some(invocation);
            }
        }
    }

    pub(super) fn status(&self, request_id: &str) -> IdStatus {
        let state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|current| current.request_id == request_id)
        {
            IdStatus::Current
        } else if state.answered.iter().any(|id| id == request_id) {
            IdStatus::Answered
        } else {
            IdStatus::Unknown
        }
    }

    /// Completes the invocation `request_id` if it is in flight; otherwise says where it stands.
    pub(super) fn complete(
        &self,
        request_id: &str,
        outcome: InvocationOutcome,
    ) -> Result<(), IdStatus> {
        let mut state = self.lock();
        match state.current.take() {
            Some(current) if current.request_id == request_id => {
                // The caller may have gone away; the answer still counts.
                let _ = current.done.send(outcome);
                state.remember(current.request_id);
                Ok(())
            }
            other => {
                state.current = other;
                drop(state);
                Err(self.status(request_id))
            }
        }
    }

    /// Records an init error: completes the invocation in flight, if any, and every later one.
    pub(super) fn init_error(&self, error_type: Option<String>, body: Bytes) {
        {
            let mut state = self.lock();
            state.init_error = Some((error_type.clone(), body.clone()));
            if let Some(current) = state.current.take() {
                let _ = current
                    .done
                    .send(InvocationOutcome::InitError { error_type, body });
                state.remember(current.request_id);
            }
        }
        // Initialisation is over, unsuccessfully: whoever waits for readiness looks at
        // `init_failed`.
        self.ready.send_replace(true);
    }

    fn abandon(&self, request_id: &str) {
        let mut state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|current| current.request_id == request_id)
        {
            state.current = None;
        }
    }
}

/// Clears the invocation in flight if [`super::RuntimeApi::invoke`] is dropped before it ends.
#[derive(Debug)]
pub(super) struct AbandonGuard<'a> {
    shared: &'a Shared,
    request_id: Option<&'a str>,
}

impl<'a> AbandonGuard<'a> {
    pub(super) fn new(shared: &'a Shared, request_id: &'a str) -> Self {
        AbandonGuard {
            shared,
            request_id: Some(request_id),
        }
    }

    pub(super) fn disarm(mut self) {
        self.request_id = None;
    }
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if let Some(request_id) = self.request_id {
            self.shared.abandon(request_id);
        }
    }
}
