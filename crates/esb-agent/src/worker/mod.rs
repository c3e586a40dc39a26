//! A worker: one execution environment, whatever driver runs it. The lifecycle is defined here
//! once: the worker's Runtime API, init (with its timeout and the function's extensions),
//! invocations (timeouts, crashes, outcomes, `START`/`END`/`REPORT` lines, log tails) and
//! shutdown. A [`Driver`] only starts, watches and stops the worker's programs.
//!
//! A worker serves one invocation at a time, keeps its init state between invocations, and is
//! killed on timeout; a crash, timeout or init error leaves it dead, and the pool replaces it
//! on the next invocation, as on AWS.

mod body;
mod extensions;
mod outcome;
mod view;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use esb_model::Function;
use indexmap::IndexMap;

use tokio::sync::watch;

use crate::driver::{self, Driver, Launch, Mounts, Program, Sandbox, WorkerOutput};
use crate::environment::{Credentials, Endpoints, EnvironmentContext, lambda_environment};
use crate::invoke::{InvokeInput, InvokeResult, WorkerError};
use crate::logs::{self, LogLine, LogSink, LogSource, Report, Tail};
use crate::registry::WorkerRecord;
use crate::runtime_api::{ExtensionEvent, FunctionInfo, Invocation, RuntimeApi, ShutdownReason};
use crate::runtimes::LaunchCommand;
pub use body::BodyStream;
use body::StreamEnd;
use view::WorkerView;

/// Lambda's limit for a runtime's initialisation phase.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long extensions get after `SHUTDOWN` before the worker is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Everything needed to start workers of one function; shared by all its workers.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub function: Function,
    pub arn: String,
    pub launch: LaunchCommand,
    pub task_root: PathBuf,
    pub opt_dir: PathBuf,
    pub region: String,
    pub credentials: Credentials,
    pub endpoints: Endpoints,
    /// `esb invoke --env-vars` values for this function.
    pub env_overrides: IndexMap<String, String>,
    pub host_path: String,
}

/// One execution environment.
pub struct Worker {
    record: Arc<WorkerRecord>,
    id: String,
    spec: Arc<WorkerSpec>,
    api: RuntimeApi,
    core: Arc<Core>,
    /// Set until the first invocation reports it in its `REPORT` line.
    init_duration: Mutex<Option<Duration>>,
    /// The last invocation's deadline: its extensions must be done by then.
    deadline: Mutex<Option<Instant>>,
}

/// The worker's processes and log, shared with a streamed body that outlives `invoke`.
pub(crate) struct Core {
    /// The worker's programs as its driver runs them: extensions first, the runtime last.
    pub(crate) sandbox: Box<dyn Sandbox>,
    log: Arc<WorkerLog>,
    memory_size_mb: u32,
    /// True once the worker can no longer serve (timeout, crash, init failure).
    dead: AtomicBool,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("worker", &self.log.worker_id)
            .finish()
    }
}

impl Core {
    /// Kills the worker's processes; it will not serve again.
    fn kill(&self) {
        self.dead.store(true, Ordering::Relaxed);
        self.sandbox.kill();
    }

    /// The runtime's exit watch (the last program).
    fn runtime_exit(&self) -> Option<&watch::Receiver<Option<driver::Exit>>> {
        self.sandbox.exits().last()
    }

    /// How the runtime ended, if it has.
    fn runtime_exited(&self) -> Option<driver::Exit> {
        self.runtime_exit().and_then(|exit| exit.borrow().clone())
    }

    /// Completes when the runtime has ended.
    async fn wait_runtime(&self) -> driver::Exit {
        match self.runtime_exit() {
            Some(exit) => driver::exited(exit).await,
            None => std::future::pending().await,
        }
    }

    /// The extensions' exit watches (every program but the last).
    fn extension_exits(&self) -> &[watch::Receiver<Option<driver::Exit>>] {
        let exits = self.sandbox.exits();
        &exits[..exits.len().saturating_sub(1)]
    }

    /// Closes an invocation: the platform message if any, `END` and `REPORT`; returns the
    /// invocation's log tail.
    fn finish(
        &self,
        request_id: &str,
        duration: Duration,
        init_duration: Option<Duration>,
        platform_message: Option<&str>,
    ) -> String {
        if let Some(message) = platform_message {
            self.log.platform(Some(request_id), message.to_owned());
        }
        self.log
            .platform(Some(request_id), logs::end_line(request_id));
        let report = Report {
            duration,
            memory_size_mb: self.memory_size_mb,
            max_memory_used_mb: self.sandbox.peak_memory_mb(),
            init_duration,
        };
        self.log
            .platform(Some(request_id), logs::report_line(request_id, &report));
        self.log.end()
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("function", &self.spec.function.name)
            .finish()
    }
}

static NEXT_WORKER: AtomicU64 = AtomicU64::new(1);

impl Worker {
    /// Starts the worker through `driver` (the function's extensions, then the runtime) and
    /// waits until init is over: the runtime asks for its first invocation and every extension
    /// registered and waits for events, an init error is reported, a program exits (an
    /// extension exiting is `Extension.Crash`), or the init timeout passes. Only a worker that
    /// cannot be started at all is an error: the other outcomes are reported by the first
    /// invocation, as on AWS.
    pub async fn start(
        spec: Arc<WorkerSpec>,
        driver: &dyn Driver,
        sink: Arc<dyn LogSink>,
    ) -> Result<Self, WorkerError> {
        let number = NEXT_WORKER.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{number}", spec.function.name);
        let view = WorkerView::new(driver.code_view(), &spec);
        let log_stream_name = log_stream_name(number);
        let environment = lambda_environment(
            &spec.function,
            &EnvironmentContext {
                region: &spec.region,
                credentials: &spec.credentials,
                endpoints: &spec.endpoints,
                task_root: &view.task_root,
                opt_dir: &view.opt_dir,
                log_stream_name: &log_stream_name,
                overrides: &spec.env_overrides,
                host_path: &spec.host_path,
                runtime_libraries: &spec.launch.libraries,
            },
        );
        let log = Arc::new(WorkerLog {
            function: spec.function.name.clone(),
            worker_id: id.clone(),
            sink,
            current: Mutex::new(None),
        });
        let extension_paths = extensions::discover(&spec.opt_dir);
        let api = RuntimeApi::new();
        api.expect_extensions(
            extension_paths.len(),
            FunctionInfo {
                function_name: spec.function.name.clone(),
                function_version: "$LATEST".to_owned(),
                handler: spec.function.handler.clone().unwrap_or_default(),
            },
        );
        let mut programs: Vec<Program> = extension_paths
            .iter()
            .map(|path| Program {
                program: view.path(path),
                args: Vec::new(),
                cwd: view.opt_dir.clone(),
            })
            .collect();
        programs.push(Program {
            program: view.path(&spec.launch.program),
            args: spec.launch.args.iter().map(|arg| view.arg(arg)).collect(),
            cwd: view.task_root.clone(),
        });
        let launch = Launch {
            worker_id: id.clone(),
            memory_mb: spec.function.memory_size,
            ephemeral_storage_mb: spec.function.ephemeral_storage,
            mounts: Mounts {
                task_root: spec.task_root.clone(),
                opt_dir: spec.opt_dir.clone(),
                runtime: spec.launch.mounts.clone(),
            },
            programs,
            environment,
            endpoints: spec.endpoints.loopback_addrs(),
            output: Arc::clone(&log) as Arc<dyn WorkerOutput>,
        };
        let started = Instant::now();
        let sandbox = driver
            .start(launch, &api)
            .await
            .map_err(|error| WorkerError::Start {
                function: spec.function.name.clone(),
                message: error.to_string(),
            })?;
        let core = Arc::new(Core {
            sandbox,
            log,
            memory_size_mb: spec.function.memory_size,
            dead: AtomicBool::new(false),
        });
        let record = Arc::new(WorkerRecord::new(
            id.clone(),
            spec.function.name.clone(),
            spec.function.memory_size,
            Arc::downgrade(&core),
        ));
        let worker = Worker {
            record,
            id,
            spec,
            api,
            core,
            init_duration: Mutex::new(None),
            deadline: Mutex::new(None),
        };
        let core = &worker.core;
        tokio::select! {
            () = worker.api.ready() => {
                *worker.init_duration.lock().unwrap_or_else(PoisonError::into_inner) = Some(started.elapsed());
            }
            _ = core.wait_runtime() => {}
            exit = driver::first_exit(core.extension_exits()) => {
                let message = format!("an extension exited during init ({exit})");
                core.log.platform(None, message.clone());
                worker.api.fail_init("Extension.Crash", &message);
                core.kill();
            }
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                core.log.platform(None, format!("Init phase timed out after {} s", INIT_TIMEOUT.as_secs()));
                core.kill();
            }
        }
        if worker.api.init_failed() || core.runtime_exited().is_some() {
            core.dead.store(true, Ordering::Relaxed);
        }
        Ok(worker)
    }

    /// What `/metrics/containers` shows of this worker.
    pub fn record(&self) -> Arc<WorkerRecord> {
        Arc::clone(&self.record)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// False once the worker died or was marked unusable.
    pub fn is_alive(&self) -> bool {
        !self.core.dead.load(Ordering::Relaxed)
            && self
                .core
                .sandbox
                .exits()
                .iter()
                .all(|e| e.borrow().is_none())
            && !self.api.extension_failed()
    }

    /// Whether the worker must wait for extensions after an invocation before it serves the
    /// next (see [`Worker::settle`]).
    pub fn has_invoke_extensions(&self) -> bool {
        self.api.has_extension_subscribers(ExtensionEvent::Invoke)
    }

    /// Waits until every extension registered for `INVOKE` is done with the last invocation
    /// (waits in `event/next` again). Past the invocation's deadline, or when an extension
    /// exited, the worker is killed as on a timeout.
    pub async fn settle(&self) {
        let deadline = *self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(deadline) = deadline.filter(|_| self.has_invoke_extensions()) else {
            return;
        };
        let core = &self.core;
        if core.dead.load(Ordering::Relaxed) {
            return;
        }
        tokio::select! {
            () = self.api.extensions_idle(ExtensionEvent::Invoke) => {}
            exit = driver::first_exit(core.extension_exits()) => {
                core.log.platform(None, format!("an extension exited ({exit})"));
                core.kill();
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                core.log.platform(
                    None,
                    "extensions did not finish the invocation within the function timeout".to_owned(),
                );
                core.kill();
            }
        }
    }

    /// How long the runtime took to initialise, on the worker's first invocation only.
    pub fn take_init_duration(&self) -> Option<Duration> {
        self.init_duration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Runs one invocation. The worker must not be used again when the result says so
    /// (`reusable == false`). A streamed result returns at the stream's start; the stream
    /// closes the invocation (its `END`/`REPORT` lines) when it ends.
    pub async fn invoke(&self, input: InvokeInput) -> Result<InvokeResult, WorkerError> {
        // The previous invocation's extensions finish first (a no-op through the pool).
        self.settle().await;
        let function = &self.spec.function;
        let core = &self.core;
        let init_duration = self.take_init_duration();
        core.log.begin(&input.request_id);
        core.log
            .platform(Some(&input.request_id), logs::start_line(&input.request_id));
        let timeout = Duration::from_secs(u64::from(function.timeout));
        let deadline_ms = epoch_ms(SystemTime::now() + timeout);
        let started = Instant::now();
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(started + timeout);
        let invocation = Invocation {
            request_id: input.request_id.clone(),
            payload: input.payload,
            deadline_ms,
            invoked_function_arn: self.spec.arn.clone(),
            trace_id: input.trace_id,
            client_context: input.client_context,
            cognito_identity: input.cognito_identity,
        };
        let stream = |inner| {
            BodyStream::new(
                inner,
                started + timeout,
                StreamEnd {
                    core: Arc::clone(core),
                    request_id: input.request_id.clone(),
                    started,
                    init_duration,
                    timeout_secs: function.timeout,
                },
            )
        };
        let result = if self.api.init_failed() {
            // Answered at once with the init error.
            outcome::completed(self.api.invoke(invocation).await?, stream)
        } else if let Some(exit) = core.runtime_exited() {
            outcome::crashed(&input.request_id, &exit, core.sandbox.oom_killed())
        } else {
            tokio::select! {
                outcome = self.api.invoke(invocation) => outcome::completed(outcome?, stream),
                exit = core.wait_runtime() => {
                    outcome::crashed(&input.request_id, &exit, core.sandbox.oom_killed())
                }
                () = tokio::time::sleep(timeout) => {
                    core.kill();
                    outcome::timed_out(&input.request_id, function.timeout)
                }
            }
        };
        let duration = started.elapsed();
        if !result.reusable {
            core.dead.store(true, Ordering::Relaxed);
        }
        let log_tail = if result.stream.is_some() {
            String::new()
        } else {
            core.finish(
                &input.request_id,
                duration,
                init_duration,
                result.platform_message.as_deref(),
            )
        };
        Ok(InvokeResult {
            log_tail,
            duration,
            init_duration,
            ..result
        })
    }

    /// Stops the worker: extensions registered for `SHUTDOWN` get it and up to
    /// [`SHUTDOWN_GRACE`] to finish, then the processes (the whole process group) are killed
    /// and the Runtime API listener closed.
    pub async fn shutdown(self) {
        let core = &self.core;
        if self.is_alive() && self.api.has_extension_subscribers(ExtensionEvent::Shutdown) {
            let deadline_ms = epoch_ms(SystemTime::now() + SHUTDOWN_GRACE);
            self.api
                .shutdown_extensions(ShutdownReason::Spindown, deadline_ms);
            tokio::select! {
                () = self.api.extensions_idle(ExtensionEvent::Shutdown) => {}
                () = all_exited(core.extension_exits()) => {}
                () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
            }
        }
        core.kill();
        all_exited(core.sandbox.exits()).await;
        self.api.shutdown().await;
    }
}

/// Completes when every one of `exits` has recorded an end.
async fn all_exited(exits: &[watch::Receiver<Option<driver::Exit>>]) {
    for exit in exits {
        driver::exited(exit).await;
    }
}

/// Tags a worker's output with the invocation in progress and keeps that invocation's tail.
struct WorkerLog {
    function: String,
    worker_id: String,
    sink: Arc<dyn LogSink>,
    current: Mutex<Option<(String, Tail)>>,
}

impl std::fmt::Debug for WorkerLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerLog")
            .field("worker", &self.worker_id)
            .finish()
    }
}

impl WorkerOutput for WorkerLog {
    /// A line the function printed: tagged with the current request, if any.
    fn line(&self, source: LogSource, text: String) {
        let request_id = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(id, _)| id.clone());
        self.write(source, request_id, text);
    }
}

impl WorkerLog {
    fn begin(&self, request_id: &str) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((request_id.to_string(), Tail::default()));
    }

    fn end(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|(_, tail)| tail.text())
            .unwrap_or_default()
    }

    fn platform(&self, request_id: Option<&str>, text: String) {
        self.write(LogSource::Platform, request_id.map(str::to_string), text);
    }

    fn write(&self, source: LogSource, request_id: Option<String>, text: String) {
        if let Some((_, tail)) = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            tail.push(&text);
        }
        self.sink.write(LogLine {
            time: SystemTime::now(),
            function: self.function.clone(),
            worker_id: self.worker_id.clone(),
            request_id,
            source,
            text,
        });
    }
}

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `YYYY/MM/DD/[$LATEST]<32 hex>` like Lambda's log stream names.
fn log_stream_name(worker: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let days = now.as_secs() / 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}/{month:02}/{day:02}/[$LATEST]{:016x}{:016x}",
        now.as_nanos() as u64,
        worker
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (i64, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
pub(crate) mod tests;
