//! Errors of the pool: a worker that failed to start ([`StartError`]) and an acquire that
//! produced no worker ([`AcquireError`]).

use std::time::Duration;

/// A worker failed to start; carries the Lambda error type (`Runtime.ExitError`, …) and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct StartError {
    error_type: String,
    message: String,
}

impl StartError {
    /// Error type of a start that exceeded [`crate::PoolConfig::start_timeout`].
    pub const TIMED_OUT: &'static str = "Sandbox.Timedout";
    /// Error type when the pool could not run the start at all.
    pub const UNKNOWN: &'static str = "Runtime.Unknown";

    /// A start error with an AWS-style error type and a human message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// The Lambda error type, e.g. `Runtime.ExitError`.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why [`crate::Pool::acquire`] produced no worker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquireError {
    /// No worker became free within the acquire timeout (the gateway answers 503).
    #[error("no worker became free within {waited:?}")]
    Timeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The concurrency cap is 0 or the wait queue is full (AWS throttles: 429).
    #[error("rate exceeded: the function's concurrency limit and wait queue are full")]
    Throttled,
    /// The worker started for this caller failed to start.
    #[error("worker failed to start: {0}")]
    Start(#[source] StartError),
    /// The pool is shutting down.
    #[error("the worker pool is shutting down")]
    ShuttingDown,
}
