//! [`Lease`]: exclusive use of one worker for one invocation; returns it to its pool when done.

use std::fmt;
use std::sync::Arc;

use crate::{Pool, PooledWorker, WorkerFactory};

/// One worker leased to one invocation. [`release`](Self::release) it when the invocation is
/// done, [`discard`](Self::discard) it when the environment must not be reused (timeout, crash).
/// Dropping a lease releases it if the worker is alive and discards it otherwise, so capacity
/// never leaks.
#[must_use = "a lease holds a worker; release or discard it"]
pub struct Lease<F: WorkerFactory> {
    pool: Arc<Pool<F>>,
    /// `None` only inside `release`/`discard`/`drop`, which consume the lease.
    worker: Option<F::Worker>,
    cold: bool,
}

impl<F: WorkerFactory> Lease<F> {
    pub(crate) fn new(pool: Arc<Pool<F>>, worker: F::Worker, cold: bool) -> Self {
        Self {
            pool,
            worker: Some(worker),
            cold,
        }
    }

    /// The leased worker.
    pub fn worker(&self) -> &F::Worker {
        match &self.worker {
            Some(worker) => worker,
            // Unreachable: the methods that empty `worker` consume the lease.
            None => unreachable!("lease used after its worker was returned"),
        }
    }

    /// True when the worker was started on demand and this is its first invocation
    /// (AWS reports an init duration for it). Pre-warmed workers are not cold.
    pub fn cold_start(&self) -> bool {
        self.cold
    }

    /// Returns the worker to the pool: to the first waiting caller, else to the idle stack.
    /// A worker that died meanwhile is discarded instead.
    pub fn release(self) {
        drop(self);
    }

    /// Shuts the worker down instead of reusing it; the freed capacity goes to a waiting caller.
    pub fn discard(mut self) {
        if let Some(worker) = self.worker.take() {
            self.pool.discard_worker(worker);
        }
    }
}

impl<F: WorkerFactory> Drop for Lease<F> {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            self.pool.checkin(worker);
        }
    }
}

impl<F: WorkerFactory> fmt::Debug for Lease<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("function", &self.pool.function_name())
            .field("worker", &self.worker.as_ref().map(PooledWorker::id))
            .field("cold_start", &self.cold)
            .finish()
    }
}
