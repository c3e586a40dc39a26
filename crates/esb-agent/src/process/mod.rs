//! The process driver: each worker is a child process of this box running the function's
//! runtime, with its own Runtime API listener. A worker serves one invocation at a time,
//! keeps its init state between invocations, and is killed on timeout; a crash, timeout or
//! init error leaves it dead, and the pool replaces it on the next invocation, as on AWS.

mod cgroup;
mod child;
mod outcome;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use esb_model::Function;
use indexmap::IndexMap;

use crate::environment::{Credentials, Endpoints, EnvironmentContext, lambda_environment};
use crate::logs::{self, LogLine, LogSink, LogSource, Report, Tail};
use crate::runtime_api::{Invocation, RuntimeApi, RuntimeApiError};
use crate::runtimes::LaunchCommand;
use child::{Child, SpawnRequest};
pub use outcome::{FunctionError, InvokeResult};

/// Lambda's limit for a runtime's initialisation phase.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// What one invocation asks of a worker.
#[derive(Debug, Clone)]
pub struct InvokeInput {
    pub request_id: String,
    pub payload: Bytes,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start a worker for {function}: {message}")]
    Start { function: String, message: String },
    #[error(transparent)]
    RuntimeApi(#[from] RuntimeApiError),
}

/// One execution environment.
pub struct ProcessWorker {
    id: String,
    spec: Arc<WorkerSpec>,
    api: RuntimeApi,
    child: Child,
    log: Arc<WorkerLog>,
    /// Set until the first invocation reports it in its `REPORT` line.
    init_duration: Mutex<Option<Duration>>,
    /// True once the worker can no longer serve (timeout, crash, init failure).
    dead: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for ProcessWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessWorker")
            .field("id", &self.id)
            .field("function", &self.spec.function.name)
            .finish()
    }
}

static NEXT_WORKER: AtomicU64 = AtomicU64::new(1);

impl ProcessWorker {
    /// Starts the runtime and waits until it asks for its first invocation, reports an init
    /// error, exits, or exceeds the init timeout. Only a process that cannot be spawned at
    /// all is an error: the other outcomes are reported by the first invocation, as on AWS.
    pub async fn start(spec: Arc<WorkerSpec>, sink: Arc<dyn LogSink>) -> Result<Self, WorkerError> {
        let number = NEXT_WORKER.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{number}", spec.function.name);
        let api = RuntimeApi::bind(([127, 0, 0, 1], 0).into()).await?;
        let log_stream_name = log_stream_name(number);
        let environment = lambda_environment(
            &spec.function,
            &EnvironmentContext {
                region: &spec.region,
                credentials: &spec.credentials,
                endpoints: &spec.endpoints,
                runtime_api: api.local_addr(),
                task_root: &spec.task_root,
                opt_dir: &spec.opt_dir,
                log_stream_name: &log_stream_name,
                overrides: &spec.env_overrides,
                host_path: &spec.host_path,
            },
        );
        let log = Arc::new(WorkerLog {
            function: spec.function.name.clone(),
            worker_id: id.clone(),
            sink,
            current: Mutex::new(None),
        });
        let started = Instant::now();
        let child = Child::spawn(
            SpawnRequest {
                worker_id: &id,
                memory_mb: spec.function.memory_size,
                launch: &spec.launch,
                task_root: &spec.task_root,
                environment,
            },
            Arc::clone(&log),
        )
        .map_err(|message| WorkerError::Start {
            function: spec.function.name.clone(),
            message,
        })?;
        let worker = ProcessWorker {
            id,
            spec,
            api,
            child,
            log,
            init_duration: Mutex::new(None),
            dead: std::sync::atomic::AtomicBool::new(false),
        };
        tokio::select! {
            () = worker.api.ready() => {
                *worker.init_duration.lock().unwrap_or_else(PoisonError::into_inner) = Some(started.elapsed());
            }
            _ = worker.child.exited() => {}
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                worker.log.platform(None, format!("Init phase timed out after {} s", INIT_TIMEOUT.as_secs()));
                worker.child.kill();
            }
        }
        if worker.api.init_failed() || worker.child.exit().is_some() {
            worker.dead.store(true, Ordering::Relaxed);
        }
        Ok(worker)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// False once the worker died or was marked unusable.
    pub fn is_alive(&self) -> bool {
        !self.dead.load(Ordering::Relaxed) && self.child.exit().is_none()
    }

    /// How long the runtime took to initialise, on the worker's first invocation only.
    pub fn take_init_duration(&self) -> Option<Duration> {
        self.init_duration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Runs one invocation. The worker must not be used again when the result says so
    /// (`reusable == false`).
    pub async fn invoke(&self, input: InvokeInput) -> Result<InvokeResult, WorkerError> {
        let function = &self.spec.function;
        let init_duration = self.take_init_duration();
        self.log.begin(&input.request_id);
        self.log
            .platform(Some(&input.request_id), logs::start_line(&input.request_id));
        let timeout = Duration::from_secs(u64::from(function.timeout));
        let deadline_ms = epoch_ms(SystemTime::now() + timeout);
        let started = Instant::now();
        let invocation = Invocation {
            request_id: input.request_id.clone(),
            payload: input.payload,
            deadline_ms,
            invoked_function_arn: self.spec.arn.clone(),
            trace_id: input.trace_id,
            client_context: input.client_context,
            cognito_identity: input.cognito_identity,
        };
        let result = if let Some(exit) = self.child.exit() {
            outcome::crashed(&input.request_id, &exit, self.child.oom_killed())
        } else {
            tokio::select! {
                outcome = self.api.invoke(invocation) => outcome::completed(outcome?),
                exit = self.child.exited() => {
                    outcome::crashed(&input.request_id, &exit, self.child.oom_killed())
                }
                () = tokio::time::sleep(timeout) => {
                    self.child.kill();
                    outcome::timed_out(&input.request_id, function.timeout)
                }
            }
        };
        let duration = started.elapsed();
        if !result.reusable {
            self.dead.store(true, Ordering::Relaxed);
        }
        if let Some(message) = &result.platform_message {
            self.log.platform(Some(&input.request_id), message.clone());
        }
        self.log
            .platform(Some(&input.request_id), logs::end_line(&input.request_id));
        let report = Report {
            duration,
            memory_size_mb: function.memory_size,
            max_memory_used_mb: self.child.peak_memory_mb(),
            init_duration,
        };
        self.log.platform(
            Some(&input.request_id),
            logs::report_line(&input.request_id, &report),
        );
        let tail = self.log.end();
        Ok(InvokeResult {
            log_tail: tail,
            duration,
            init_duration,
            ..result
        })
    }

    /// Stops the worker: the process (and its process group) is killed and the Runtime API
    /// listener closed.
    pub async fn shutdown(self) {
        self.child.kill();
        let _ = self.child.exited().await;
        self.api.shutdown().await;
    }
}

/// Tags a worker's output with the invocation in progress and keeps that invocation's tail.
struct WorkerLog {
    function: String,
    worker_id: String,
    sink: Arc<dyn LogSink>,
    current: Mutex<Option<(String, Tail)>>,
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

    /// A line the function printed: tagged with the current request, if any.
    fn output(&self, source: LogSource, text: String) {
        let request_id = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(id, _)| id.clone());
        self.write(source, request_id, text);
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
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
