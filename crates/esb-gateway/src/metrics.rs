//! Invocation metrics for `GET /metrics` (Prometheus text exposition format 0.0.4) and the
//! worker list for `GET /metrics/containers` (JSON).
//!
//! [`Metrics::observe`] records one request's [`Outcome`] on the hot path: a read lock on the
//! function map and a few relaxed atomic adds; a function's series are allocated the first time
//! it is seen. [`Metrics::render`] writes every series, plus gauges from the pools and the
//! circuit breakers, sorted by function name.
//!
//! Counting follows CloudWatch's Lambda metrics: `esb_invocations_total` counts requests that
//! reached the function (successes, function errors, timeouts, crashes, malformed responses),
//! not requests refused before that (throttled, no worker in time, breaker open);
//! `esb_invocation_errors_total{type}` counts both kinds by type, and the duration histogram
//! only invocations.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use esb_agent::driver::Isolation;
use esb_pool::PoolStats;
use serde::Serialize;

use crate::breaker::{BreakerState, CircuitBreakers, Clock};

/// Upper bounds (seconds) of `esb_invocation_duration_seconds` buckets; `+Inf` follows.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of `esb_init_duration_seconds` buckets; `+Inf` follows.
pub const INIT_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How one request to a function ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The function returned a result (whatever status code it chose).
    Success,
    /// The function returned an error (`X-Amz-Function-Error`).
    FunctionError,
    /// The function ran past its timeout (`Sandbox.Timedout`).
    Timeout,
    /// The worker died or could not start (`Runtime.ExitError`, init failure).
    Crash,
    /// The function's result was not a valid proxy response.
    InvalidResponse,
    /// Refused: the function is at its concurrency limit (429).
    Throttled,
    /// Refused: no worker became free in time (503).
    Unavailable,
    /// Refused: the function's circuit breaker is open (502).
    CircuitOpen,
}

impl Status {
    const ALL: [Status; 8] = [
        Status::Success,
        Status::FunctionError,
        Status::Timeout,
        Status::Crash,
        Status::InvalidResponse,
        Status::Throttled,
        Status::Unavailable,
        Status::CircuitOpen,
    ];

    /// The `type` label of `esb_invocation_errors_total`; `None` for a success.
    pub fn error_type(self) -> Option<&'static str> {
        match self {
            Status::Success => None,
            Status::FunctionError => Some("function_error"),
            Status::Timeout => Some("timeout"),
            Status::Crash => Some("crash"),
            Status::InvalidResponse => Some("invalid_response"),
            Status::Throttled => Some("throttle"),
            Status::Unavailable => Some("unavailable"),
            Status::CircuitOpen => Some("circuit_open"),
        }
    }

    /// True when the request reached the function.
    pub fn invoked(self) -> bool {
        !matches!(
            self,
            Status::Throttled | Status::Unavailable | Status::CircuitOpen
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One request's result, as the gateway saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// Time spent invoking (acquire + invoke), recorded only when the function was invoked.
    pub duration: Duration,
    /// A new worker was started for this request.
    pub cold_start: bool,
    /// The new worker's init phase, when known.
    pub init_duration: Option<Duration>,
}

/// Every function's counters and histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    series: RwLock<HashMap<Box<str>, Arc<Series>>>,
}

#[derive(Debug)]
struct Series {
    invocations: AtomicU64,
    /// Indexed by [`Status::index`]; the `Success` slot stays unused.
    by_status: [AtomicU64; Status::ALL.len()],
    cold_starts: AtomicU64,
    duration: Histogram,
    init: Histogram,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            invocations: AtomicU64::new(0),
            by_status: Default::default(),
            cold_starts: AtomicU64::new(0),
            duration: Histogram::new(&DURATION_BUCKETS),
            init: Histogram::new(&INIT_BUCKETS),
        }
    }
}

/// A fixed-bucket histogram: per-bucket (not cumulative) counts plus one overflow slot, and the
/// sum in nanoseconds. The count is the sum of the buckets, so `_count` always equals the
/// `+Inf` bucket even while observations race with a render.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        let slot = self
            .bounds
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(self.bounds.len());
        if let Some(bucket) = self.buckets.get(slot) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one request to `function`.
    pub fn observe(&self, function: &str, outcome: Outcome) {
        let series = self.series(function);
        if outcome.status != Status::Success
            && let Some(counter) = series.by_status.get(outcome.status.index())
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.status.invoked() {
            series.invocations.fetch_add(1, Ordering::Relaxed);
            series.duration.observe(outcome.duration);
        }
        if outcome.cold_start {
            series.cold_starts.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(init) = outcome.init_duration {
            series.init.observe(init);
        }
    }

    fn series(&self, function: &str) -> Arc<Series> {
        if let Some(series) = self
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(function)
        {
            return Arc::clone(series);
        }
        let mut map = self.series.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(Box::from(function)).or_default())
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric; serve it with
    /// `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
    pub fn render<C: Clock>(
        &self,
        pools: &[(String, PoolStats)],
        breakers: &CircuitBreakers<C>,
    ) -> String {
        let mut series: Vec<(Box<str>, Arc<Series>)> = self
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, series)| (name.clone(), Arc::clone(series)))
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pools: Vec<&(String, PoolStats)> = pools.iter().collect();
        pools.sort_by(|a, b| a.0.cmp(&b.0));
        let breakers = breakers.states();

        let mut out = String::with_capacity(1024 + series.len() * 2048 + pools.len() * 512);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        header(
            &mut out,
            "esb_invocations_total",
            "counter",
            "Invocations that reached the function (successes and errors, not refusals).",
        );
        for (name, s) in &series {
            sample(
                &mut out,
                "esb_invocations_total",
                &[("function", name)],
                load(&s.invocations),
            );
        }
        header(
            &mut out,
            "esb_invocation_errors_total",
            "counter",
            "Failed or refused requests by type: function_error, timeout, crash, invalid_response, throttle, unavailable, circuit_open.",
        );
        for (name, s) in &series {
            for status in Status::ALL {
                let (Some(kind), Some(counter)) =
                    (status.error_type(), s.by_status.get(status.index()))
                else {
                    continue;
                };
                sample(
                    &mut out,
                    "esb_invocation_errors_total",
                    &[("function", name), ("type", kind)],
                    load(counter),
                );
            }
        }
        header(
            &mut out,
            "esb_throttles_total",
            "counter",
            "Requests refused because the function was at its concurrency limit.",
        );
        for (name, s) in &series {
            let throttles = s.by_status.get(Status::Throttled.index()).map_or(0, load);
            sample(
                &mut out,
                "esb_throttles_total",
                &[("function", name)],
                throttles,
            );
        }
        header(
            &mut out,
            "esb_cold_starts_total",
            "counter",
            "Requests that started a new worker.",
        );
        for (name, s) in &series {
            sample(
                &mut out,
                "esb_cold_starts_total",
                &[("function", name)],
                load(&s.cold_starts),
            );
        }
        header(
            &mut out,
            "esb_invocation_duration_seconds",
            "histogram",
            "Time from acquiring a worker to the function's result.",
        );
        for (name, s) in &series {
            histogram(
                &mut out,
                "esb_invocation_duration_seconds",
                name,
                &s.duration,
            );
        }
        header(
            &mut out,
            "esb_init_duration_seconds",
            "histogram",
            "Init phase of newly started workers.",
        );
        for (name, s) in &series {
            histogram(&mut out, "esb_init_duration_seconds", name, &s.init);
        }

        header(&mut out, "esb_pool_workers", "gauge", "Workers by state.");
        for (name, stats) in &pools {
            for (state, count) in [
                ("idle", stats.idle),
                ("busy", stats.busy),
                ("starting", stats.starting),
            ] {
                sample(
                    &mut out,
                    "esb_pool_workers",
                    &[("function", name), ("state", state)],
                    count as u64,
                );
            }
        }
        header(
            &mut out,
            "esb_pool_waiting",
            "gauge",
            "Callers queued for a worker.",
        );
        for (name, stats) in &pools {
            sample(
                &mut out,
                "esb_pool_waiting",
                &[("function", name)],
                stats.waiting as u64,
            );
        }
        header(
            &mut out,
            "esb_pool_worker_starts_total",
            "counter",
            "Workers started successfully (cold starts and pre-warms).",
        );
        for (name, stats) in &pools {
            sample(
                &mut out,
                "esb_pool_worker_starts_total",
                &[("function", name)],
                stats.started,
            );
        }
        header(
            &mut out,
            "esb_pool_worker_start_failures_total",
            "counter",
            "Worker starts that failed or timed out.",
        );
        for (name, stats) in &pools {
            sample(
                &mut out,
                "esb_pool_worker_start_failures_total",
                &[("function", name)],
                stats.start_failures,
            );
        }

        header(
            &mut out,
            "esb_circuit_breaker_open",
            "gauge",
            "1 while the function's circuit breaker rejects requests (open), else 0.",
        );
        for (name, state) in &breakers {
            let open = u64::from(*state == BreakerState::Open);
            sample(
                &mut out,
                "esb_circuit_breaker_open",
                &[("function", name)],
                open,
            );
        }
        header(
            &mut out,
            "esb_circuit_breaker_state",
            "gauge",
            "The function's circuit breaker: 0 closed, 1 open, 2 half-open.",
        );
        for (name, state) in &breakers {
            let code = match state {
                BreakerState::Closed => 0,
                BreakerState::Open => 1,
                BreakerState::HalfOpen => 2,
            };
            sample(
                &mut out,
                "esb_circuit_breaker_state",
                &[("function", name)],
                code,
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // HELP text escapes `\` and newline; ours are constants without either.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    write_labels(out, labels);
    let _ = writeln!(out, " {value}");
}

fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

/// Appends `value` with `\`, `"` and newline escaped, as the exposition format requires.
pub fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn histogram(out: &mut String, name: &str, function: &str, histogram: &Histogram) {
    let bucket_name = format!("{name}_bucket");
    let mut cumulative = 0u64;
    let mut le = String::new();
    for (slot, bucket) in histogram.buckets.iter().enumerate() {
        cumulative = cumulative.saturating_add(bucket.load(Ordering::Relaxed));
        le.clear();
        match histogram.bounds.get(slot) {
            Some(bound) => {
                let _ = write!(le, "{bound}");
            }
            None => le.push_str("+Inf"),
        }
        sample(
            out,
            &bucket_name,
            &[("function", function), ("le", &le)],
            cumulative,
        );
    }
    let sum = Duration::from_nanos(histogram.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
    sample(out, &format!("{name}_sum"), &[("function", function)], sum);
    sample(
        out,
        &format!("{name}_count"),
        &[("function", function)],
        cumulative,
    );
}

/// What a worker is doing, for `/metrics/containers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    Starting,
    Idle,
    Busy,
    Stopping,
}

/// One worker (execution environment) as `/metrics/containers` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerInfo {
    pub id: String,
    pub function: String,
    pub state: WorkerState,
    /// The function's `MemorySize`.
    pub memory_limit_mb: u64,
    /// Resident memory now, when the driver can tell.
    pub memory_used_mb: Option<f64>,
    /// CPU time used so far, when the driver can tell.
    pub cpu_seconds: Option<f64>,
}

/// `{"containers":[…],"isolation":{…}}`, one object per worker with the fields of
/// [`WorkerInfo`] (unknown measurements and non-finite numbers as `null`), and what runs them.
pub fn containers_json(workers: &[WorkerInfo], isolation: &Isolation) -> String {
    #[derive(Serialize)]
    struct Containers<'w> {
        containers: &'w [WorkerInfo],
        isolation: &'w Isolation,
    }
    serde_json::to_string(&Containers {
        containers: workers,
        isolation,
    })
    .unwrap_or_else(|_| r#"{"containers":[]}"#.to_string())
}
