//! Fixtures shared by esb-agent's integration tests and `benches/invoke.rs`: log sinks, fixture
//! paths, a `WorkerSpec` builder, invocation inputs, and bounded start and invoke.

// Every test file (and the bench) is its own crate and uses only part of this module; the rest
// would otherwise warn as dead code there.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use esb_agent::driver::process::{NetworkMode, SandboxMode};
use esb_agent::driver::{DriverKind, DriverSettings};
use esb_agent::environment::{Credentials, Endpoints};
use esb_agent::logs::{LogLine, LogSink};
use esb_agent::runtimes::{Runtime, RuntimeClients, launch_command};
use esb_agent::{Driver, InvokeInput, InvokeResult, Worker, WorkerSpec};
use esb_model::Function;

/// How long one step may take, so that a stuck worker fails the test instead of hanging it.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A directory under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Where the runtime interface clients are installed; shared with `esb` so that tests reuse
/// what is already downloaded.
pub fn runtime_cache() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".esb/runtimes")
}

/// A log sink that keeps every line, for tests that assert on logs.
#[derive(Debug, Default)]
pub struct Collected(Mutex<Vec<LogLine>>);

impl LogSink for Collected {
    fn write(&self, line: LogLine) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }
}

impl Collected {
    pub fn lines(&self) -> Vec<LogLine> {
        self.0.lock().map(|lines| lines.clone()).unwrap_or_default()
    }

    pub fn texts(&self) -> Vec<String> {
        self.lines().into_iter().map(|line| line.text).collect()
    }
}

/// A log sink that drops every line.
#[derive(Debug)]
pub struct Discard;

impl LogSink for Discard {
    fn write(&self, _line: LogLine) {}
}

/// A `WorkerSpec` for a function in `task_root`, named `Fixture`/`fixture` in `us-east-1` with
/// access key `esb` unless a setter says otherwise.
#[derive(Debug)]
pub struct SpecBuilder {
    function: Function,
    task_root: PathBuf,
    opt_dir: PathBuf,
    secret_access_key: String,
    env_overrides: Vec<(String, String)>,
}

impl SpecBuilder {
    pub fn new(runtime: &str, handler: &str, task_root: impl Into<PathBuf>) -> SpecBuilder {
        let task_root = task_root.into();
        SpecBuilder {
            function: Function {
                runtime: Some(runtime.into()),
                handler: Some(handler.into()),
                ..Function::new("Fixture", "fixture")
            },
            // A directory that does not exist: no layers, no extensions.
            opt_dir: task_root.join("no-opt"),
            task_root,
            secret_access_key: "esb".into(),
            env_overrides: Vec::new(),
        }
    }

    /// The function's logical id and name (the name is also the last part of its ARN).
    pub fn named(mut self, logical_id: &str, name: &str) -> SpecBuilder {
        self.function.logical_id = logical_id.into();
        self.function.name = name.into();
        self
    }

    pub fn timeout(mut self, seconds: u32) -> SpecBuilder {
        self.function.timeout = seconds;
        self
    }

    pub fn memory_size(mut self, megabytes: u32) -> SpecBuilder {
        self.function.memory_size = megabytes;
        self
    }

    /// A variable of the function's own `Environment`.
    pub fn environment(mut self, name: &str, value: &str) -> SpecBuilder {
        self.function.environment.insert(name.into(), value.into());
        self
    }

    pub fn reserved_concurrency(mut self, workers: Option<u32>) -> SpecBuilder {
        self.function.reserved_concurrency = workers;
        self
    }

    pub fn provisioned_concurrency(mut self, workers: Option<u32>) -> SpecBuilder {
        self.function.provisioned_concurrency = workers;
        self
    }

    pub fn secret_access_key(mut self, secret: &str) -> SpecBuilder {
        self.secret_access_key = secret.into();
        self
    }

    /// The `/opt` directory (layers and external extensions).
    pub fn opt_dir(mut self, dir: PathBuf) -> SpecBuilder {
        self.opt_dir = dir;
        self
    }

    /// An `esb invoke --env-vars` value, which wins over the function's own environment.
    pub fn env_override(mut self, name: &str, value: &str) -> SpecBuilder {
        self.env_overrides.push((name.into(), value.into()));
        self
    }

    /// Blocks: for Python and Node.js this may install the runtime interface client first
    /// (see `build_on_blocking_pool`).
    pub fn build(self) -> Arc<WorkerSpec> {
        let runtime_name = self.function.runtime.clone().unwrap_or_default();
        let handler = self.function.handler.clone().unwrap_or_default();
        let runtime = Runtime::parse(&runtime_name).expect("runtime");
        let clients = RuntimeClients::new(runtime_cache(), false);
        let launch =
            launch_command(&runtime, &handler, &self.task_root, &clients).expect("launch command");
        Arc::new(WorkerSpec {
            arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}",
                self.function.name
            ),
            function: self.function,
            launch,
            task_root: self.task_root,
            opt_dir: self.opt_dir,
            region: "us-east-1".into(),
            credentials: Credentials {
                access_key_id: "esb".into(),
                secret_access_key: self.secret_access_key,
                session_token: None,
            },
            endpoints: Endpoints::default(),
            env_overrides: self.env_overrides.into_iter().collect(),
            host_path: std::env::var("PATH").unwrap_or_default(),
        })
    }

    /// `build` off the async worker threads, since installing a runtime client blocks.
    pub async fn build_on_blocking_pool(self) -> Arc<WorkerSpec> {
        tokio::task::spawn_blocking(move || self.build())
            .await
            .expect("spec")
    }
}

/// An invocation without trace header, client context or Cognito identity.
pub fn input(request_id: impl Into<String>, payload: impl Into<Bytes>) -> InvokeInput {
    InvokeInput {
        request_id: request_id.into(),
        payload: payload.into(),
        trace_id: None,
        client_context: None,
        cognito_identity: None,
    }
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("json payload")
}

/// `future`'s output, failing the test when it takes longer than `LIMIT`.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future).await.expect("in time")
}

/// The process driver with the sandbox off: these tests look at workers' processes from the
/// host (the sandbox has its own tests, through `esb`).
pub fn unconfined() -> Arc<dyn Driver> {
    esb_agent::driver::driver(&DriverSettings {
        kind: DriverKind::Process,
        sandbox: SandboxMode::Off,
        network: NetworkMode::Isolated,
        egress: false,
        init: Vec::new(),
        run_dir: std::env::temp_dir(),
    })
    .expect("the unconfined process driver")
}

/// A started worker and the sink that collects its logs.
pub async fn start(spec: Arc<WorkerSpec>) -> (Worker, Arc<Collected>) {
    let logs = Arc::new(Collected::default());
    let driver = unconfined();
    let worker = tokio::time::timeout(LIMIT, Worker::start(spec, driver.as_ref(), logs.clone()))
        .await
        .expect("start in time")
        .expect("started");
    (worker, logs)
}

pub async fn invoke(worker: &Worker, input: InvokeInput) -> InvokeResult {
    within(worker.invoke(input)).await.expect("invoked")
}
