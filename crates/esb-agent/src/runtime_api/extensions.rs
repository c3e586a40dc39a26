//! The registry of one worker's external extensions (Extensions API `2020-01-01`): who
//! registered for which events, the events queued for each, and whether each is waiting in
//! `event/next` — which is what init completion and the end of an invocation wait for.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{Mutex, mpsc, watch};

use super::Invocation;

/// An event an extension can register for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionEvent {
    Invoke,
    Shutdown,
}

impl ExtensionEvent {
    fn parse(name: &str) -> Option<ExtensionEvent> {
        match name {
            "INVOKE" => Some(ExtensionEvent::Invoke),
            "SHUTDOWN" => Some(ExtensionEvent::Shutdown),
            _ => None,
        }
    }
}

/// Why the environment shuts down, as the `SHUTDOWN` event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    Spindown,
    Timeout,
    Failure,
}

impl ShutdownReason {
    fn as_str(self) -> &'static str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
        }
    }
}

/// What `register` answers with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionInfo {
    pub function_name: String,
    pub function_version: String,
    pub handler: String,
}

type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Bytes>>>;

#[derive(Debug)]
struct Extension {
    id: String,
    name: String,
    invoke: bool,
    shutdown: bool,
    /// In `event/next` right now, waiting for an event.
    waiting: bool,
    /// Events sent and not yet taken by `event/next`.
    queued: usize,
    tx: mpsc::UnboundedSender<Bytes>,
    rx: Queue,
}

impl Extension {
    fn subscribed(&self, event: ExtensionEvent) -> bool {
        match event {
            ExtensionEvent::Invoke => self.invoke,
            ExtensionEvent::Shutdown => self.shutdown,
        }
    }

    fn idle(&self) -> bool {
        self.waiting && self.queued == 0
    }

    fn send(&mut self, event: Bytes) {
        if self.tx.send(event).is_ok() {
            self.queued += 1;
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Extension processes started; init waits for this many registrations.
    expected: usize,
    function: FunctionInfo,
    /// Set once init is over: later registrations are refused.
    init_over: bool,
    /// An extension reported `init/error` or `exit/error`.
    failed: bool,
    extensions: Vec<Extension>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RegisterError {
    AfterInit,
    UnknownEvent(String),
}

/// The registry, behind a watch channel so waiters see every change.
#[derive(Debug)]
pub(super) struct Registry {
    state: watch::Sender<State>,
}

impl Registry {
    pub(super) fn new() -> Self {
        Registry {
            state: watch::Sender::new(State::default()),
        }
    }

    /// How many extensions init waits for, and what `register` answers.
    pub(super) fn expect(&self, expected: usize, function: FunctionInfo) {
        self.state.send_modify(|state| {
            state.expected = expected;
            state.function = function;
        });
    }

    /// Registers (or re-registers, keeping the identifier) the extension `name`.
    pub(super) fn register(
        &self,
        name: &str,
        events: &[String],
    ) -> Result<(String, FunctionInfo), RegisterError> {
        let mut invoke = false;
        let mut shutdown = false;
        for event in events {
            match ExtensionEvent::parse(event) {
                Some(ExtensionEvent::Invoke) => invoke = true,
                Some(ExtensionEvent::Shutdown) => shutdown = true,
                None => return Err(RegisterError::UnknownEvent(event.clone())),
            }
        }
        let mut result = Err(RegisterError::AfterInit);
        self.state.send_modify(|state| {
            if state.init_over {
                return;
            }
            let id = match state.extensions.iter_mut().find(|e| e.name == name) {
                Some(existing) => {
                    existing.invoke = invoke;
                    existing.shutdown = shutdown;
                    existing.id.clone()
                }
                None => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let id = uuid::Uuid::new_v4().to_string();
                    state.extensions.push(Extension {
                        id: id.clone(),
                        name: name.to_owned(),
                        invoke,
                        shutdown,
                        waiting: false,
                        queued: 0,
                        tx,
                        rx: Arc::new(Mutex::new(rx)),
                    });
                    id
                }
            };
            result = Ok((id, state.function.clone()));
        });
        result
    }

    /// Whether `id` is a registered extension.
    pub(super) fn is_registered(&self, id: &str) -> bool {
        self.state.borrow().extensions.iter().any(|e| e.id == id)
    }

    /// Waits for the next event of extension `id`; `None` for an unknown id.
    pub(super) async fn next_event(&self, id: &str) -> Option<Bytes> {
        let queue = self
            .state
            .borrow()
            .extensions
            .iter()
            .find(|e| e.id == id)
            .map(|e| Arc::clone(&e.rx))?;
        let mut queue = queue.lock().await;
        self.set_waiting(id, true);
        // Cleared again if the caller goes away (connection closed) while waiting.
        let mut guard = WaitingGuard {
            registry: self,
            id,
            armed: true,
        };
        let event = queue.recv().await;
        guard.armed = false;
        self.state.send_modify(|state| {
            if let Some(extension) = state.extensions.iter_mut().find(|e| e.id == id) {
                extension.waiting = false;
                if event.is_some() {
                    extension.queued = extension.queued.saturating_sub(1);
                }
            }
        });
        event
    }

    fn set_waiting(&self, id: &str, waiting: bool) {
        self.state.send_modify(|state| {
            if let Some(extension) = state.extensions.iter_mut().find(|e| e.id == id) {
                extension.waiting = waiting;
            }
        });
    }

    /// Records an extension's `init/error` or `exit/error`.
    pub(super) fn fail(&self) {
        self.state.send_modify(|state| state.failed = true);
    }

    /// Whether an extension reported an error.
    pub(super) fn failed(&self) -> bool {
        self.state.borrow().failed
    }

    /// Waits until every expected extension registered and waits in `event/next` (or one
    /// failed), then closes registration.
    pub(super) async fn init_done(&self) {
        let mut state = self.state.subscribe();
        let _ = state
            .wait_for(|state| {
                state.failed
                    || (state.extensions.len() >= state.expected
                        && state.extensions.iter().all(Extension::idle))
            })
            .await;
        drop(state);
        self.state.send_modify(|state| state.init_over = true);
    }

    /// Whether any extension registered for `event`.
    pub(super) fn has_subscribers(&self, event: ExtensionEvent) -> bool {
        self.state
            .borrow()
            .extensions
            .iter()
            .any(|e| e.subscribed(event))
    }

    /// Waits until every extension registered for `event` took its events and waits in
    /// `event/next` again.
    pub(super) async fn idle(&self, event: ExtensionEvent) {
        let mut state = self.state.subscribe();
        let _ = state
            .wait_for(|state| {
                state
                    .extensions
                    .iter()
                    .filter(|e| e.subscribed(event))
                    .all(Extension::idle)
            })
            .await;
    }

    /// Queues `INVOKE` for every extension registered for it.
    pub(super) fn invoke(&self, invocation: &Invocation) {
        let mut event = serde_json::json!({
            "eventType": "INVOKE",
            "deadlineMs": invocation.deadline_ms,
            "requestId": invocation.request_id,
            "invokedFunctionArn": invocation.invoked_function_arn,
        });
        if let Some(trace_id) = &invocation.trace_id {
            event["tracing"] = serde_json::json!({"type": "X-Amzn-Trace-Id", "value": trace_id});
        }
        self.broadcast(ExtensionEvent::Invoke, &event);
    }

    /// Queues `SHUTDOWN` for every extension registered for it.
    pub(super) fn shutdown(&self, reason: ShutdownReason, deadline_ms: u64) {
        let event = serde_json::json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason.as_str(),
            "deadlineMs": deadline_ms,
        });
        self.broadcast(ExtensionEvent::Shutdown, &event);
    }

    fn broadcast(&self, kind: ExtensionEvent, event: &serde_json::Value) {
        let bytes = Bytes::from(event.to_string());
        self.state.send_modify(|state| {
            for extension in state.extensions.iter_mut().filter(|e| e.subscribed(kind)) {
                extension.send(bytes.clone());
            }
        });
    }
}

/// Clears an extension's waiting flag when its `event/next` is abandoned.
struct WaitingGuard<'a> {
    registry: &'a Registry,
    id: &'a str,
    armed: bool,
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.registry.set_waiting(self.id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn registration_is_per_name_and_closes_after_init() {
        let registry = Registry::new();
        registry.expect(1, FunctionInfo::default());
        let events = vec!["INVOKE".to_owned()];
        let (first, _) = registry.register("ext", &events).unwrap();
        let (again, _) = registry.register("ext", &events).unwrap();
        assert_eq!(first, again, "one identifier per extension name");
        assert_eq!(
            registry.register("bad", &["NOPE".to_owned()]),
            Err(RegisterError::UnknownEvent("NOPE".to_owned()))
        );
        let registry = Arc::new(registry);
        let waiter = tokio::spawn({
            let registry = Arc::clone(&registry);
            let id = first.clone();
            async move { registry.next_event(&id).await }
        });
        registry.init_done().await;
        assert_eq!(
            registry.register("late", &events),
            Err(RegisterError::AfterInit)
        );
        registry.shutdown(ShutdownReason::Spindown, 1);
        assert!(registry.has_subscribers(ExtensionEvent::Invoke));
        assert!(!registry.has_subscribers(ExtensionEvent::Shutdown));
        waiter.abort();
    }
}
