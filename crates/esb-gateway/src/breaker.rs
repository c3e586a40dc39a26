//! A circuit breaker per function, as the original ESB had it: after `threshold` consecutive
//! failed invocations the function's breaker opens and every request is rejected at once
//! (the gateway answers 502) until `recovery_timeout` has passed; then one probe request is let
//! through (half-open). The probe's success closes the breaker, its failure opens it again for
//! another `recovery_timeout`.
//!
//! [`CircuitBreakers::check`] admits a request with a [`Permit`]; the caller settles it with
//! [`Permit::success`] or [`Permit::failure`] (what counts as a failure — function error,
//! timeout, crash, malformed response — is the caller's decision), or hands it back with
//! [`Permit::release`] when the function was never reached (throttled, no worker in time), which
//! counts neither way. A permit dropped unsettled, for example because the request was
//! cancelled, counts as a failure.
//!
//! Opening, probing and closing after a probe each start a new generation; a permit admitted in
//! an older generation settles nothing (a slow request admitted before the breaker opened cannot
//! close it, and late failures cannot re-open a breaker that a probe has just closed).
//!
//! The hot path is a read lock on the function map and one short uncontended mutex section; a
//! function's breaker is allocated the first time it is seen. Time comes from a [`Clock`] so
//! tests can drive it ([`ManualClock`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Environment variable: consecutive failures that open a breaker.
pub const THRESHOLD_ENV: &str = "CIRCUIT_BREAKER_THRESHOLD";
/// Environment variable: seconds an open breaker waits before letting a probe through.
pub const RECOVERY_TIMEOUT_ENV: &str = "CIRCUIT_BREAKER_RECOVERY_TIMEOUT";

/// How the breakers behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open a breaker; `0` disables the breakers (never open).
    pub threshold: u32,
    /// How long an open breaker rejects before it lets one probe through.
    pub recovery_timeout: Duration,
}

impl Default for BreakerConfig {
    /// 5 failures, 30 seconds, as the original ESB.
    fn default() -> Self {
        BreakerConfig {
            threshold: 5,
            recovery_timeout: Duration::from_secs(30),
        }
    }
}

/// A breaker setting in the environment that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is not valid: {expected}")]
pub struct BreakerConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl BreakerConfig {
    /// The defaults overridden by `CIRCUIT_BREAKER_THRESHOLD` and
    /// `CIRCUIT_BREAKER_RECOVERY_TIMEOUT` (seconds, fractions allowed) from the process
    /// environment.
    pub fn from_env() -> Result<Self, BreakerConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`BreakerConfig::from_env`], reading variables through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, BreakerConfigError> {
        let mut config = BreakerConfig::default();
        if let Some(value) = lookup(THRESHOLD_ENV) {
            config.threshold = value.trim().parse().map_err(|_| BreakerConfigError {
                variable: THRESHOLD_ENV,
                value: value.clone(),
                expected: "a whole number of consecutive failures (0 disables the breaker)",
            })?;
        }
        if let Some(value) = lookup(RECOVERY_TIMEOUT_ENV) {
            config.recovery_timeout = value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                .ok_or_else(|| BreakerConfigError {
                    variable: RECOVERY_TIMEOUT_ENV,
                    value: value.clone(),
                    expected: "a non-negative number of seconds",
                })?;
        }
        Ok(config)
    }
}

/// Where time comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to, for tests. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: Instant,
    offset_nanos: Arc<AtomicU64>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            start: Instant::now(),
            offset_nanos: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst));
        self.start.checked_add(offset).unwrap_or(self.start)
    }
}

/// A breaker's state as metrics and status report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Requests pass; failures are being counted.
    Closed,
    /// Requests are rejected until the recovery timeout has passed.
    Open,
    /// The recovery timeout has passed: the next request (or the one in flight) is the probe.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A request refused because the function's breaker is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker open; next probe in {retry_after:?}")]
pub struct Rejected {
    /// Time until a probe may be let through (zero while a half-open probe is in flight).
    pub retry_after: Duration,
}

/// One breaker per function name.
pub struct CircuitBreakers<C: Clock = SystemClock> {
    config: BreakerConfig,
    clock: C,
    breakers: RwLock<HashMap<Box<str>, Arc<Breaker>>>,
}

impl<C: Clock> std::fmt::Debug for CircuitBreakers<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreakers")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Breaker {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, Default)]
enum Phase {
    #[default]
    Closed,
    /// Counting; `failures` consecutive failures so far (and at least one).
    Failing {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The probe is in flight.
    Probing,
}

impl CircuitBreakers<SystemClock> {
    pub fn new(config: BreakerConfig) -> Self {
        Self::with_clock(config, SystemClock)
    }
}

impl<C: Clock> CircuitBreakers<C> {
    pub fn with_clock(config: BreakerConfig, clock: C) -> Self {
        CircuitBreakers {
            config,
            clock,
            breakers: RwLock::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    /// Admits a request to `function`, or refuses it because the breaker is open (or half-open
    /// with its probe in flight).
    pub fn check(&self, function: &str) -> Result<Permit<'_, C>, Rejected> {
        let breaker = self.breaker(function);
        let generation = {
            let mut inner = breaker.inner.lock().unwrap_or_else(PoisonError::into_inner);
            match inner.phase {
                Phase::Closed | Phase::Failing { .. } => inner.generation,
                Phase::Open { until } => {
                    let now = self.clock.now();
                    if now < until {
                        return Err(Rejected {
                            retry_after: until.saturating_duration_since(now),
                        });
                    }
                    inner.generation = inner.generation.wrapping_add(1);
                    inner.phase = Phase::Probing;
                    inner.generation
                }
                Phase::Probing => {
                    return Err(Rejected {
                        retry_after: Duration::ZERO,
                    });
                }
            }
        };
        Ok(Permit {
            breakers: self,
            breaker,
            generation,
            settled: false,
        })
    }

    /// The state of `function`'s breaker (`Closed` for a function never seen).
    pub fn state(&self, function: &str) -> BreakerState {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        breakers
            .get(function)
            .map_or(BreakerState::Closed, |breaker| self.state_of(breaker))
    }

    /// Every function seen so far with its breaker's state, sorted by name.
    pub fn states(&self) -> Vec<(String, BreakerState)> {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        let mut states: Vec<(String, BreakerState)> = breakers
            .iter()
            .map(|(name, breaker)| (name.to_string(), self.state_of(breaker)))
            .collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
    }

    fn state_of(&self, breaker: &Breaker) -> BreakerState {
        let inner = breaker.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.phase {
            Phase::Closed | Phase::Failing { .. } => BreakerState::Closed,
            Phase::Open { until } if self.clock.now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::Probing => BreakerState::HalfOpen,
        }
    }

    fn breaker(&self, function: &str) -> Arc<Breaker> {
        if let Some(breaker) = self
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(function)
        {
            return Arc::clone(breaker);
        }
        let mut breakers = self
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(breakers.entry(Box::from(function)).or_default())
    }

    fn settle(&self, breaker: &Breaker, generation: u64, result: Settle) {
        let mut inner = breaker.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.generation != generation {
            return;
        }
        let next = match (inner.phase, result) {
            (Phase::Closed, Settle::Success) => return,
            (Phase::Failing { .. } | Phase::Probing, Settle::Success) => Phase::Closed,
            // Results of requests admitted before the breaker opened change nothing.
            (Phase::Open { .. }, _) => return,
            (Phase::Closed, Settle::Failure) => self.after_failure(0),
            (Phase::Failing { failures }, Settle::Failure) => self.after_failure(failures),
            (Phase::Probing, Settle::Failure) => self.open(),
            (Phase::Closed | Phase::Failing { .. }, Settle::Release) => return,
            // The probe never reached the function: the next caller probes instead.
            (Phase::Probing, Settle::Release) => Phase::Open {
                until: self.clock.now(),
            },
        };
        // Closed and failing are one period: a success in between resets the count but the
        // failures of requests admitted earlier in that period still count.
        let changes_generation = !matches!(
            (inner.phase, next),
            (
                Phase::Closed | Phase::Failing { .. },
                Phase::Closed | Phase::Failing { .. }
            )
        );
        inner.phase = next;
        if changes_generation {
            inner.generation = inner.generation.wrapping_add(1);
        }
    }

    fn after_failure(&self, failures: u32) -> Phase {
        let failures = failures.saturating_add(1);
        if self.config.threshold != 0 && failures >= self.config.threshold {
            self.open()
        } else {
            Phase::Failing { failures }
        }
    }

    fn open(&self) -> Phase {
        let now = self.clock.now();
        Phase::Open {
            until: now.checked_add(self.config.recovery_timeout).unwrap_or(now),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    Success,
    Failure,
    Release,
}

/// Leave to invoke a function; settle it with [`Permit::success`] or [`Permit::failure`].
/// Dropping it unsettled counts as a failure.
#[must_use = "an unsettled permit counts as a failure when dropped"]
pub struct Permit<'b, C: Clock = SystemClock> {
    breakers: &'b CircuitBreakers<C>,
    breaker: Arc<Breaker>,
    generation: u64,
    settled: bool,
}

impl<C: Clock> std::fmt::Debug for Permit<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("generation", &self.generation)
            .field("settled", &self.settled)
            .finish()
    }
}

impl<C: Clock> Permit<'_, C> {
    /// The invocation succeeded: a failing or half-open breaker closes.
    pub fn success(self) {
        self.settle(Settle::Success);
    }

    /// The invocation failed: one more consecutive failure, or, for the probe, open again.
    pub fn failure(self) {
        self.settle(Settle::Failure);
    }

    /// [`Permit::success`] when `success`, else [`Permit::failure`].
    pub fn record(self, success: bool) {
        self.settle(if success {
            Settle::Success
        } else {
            Settle::Failure
        });
    }

    /// The function was never reached (throttled, no worker in time, shutting down): counts
    /// neither way; a half-open probe's turn passes to the next caller.
    pub fn release(self) {
        self.settle(Settle::Release);
    }

    fn settle(mut self, result: Settle) {
        self.settled = true;
        self.breakers.settle(&self.breaker, self.generation, result);
    }
}

impl<C: Clock> Drop for Permit<'_, C> {
    fn drop(&mut self) {
        if !self.settled {
            self.breakers
                .settle(&self.breaker, self.generation, Settle::Failure);
        }
    }
}
