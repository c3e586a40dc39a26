//! Per-function warm pools: a [`Pool`] hands execution environments ("workers") to invocations
//! one at a time, caps how many exist, queues callers FIFO with a timeout, keeps provisioned
//! workers warm and scales the rest to zero. It is generic over the worker type
//! ([`WorkerFactory`], [`PooledWorker`]) so the agent's process workers and test fakes both fit.
//!
//! ```text
//! acquire ─▶ idle worker (most recently used first)? ─▶ Lease
//!         └▶ capacity left?   ─▶ start one (cold start) ─▶ Lease { cold_start: true }
//!         └▶ queue (FIFO, acquire_timeout) ◀─ released / restarted worker
//! ```

mod config;
mod error;
mod lease;
mod pool;
mod worker;

pub use config::{PoolConfig, PoolStats};
pub use error::{AcquireError, StartError};
pub use lease::Lease;
pub use pool::Pool;
pub use worker::{PooledWorker, WorkerFactory};
