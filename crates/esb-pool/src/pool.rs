//! [`Pool`]: the state machine of one function's workers (idle stack, busy and starting
//! counts, FIFO wait queue), the start jobs that create workers, and the janitor.
//!
//! Rules that keep it correct:
//! - All state lives behind one `std::sync::Mutex`, held only for short bookkeeping; worker
//!   starts and shutdowns run on spawned tasks after the lock is released ([`Effects`]).
//! - A queued caller owns the receiving end of a oneshot channel; whoever removes it from the
//!   queue (under the lock) sends it exactly one [`Grant`]. A caller that gives up closes its
//!   receiver and drains it in one critical section, so a worker sent to a caller that left
//!   always comes back to the pool.
//! - Every event that frees capacity (discard, dead worker, failed start) starts a worker for
//!   the first queued caller, so a queue never waits next to free capacity.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::{AcquireError, Lease, PoolConfig, PoolStats, PooledWorker, StartError, WorkerFactory};

/// What a queued caller receives.
enum Grant<W> {
    /// A worker, already counted as busy.
    Worker {
        worker: W,
        cold: bool,
    },
    /// The start made for this caller failed.
    Failed(StartError),
    ShuttingDown,
}

struct IdleWorker<W> {
    worker: W,
    since: Instant,
    /// Started on demand and never leased yet.
    cold: bool,
}

struct Waiter<W> {
    id: u64,
    tx: oneshot::Sender<Grant<W>>,
}

/// Who gets the worker a start job produces.
enum Target<W> {
    /// A caller waiting on this channel (a cold start).
    Caller(oneshot::Sender<Grant<W>>),
    /// The pool itself (pre-warm, janitor top-up); the optional channel reports the outcome.
    Pool(Option<oneshot::Sender<Result<(), StartError>>>),
}

struct State<W> {
    accepting: bool,
    /// Stack: the most recently used worker is last and leased first; `since` ascends.
    idle: Vec<IdleWorker<W>>,
    busy: usize,
    starting: usize,
    waiters: VecDeque<Waiter<W>>,
    next_waiter: u64,
    started: u64,
    start_failures: u64,
    reaped: u64,
    dead: u64,
}

impl<W> State<W> {
    fn total(&self) -> usize {
        self.idle.len() + self.busy + self.starting
    }
}

/// Work decided under the lock and carried out after it is released.
struct Effects<W> {
    shutdown: Vec<W>,
    starts: Vec<Target<W>>,
}

impl<W> Default for Effects<W> {
    fn default() -> Self {
        Self {
            shutdown: Vec::new(),
            starts: Vec::new(),
        }
    }
}

/// One function's warm pool. Create it with [`Pool::new`] and share the returned `Arc`.
pub struct Pool<F: WorkerFactory> {
    name: String,
    factory: F,
    config: PoolConfig,
    state: Mutex<State<F::Worker>>,
    runtime: OnceLock<Handle>,
}

impl<F: WorkerFactory> Pool<F> {
    /// Creates the pool for `function_name` and, inside a tokio runtime, spawns its janitor
    /// (otherwise the janitor starts with the first `acquire` or `prewarm`).
    pub fn new(function_name: impl Into<String>, factory: F, mut config: PoolConfig) -> Arc<Self> {
        config.provisioned = config.provisioned.min(config.max_workers);
        config.janitor_interval = config.janitor_interval.max(Duration::from_millis(1));
        let pool = Arc::new(Self {
            name: function_name.into(),
            factory,
            config,
            state: Mutex::new(State {
                accepting: true,
                idle: Vec::new(),
                busy: 0,
                starting: 0,
                waiters: VecDeque::new(),
                next_waiter: 0,
                started: 0,
                start_failures: 0,
                reaped: 0,
                dead: 0,
            }),
            runtime: OnceLock::new(),
        });
        pool.runtime();
        pool
    }

    /// The function this pool serves.
    pub fn function_name(&self) -> &str {
        &self.name
    }

    /// The effective configuration (`provisioned` clamped to `max_workers`).
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Leases a worker: the most recently used idle one, else a newly started one if the cap
    /// allows (a cold start), else waits in FIFO order for up to `acquire_timeout`.
    ///
    /// `acquire_timeout` bounds the time spent queued; once a start is made for this caller it
    /// waits for that start, which `start_timeout` bounds. Dropping the returned future at any
    /// point leaves nothing behind: a worker already sent to it or started for it goes back to
    /// the pool.
    pub async fn acquire(self: &Arc<Self>) -> Result<Lease<F>, AcquireError> {
        if self.runtime().is_none() {
            return Err(AcquireError::Start(no_runtime()));
        }
        let begun = Instant::now();
        let mut fx = Effects::default();
        let step = {
            let mut st = self.lock();
            if !st.accepting {
                return Err(AcquireError::ShuttingDown);
            }
            let mut ready = None;
            while let Some(idle) = st.idle.pop() {
                if idle.worker.is_alive() {
                    st.busy += 1;
                    ready = Some(idle);
                    break;
                }
                st.dead += 1;
                fx.shutdown.push(idle.worker);
            }
            match ready {
                Some(idle) => Step::Ready(idle.worker, idle.cold),
                None if st.waiters.is_empty() && st.total() < self.config.max_workers => {
                    st.starting += 1;
                    let (tx, rx) = oneshot::channel();
                    fx.starts.push(Target::Caller(tx));
                    Step::Wait(None, rx)
                }
                None if self.config.max_workers == 0
                    || st.waiters.len() >= self.config.max_waiters =>
                {
                    Step::Throttled
                }
                None => {
                    let id = st.next_waiter;
                    st.next_waiter += 1;
                    let (tx, rx) = oneshot::channel();
                    st.waiters.push_back(Waiter { id, tx });
                    self.fill_waiters(&mut st, &mut fx);
                    Step::Wait(Some(id), rx)
                }
            }
        };
        self.apply(fx);
        match step {
            Step::Ready(worker, cold) => Ok(Lease::new(Arc::clone(self), worker, cold)),
            Step::Throttled => Err(AcquireError::Throttled),
            Step::Wait(id, rx) => self.wait(id, rx, begun).await,
        }
    }

    /// Starts workers until `provisioned` exist (ahead of traffic) and waits for them.
    /// Returns the first start error; the other starts still count.
    pub async fn prewarm(self: &Arc<Self>) -> Result<(), StartError> {
        if self.runtime().is_none() {
            return Err(no_runtime());
        }
        let mut fx = Effects::default();
        let mut reports = Vec::new();
        {
            let mut st = self.lock();
            if !st.accepting {
                return Err(StartError::new(
                    StartError::UNKNOWN,
                    "the worker pool is shutting down",
                ));
            }
            while st.total() < self.config.provisioned {
                st.starting += 1;
                let (tx, rx) = oneshot::channel();
                fx.starts.push(Target::Pool(Some(tx)));
                reports.push(rx);
            }
        }
        self.apply(fx);
        let mut first_error = None;
        for report in reports {
            let outcome = report.await.unwrap_or_else(|_| Err(abandoned()));
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        let st = self.lock();
        PoolStats {
            idle: st.idle.len(),
            busy: st.busy,
            starting: st.starting,
            waiting: st.waiters.len(),
            started: st.started,
            start_failures: st.start_failures,
            reaped: st.reaped,
            dead: st.dead,
        }
    }

    /// Stops accepting callers, answers queued ones with [`AcquireError::ShuttingDown`] and shuts
    /// every idle worker down (waiting for that). Busy workers are shut down when released,
    /// workers being started when their start completes.
    pub async fn shutdown(&self) {
        let (idle, waiters) = {
            let mut st = self.lock();
            st.accepting = false;
            (
                std::mem::take(&mut st.idle),
                std::mem::take(&mut st.waiters),
            )
        };
        for waiter in waiters {
            // A waiter that already gave up has nothing to be told.
            let _ = waiter.tx.send(Grant::ShuttingDown);
        }
        let Some(handle) = self.runtime.get() else {
            return; // No runtime ever ran this pool, so no worker was ever started.
        };
        let mut shutdowns = JoinSet::new();
        for idle in idle {
            shutdowns.spawn_on(idle.worker.shutdown(), handle);
        }
        while shutdowns.join_next().await.is_some() {}
        tracing::debug!(function = %self.name, "worker pool shut down");
    }

    /// Waits for the grant of a queued (`id` is `Some`) or cold-starting (`None`) caller.
    async fn wait(
        self: &Arc<Self>,
        id: Option<u64>,
        rx: oneshot::Receiver<Grant<F::Worker>>,
        begun: Instant,
    ) -> Result<Lease<F>, AcquireError> {
        let mut guard = WaitGuard {
            pool: self,
            id,
            rx,
            done: false,
        };
        let received = match id {
            None => (&mut guard.rx).await,
            Some(id) => {
                let deadline = begun + self.config.acquire_timeout;
                match tokio::time::timeout_at(deadline, &mut guard.rx).await {
                    Ok(received) => received,
                    Err(_elapsed) => {
                        if self.remove_waiter(id) {
                            guard.done = true;
                            return Err(AcquireError::Timeout {
                                waited: begun.elapsed(),
                            });
                        }
                        // Dequeued already: a worker or a start is on its way to us.
                        (&mut guard.rx).await
                    }
                }
            }
        };
        guard.done = true;
        match received {
            Ok(Grant::Worker { worker, cold }) => Ok(Lease::new(Arc::clone(self), worker, cold)),
            Ok(Grant::Failed(error)) => Err(AcquireError::Start(error)),
            // The sender goes away unsent only when the runtime drops our start job.
            Ok(Grant::ShuttingDown) | Err(_) => Err(AcquireError::ShuttingDown),
        }
    }

    /// Removes a queued caller; false if it was already dequeued (and so is being served).
    fn remove_waiter(&self, id: u64) -> bool {
        let mut st = self.lock();
        match st.waiters.iter().position(|w| w.id == id) {
            Some(index) => {
                st.waiters.remove(index);
                true
            }
            None => false,
        }
    }

    /// A lease ended normally (released or dropped).
    pub(crate) fn checkin(self: &Arc<Self>, worker: F::Worker) {
        let mut fx = Effects::default();
        {
            let mut st = self.lock();
            st.busy = st.busy.saturating_sub(1);
            if worker.is_alive() {
                self.place(&mut st, worker, false, &mut fx);
            } else {
                st.dead += 1;
                fx.shutdown.push(worker);
                self.fill_waiters(&mut st, &mut fx);
            }
        }
        self.apply(fx);
    }

    /// A lease was discarded: shut its worker down and give the capacity to the queue.
    pub(crate) fn discard_worker(self: &Arc<Self>, worker: F::Worker) {
        let mut fx = Effects::default();
        {
            let mut st = self.lock();
            st.busy = st.busy.saturating_sub(1);
            fx.shutdown.push(worker);
            self.fill_waiters(&mut st, &mut fx);
        }
        self.apply(fx);
    }

    /// A worker granted to a caller who left before taking it.
    fn return_unused(self: &Arc<Self>, worker: F::Worker, cold: bool) {
        let mut fx = Effects::default();
        {
            let mut st = self.lock();
            st.busy = st.busy.saturating_sub(1);
            self.place(&mut st, worker, cold, &mut fx);
        }
        self.apply(fx);
    }

    /// Puts an uncounted, alive worker to use: the first queued caller, else the idle stack.
    fn place(
        &self,
        st: &mut State<F::Worker>,
        mut worker: F::Worker,
        cold: bool,
        fx: &mut Effects<F::Worker>,
    ) {
        if !st.accepting {
            fx.shutdown.push(worker);
            return;
        }
        while let Some(waiter) = st.waiters.pop_front() {
            st.busy += 1;
            match waiter.tx.send(Grant::Worker { worker, cold }) {
                Ok(()) => return,
                Err(grant) => {
                    // Cannot happen while the waiter is queued (it closes only once dequeued);
                    // take the worker back all the same.
                    st.busy -= 1;
                    match grant {
                        Grant::Worker { worker: back, .. } => worker = back,
                        Grant::Failed(_) | Grant::ShuttingDown => return,
                    }
                }
            }
        }
        st.idle.push(IdleWorker {
            worker,
            since: Instant::now(),
            cold,
        });
    }

    /// Starts a worker for each queued caller that free capacity allows, first come first.
    fn fill_waiters(&self, st: &mut State<F::Worker>, fx: &mut Effects<F::Worker>) {
        while st.accepting && st.total() < self.config.max_workers {
            let Some(waiter) = st.waiters.pop_front() else {
                break;
            };
            st.starting += 1;
            fx.starts.push(Target::Caller(waiter.tx));
        }
    }

    /// A start job finished (`starting` still counts it).
    fn finish_start(
        self: &Arc<Self>,
        outcome: Result<F::Worker, StartError>,
        target: Target<F::Worker>,
    ) {
        let mut fx = Effects::default();
        {
            let mut st = self.lock();
            st.starting = st.starting.saturating_sub(1);
            match outcome {
                Ok(worker) => {
                    st.started += 1;
                    tracing::debug!(function = %self.name, worker = worker.id(), "worker started");
                    if !st.accepting {
                        fx.shutdown.push(worker);
                        match target {
                            Target::Caller(tx) => {
                                let _ = tx.send(Grant::ShuttingDown);
                            }
                            Target::Pool(report) => {
                                if let Some(report) = report {
                                    let _ = report.send(Err(StartError::new(
                                        StartError::UNKNOWN,
                                        "the worker pool is shutting down",
                                    )));
                                }
                            }
                        }
                    } else {
                        match target {
                            Target::Caller(tx) => {
                                st.busy += 1;
                                if let Err(grant) = tx.send(Grant::Worker { worker, cold: true }) {
                                    // The caller left: the fresh worker serves the next one.
                                    st.busy -= 1;
                                    if let Grant::Worker { worker, cold } = grant {
                                        self.place(&mut st, worker, cold, &mut fx);
                                    }
                                }
                            }
                            Target::Pool(report) => {
                                self.place(&mut st, worker, false, &mut fx);
                                if let Some(report) = report {
                                    let _ = report.send(Ok(()));
                                }
                            }
                        }
                    }
                }
                Err(error) => {
                    st.start_failures += 1;
                    tracing::warn!(function = %self.name, %error, "worker failed to start");
                    match target {
                        Target::Caller(tx) => {
                            let _ = tx.send(Grant::Failed(error));
                        }
                        Target::Pool(report) => {
                            if let Some(report) = report {
                                let _ = report.send(Err(error));
                            }
                        }
                    }
                    self.fill_waiters(&mut st, &mut fx);
                }
            }
        }
        self.apply(fx);
    }

    /// One janitor pass: drop dead idle workers, reap expired ones above `provisioned`, start
    /// workers up to `provisioned`. False once the pool shuts down.
    fn sweep(self: &Arc<Self>) -> bool {
        let mut fx = Effects::default();
        {
            let mut st = self.lock();
            if !st.accepting {
                return false;
            }
            let dead: Vec<_> = st
                .idle
                .extract_if(.., |idle| !idle.worker.is_alive())
                .map(|idle| idle.worker)
                .collect();
            st.dead += dead.len() as u64;
            fx.shutdown.extend(dead);

            let now = Instant::now();
            let removable = st.total().saturating_sub(self.config.provisioned);
            let expired = st
                .idle
                .iter()
                .take_while(|idle| now.duration_since(idle.since) >= self.config.idle_timeout)
                .count()
                .min(removable);
            st.reaped += expired as u64;
            fx.shutdown
                .extend(st.idle.drain(..expired).map(|idle| idle.worker));

            self.fill_waiters(&mut st, &mut fx);
            while st.total() < self.config.provisioned {
                st.starting += 1;
                fx.starts.push(Target::Pool(None));
            }
        }
        self.apply(fx);
        true
    }

    /// Carries out the effects of a critical section, outside the lock.
    fn apply(self: &Arc<Self>, fx: Effects<F::Worker>) {
        if fx.shutdown.is_empty() && fx.starts.is_empty() {
            return;
        }
        let Some(handle) = self.runtime.get() else {
            // Unreachable in practice: effects arise only after a runtime was recorded.
            tracing::error!(function = %self.name, "no tokio runtime to start or stop workers");
            return;
        };
        for worker in fx.shutdown {
            tracing::debug!(function = %self.name, worker = worker.id(), "shutting worker down");
            handle.spawn(worker.shutdown());
        }
        for target in fx.starts {
            let job = StartJob {
                pool: Arc::clone(self),
                target: Some(target),
            };
            handle.spawn(job.run());
        }
    }

    /// The runtime workers are started and stopped on, recorded on first use together with
    /// spawning the janitor.
    fn runtime(self: &Arc<Self>) -> Option<&Handle> {
        if let Some(handle) = self.runtime.get() {
            return Some(handle);
        }
        let current = Handle::try_current().ok()?;
        let mut first = false;
        let handle = self.runtime.get_or_init(|| {
            first = true;
            current
        });
        if first {
            handle.spawn(janitor(Arc::downgrade(self), self.config.janitor_interval));
        }
        Some(handle)
    }

    fn lock(&self) -> MutexGuard<'_, State<F::Worker>> {
        // No code panics while holding the lock, and the state stays consistent if one did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<F: WorkerFactory> fmt::Debug for Pool<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("function", &self.name)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The outcome of acquire's critical section.
enum Step<W> {
    Ready(W, bool),
    Wait(Option<u64>, oneshot::Receiver<Grant<W>>),
    Throttled,
}

/// Undoes a wait that ends early (the acquire future was dropped): leaves the queue, and
/// returns a worker that was already sent.
struct WaitGuard<'a, F: WorkerFactory> {
    pool: &'a Arc<Pool<F>>,
    id: Option<u64>,
    rx: oneshot::Receiver<Grant<F::Worker>>,
    done: bool,
}

impl<F: WorkerFactory> Drop for WaitGuard<'_, F> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let leftover = {
            let mut st = self.pool.lock();
            if let Some(id) = self.id {
                st.waiters.retain(|waiter| waiter.id != id);
            }
            // After close, every send fails (the sender keeps its worker) and a send that
            // already happened is still received here.
            self.rx.close();
            self.rx.try_recv().ok()
        };
        if let Some(Grant::Worker { worker, cold }) = leftover {
            self.pool.return_unused(worker, cold);
        }
    }
}

/// Starts one worker on a spawned task; if the task is dropped unfinished (runtime shutdown,
/// a panicking factory) the start still counts as failed, so `starting` never leaks.
struct StartJob<F: WorkerFactory> {
    pool: Arc<Pool<F>>,
    target: Option<Target<F::Worker>>,
}

impl<F: WorkerFactory> StartJob<F> {
    async fn run(mut self) {
        let timeout = self.pool.config.start_timeout;
        let outcome = match tokio::time::timeout(timeout, self.pool.factory.start()).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(StartError::new(
                StartError::TIMED_OUT,
                format!("the worker did not start within {timeout:?}"),
            )),
        };
        if let Some(target) = self.target.take() {
            self.pool.finish_start(outcome, target);
        }
    }
}

impl<F: WorkerFactory> Drop for StartJob<F> {
    fn drop(&mut self) {
        if let Some(target) = self.target.take() {
            self.pool.finish_start(Err(abandoned()), target);
        }
    }
}

/// Sweeps the pool every `every` until the pool is dropped or shut down.
async fn janitor<F: WorkerFactory>(pool: Weak<Pool<F>>, every: Duration) {
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        if !pool.sweep() {
            return;
        }
    }
}

fn abandoned() -> StartError {
    StartError::new(StartError::UNKNOWN, "the worker start was abandoned")
}

fn no_runtime() -> StartError {
    StartError::new(
        StartError::UNKNOWN,
        "the worker pool must be used inside a tokio runtime",
    )
}
