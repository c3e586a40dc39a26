//! Pool settings ([`PoolConfig`]) and the counters it reports ([`PoolStats`]).

use std::time::Duration;

/// How one function's pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// At most this many workers exist at once (idle + busy + starting):
    /// `ReservedConcurrentExecutions`, or the box's default cap. `0` throttles every call.
    pub max_workers: usize,
    /// Workers kept warm ahead of traffic (`ProvisionedConcurrency`); never reaped for idleness,
    /// replaced by the janitor when they die. Clamped to `max_workers`.
    pub provisioned: usize,
    /// How long a caller may wait in the queue for a worker before [`crate::AcquireError::Timeout`].
    pub acquire_timeout: Duration,
    /// Most callers that may wait at once; beyond it acquire fails with
    /// [`crate::AcquireError::Throttled`] at once.
    pub max_waiters: usize,
    /// Bound on one [`crate::WorkerFactory::start`] (the init phase).
    pub start_timeout: Duration,
    /// An idle worker unused this long is shut down (scale to zero), except provisioned ones.
    pub idle_timeout: Duration,
    /// How often the janitor sweeps dead and expired idle workers (at least 1 ms).
    pub janitor_interval: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_workers: 10,
            provisioned: 0,
            acquire_timeout: Duration::from_secs(10),
            max_waiters: 1_000,
            start_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            janitor_interval: Duration::from_secs(1),
        }
    }
}

/// A snapshot of one pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Workers waiting for an invocation.
    pub idle: usize,
    /// Workers leased to an invocation.
    pub busy: usize,
    /// Workers being started.
    pub starting: usize,
    /// Callers queued for a worker.
    pub waiting: usize,
    /// Workers started successfully since the pool was created (cold starts and pre-warms).
    pub started: u64,
    /// Worker starts that failed or timed out.
    pub start_failures: u64,
    /// Idle workers shut down after `idle_timeout`.
    pub reaped: u64,
    /// Workers dropped because they died.
    pub dead: u64,
}

impl PoolStats {
    /// Workers that exist or are being started: `idle + busy + starting`.
    pub fn total(&self) -> usize {
        self.idle + self.busy + self.starting
    }
}
