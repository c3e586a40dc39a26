//! The two traits a worker backend implements to live in a [`crate::Pool`].

use std::future::Future;

use crate::StartError;

/// Starts execution environments for one function (the agent's process driver, a test fake).
pub trait WorkerFactory: Send + Sync + 'static {
    /// The worker handle this factory produces.
    type Worker: PooledWorker;

    /// Starts one execution environment (a cold start). Errors are reported to the acquirer
    /// that caused the start. The pool bounds the call with
    /// [`PoolConfig::start_timeout`](crate::PoolConfig::start_timeout) and drops the future when
    /// it expires, so an implementation must clean up a half-started environment on drop.
    fn start(&self) -> impl Future<Output = Result<Self::Worker, StartError>> + Send;
}

/// One execution environment: serves one invocation at a time while leased.
pub trait PooledWorker: Send + Sync + 'static {
    /// A stable identifier, for logs and metrics.
    fn id(&self) -> &str;

    /// False once the environment died (its process exited); the pool never hands out a dead
    /// worker and the janitor drops dead idle ones. Called under the pool's lock: keep it cheap.
    fn is_alive(&self) -> bool;

    /// Stops the environment. The pool runs it on a spawned task, never under its lock.
    fn shutdown(self) -> impl Future<Output = ()> + Send;
}
