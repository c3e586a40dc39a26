//! The worker-driver seam: a [`Driver`] is a place where a worker's processes run (a child
//! process of the box, a sandboxed one, later a container). Drivers start, watch, limit and stop
//! a worker's programs; they never see invocations. The invoke lifecycle (the worker's Runtime
//! API, init, timeouts, outcomes, logs: [`crate::worker`]) is defined once, above this seam.
//!
//! A driver does three things for a worker: it binds the worker's Runtime API listener where
//! only that worker can reach it and hands it to [`RuntimeApi::serve`]; it runs the worker's
//! programs (extensions first, the runtime last) with the environment it is given plus
//! `AWS_LAMBDA_RUNTIME_API`; and it reports each program's exit, the worker's memory and
//! whether the kernel killed it for memory. Drivers are used as `Arc<dyn Driver>`, chosen at
//! run time (`[workers] driver`, `ESB_MODE`).

#[cfg(test)]
pub(crate) mod fake;
pub mod process;
mod settings;

pub use settings::{DriverKind, DriverSettings, default_run_dir, driver};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use nix::sys::signal::Signal;
use tokio::sync::watch;

use crate::logs::LogSource;
use crate::runtime_api::RuntimeApi;

/// A boxed future, so that drivers can be chosen at run time (`dyn Driver`). Only cold paths
/// (starting, sweeping) are boxed; the invoke path never goes through a driver.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A place where workers run.
pub trait Driver: Send + Sync + std::fmt::Debug + 'static {
    /// What runs the workers and how isolated they are, for `esb up` and `esb status`.
    fn isolation(&self) -> Isolation;

    /// Where a worker sees its code and layers, so that paths in its environment and
    /// command line are the ones it can open.
    fn code_view(&self) -> CodeView;

    /// Binds the worker's Runtime API (serving it through `api`), starts the worker's programs
    /// and returns at once (init is the worker's business). Dropping the returned sandbox, or
    /// this future before it completes, must stop whatever was started.
    fn start<'a>(
        &'a self,
        launch: Launch,
        api: &'a RuntimeApi,
    ) -> BoxFuture<'a, Result<Box<dyn Sandbox>, DriverError>>;

    /// Removes what an earlier instance of the box left behind (processes, cgroups, mounts,
    /// sockets) and says what it removed. Never touches a live box's workers.
    fn sweep(&self) -> Swept;

    /// Removes what this driver's workers still hold once they were stopped (the box is
    /// stopping): nothing is left for a later sweep.
    fn release(&self) -> BoxFuture<'_, ()>;
}

/// One started worker as its driver holds it. Dropping it kills whatever still runs.
pub trait Sandbox: Send + Sync + std::fmt::Debug {
    /// One exit watch per program of [`Launch::programs`], in the same order: `None` while
    /// the program runs.
    fn exits(&self) -> &[watch::Receiver<Option<Exit>>];

    /// Kills every process of the worker; the exit watches record the ends.
    fn kill(&self);

    /// Whether the kernel killed a process of the worker for going over its memory limit.
    fn oom_killed(&self) -> bool;

    /// The worker's peak memory in MB (Lambda's "Max Memory Used"), 0 when unknown.
    fn peak_memory_mb(&self) -> u64;

    /// Memory and CPU the worker uses now, for `/metrics/containers`; `None` once it is gone.
    fn usage(&self) -> Option<Usage>;
}

/// How isolated a driver's workers are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Isolation {
    /// The driver's name: `process`, later `docker`, `containerd`.
    pub driver: String,
    /// Whether each worker has its own sandbox (file system, user, processes, network).
    pub sandboxed: bool,
    /// One line for people: what the workers can reach, or why they run unconfined.
    pub summary: String,
}

/// Where a worker sees its code and layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeView {
    /// At their host paths (an unconfined process).
    Host,
    /// At `/var/task` and `/opt`, as on Lambda (a sandbox or a container mounts them there).
    Lambda,
}

/// Where a Lambda function finds its code.
pub const LAMBDA_TASK_ROOT: &str = "/var/task";
/// Where a Lambda function finds its layers.
pub const LAMBDA_OPT_DIR: &str = "/opt";

/// Everything a driver needs to start one worker.
#[derive(Debug)]
pub struct Launch {
    /// Unique among this box instance's workers, e.g. `hello-3`.
    pub worker_id: String,
    pub memory_mb: u32,
    /// The size of the worker's `/tmp`, Lambda's `EphemeralStorage`.
    pub ephemeral_storage_mb: u32,
    /// Host directories the worker needs, read-only.
    pub mounts: Mounts,
    /// Extensions first, the runtime last; paths as the worker sees them ([`Driver::code_view`]).
    pub programs: Vec<Program>,
    /// The whole environment but `AWS_LAMBDA_RUNTIME_API`, which the driver adds.
    pub environment: Vec<(String, String)>,
    /// The box's services (S3, DynamoDB, Lambda, logs) on the host's loopback, which the
    /// worker must reach at the same addresses.
    pub endpoints: Vec<SocketAddr>,
    /// Where the worker's output goes, line by line.
    pub output: Arc<dyn WorkerOutput>,
}

/// Host directories shown to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounts {
    /// The function's code: `/var/task`.
    pub task_root: PathBuf,
    /// The function's layers: `/opt`.
    pub opt_dir: PathBuf,
    /// What the runtime runs from (interpreter, runtime interface client), at their host paths.
    pub runtime: Vec<PathBuf>,
}

/// One program of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
}

/// Receives a worker's output, a line at a time.
pub trait WorkerOutput: Send + Sync + std::fmt::Debug {
    fn line(&self, source: LogSource, text: String);
}

/// How a worker's program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    /// An end nothing is known about (the watcher itself failed).
    pub const UNKNOWN: Exit = Exit {
        code: None,
        signal: None,
    };
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit status {code}"),
            (None, Some(signal)) => {
                let name = Signal::try_from(signal).map_or("unknown", Signal::as_str);
                write!(f, "signal: {signal} ({name})")
            }
            (None, None) => f.write_str("unknown exit"),
        }
    }
}

/// Memory and CPU of one worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub memory_mb: f64,
    pub cpu_seconds: f64,
}

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// One line per thing removed, e.g. `cgroup esb/4242-99/hello-1 (2 processes killed)`.
    pub removed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The worker's programs could not be started; `message` says which and why.
    #[error("{message}")]
    Start { message: String },
}

impl DriverError {
    pub fn start(message: impl Into<String>) -> DriverError {
        DriverError::Start {
            message: message.into(),
        }
    }
}

/// Completes when the first of `exits` records an end; never when there are none.
pub async fn first_exit(exits: &[watch::Receiver<Option<Exit>>]) -> Exit {
    let mut waits = tokio::task::JoinSet::new();
    for exit in exits {
        let mut exit = exit.clone();
        waits.spawn(async move {
            match exit.wait_for(Option::is_some).await {
                Ok(exit) => exit.clone(),
                Err(_) => None,
            }
        });
    }
    while let Some(done) = waits.join_next().await {
        if let Ok(Some(exit)) = done {
            return exit;
        }
    }
    std::future::pending().await
}

/// Waits until `exit` records an end.
pub async fn exited(exit: &watch::Receiver<Option<Exit>>) -> Exit {
    let mut exit = exit.clone();
    match exit.wait_for(Option::is_some).await {
        Ok(exit) => exit.clone().unwrap_or(Exit::UNKNOWN),
        Err(_) => Exit::UNKNOWN,
    }
}
