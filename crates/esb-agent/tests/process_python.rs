//! The process driver with the real AWS runtime interface client for Python (`awslambdaric`):
//! success, handler error, timeout then recovery, crash then recovery, init error, the 6 MB
//! limit, logs, and warm reuse. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use esb_agent::environment::{Credentials, Endpoints};
use esb_agent::logs::{LogLine, LogSink, LogSource};
use esb_agent::runtimes::{Runtime, RuntimeClients, launch_command};
use esb_agent::{FunctionError, InvokeInput, ProcessWorker, WorkerSpec};
use esb_model::Function;

#[derive(Default)]
struct Collected(Mutex<Vec<LogLine>>);

impl LogSink for Collected {
    fn write(&self, line: LogLine) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }
}

impl Collected {
    fn texts(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|lines| lines.iter().map(|l| l.text.clone()).collect())
            .unwrap_or_default()
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python")
}

fn runtime_cache() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".esb/runtimes")
}

fn spec(handler: &str, timeout: u32) -> Arc<WorkerSpec> {
    let python = RuntimeClients::new(runtime_cache(), false);
    let runtime = Runtime::parse("python3.12").expect("runtime");
    let launch = launch_command(&runtime, handler, &fixtures(), &python).expect("python runtime");
    let function = Function {
        runtime: Some("python3.12".into()),
        handler: Some(handler.into()),
        memory_size: 128,
        timeout,
        environment: [("GREETING".to_string(), "hi".to_string())]
            .into_iter()
            .collect(),
        ..Function::new("Fixture", "fixture")
    };
    Arc::new(WorkerSpec {
        function,
        arn: "arn:aws:lambda:us-east-1:123456789012:function:fixture".into(),
        launch,
        task_root: fixtures(),
        opt_dir: fixtures().join("no-opt"),
        region: "us-east-1".into(),
        credentials: Credentials {
            access_key_id: "esb".into(),
            secret_access_key: "esb-secret".into(),
            session_token: None,
        },
        endpoints: Endpoints::default(),
        env_overrides: Default::default(),
        host_path: std::env::var("PATH").unwrap_or_default(),
    })
}

fn input(id: &str, payload: &str) -> InvokeInput {
    InvokeInput {
        request_id: id.into(),
        payload: Bytes::from(payload.to_string()),
        trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
        client_context: None,
        cognito_identity: None,
    }
}

async fn start(handler: &str, timeout: u32) -> (ProcessWorker, Arc<Collected>) {
    let spec = tokio::task::spawn_blocking({
        let handler = handler.to_string();
        move || spec(&handler, timeout)
    })
    .await
    .expect("spec");
    let logs = Arc::new(Collected::default());
    let worker = tokio::time::timeout(
        Duration::from_secs(30),
        ProcessWorker::start(spec, logs.clone()),
    )
    .await
    .expect("start in time")
    .expect("started");
    (worker, logs)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("json payload")
}

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn success_then_warm_reuse_with_logs_and_report() {
    let (worker, logs) = start("handlers.ok", 3).await;
    assert!(worker.is_alive());
    let first = tokio::time::timeout(LIMIT, worker.invoke(input("req-1", r#"{"a":1}"#)))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(first.function_error, None);
    assert!(first.reusable);
    assert!(
        first.init_duration.is_some(),
        "the cold start reports its init duration"
    );
    let body = json(&first.payload);
    assert_eq!(body["echo"], serde_json::json!({"a": 1}));
    assert_eq!(body["function"], "fixture");
    assert_eq!(body["memory"], "128");
    assert_eq!(body["request_id"], "req-1");
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(body["remaining_ms_positive"], true);

    let second = tokio::time::timeout(LIMIT, worker.invoke(input("req-2", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    let second_body = json(&second.payload);
    assert_eq!(second_body["pid"], body["pid"], "the same warm process");
    assert_eq!(second_body["init_count"], 1, "init state is kept");
    assert!(second.init_duration.is_none());

    let texts = logs.texts();
    assert!(
        texts
            .iter()
            .any(|t| t == "START RequestId: req-1 Version: $LATEST")
    );
    assert!(texts.iter().any(
        |t| t.starts_with("REPORT RequestId: req-1\tDuration: ") && t.contains("Init Duration")
    ));
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("REPORT RequestId: req-2") && !t.contains("Init Duration"))
    );
    let printed = logs
        .0
        .lock()
        .expect("logs")
        .iter()
        .find(|l| l.text.contains("hello from the handler req-1"))
        .cloned()
        .expect("the handler's print is captured");
    assert_eq!(printed.request_id.as_deref(), Some("req-1"));
    assert_eq!(printed.source, LogSource::Stdout);
    assert!(first.log_tail.contains("hello from the handler req-1"));
    assert!(first.log_tail.contains("END RequestId: req-1"));
    worker.shutdown().await;
}

#[tokio::test]
async fn handler_error_is_unhandled_and_the_worker_survives() {
    let (worker, _logs) = start("handlers.fail", 3).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("e1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "ValueError");
    assert_eq!(body["errorMessage"], "something went wrong");
    assert!(result.reusable);
    assert!(worker.is_alive());
    worker.shutdown().await;
}

#[tokio::test]
async fn timeout_kills_the_worker_with_sandbox_timedout() {
    let (worker, logs) = start("handlers.slow", 1).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("t1", r#"{"seconds": 20}"#)))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("Task timed out after 1.00 seconds")
    );
    assert!(!result.reusable);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!worker.is_alive());
    assert!(logs.texts().iter().any(|t| t.contains("Task timed out")));
    worker.shutdown().await;
}

#[tokio::test]
async fn crash_is_runtime_exit_error() {
    let (worker, _logs) = start("handlers.crash", 3).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("c1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("exit status 3")
    );
    assert!(!result.reusable);
    assert!(!worker.is_alive());
    // The kill reached the extension too (shutdown waits for every process to end).
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("every process ended");
}

#[tokio::test]
async fn init_error_is_reported_by_the_invocation() {
    let (worker, _logs) = start("broken.handler", 3).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("i1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "Runtime.ImportModuleError", "{body}");
    assert!(!result.reusable);
    worker.shutdown().await;
}

#[tokio::test]
async fn response_over_six_megabytes_is_too_large() {
    let (worker, _logs) = start("handlers.big", 10).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("b1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "Function.ResponseSizeTooLarge", "{body}");
    worker.shutdown().await;
}

#[tokio::test]
async fn boto3_is_preinstalled_like_the_managed_runtime() {
    let (worker, _logs) = start("handlers.uses_boto3", 10).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("s1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(
        result.function_error,
        None,
        "{:?}",
        String::from_utf8_lossy(&result.payload)
    );
    worker.shutdown().await;
}

/// Whether this host lets the box create cgroups (root with a writable cgroup file system).
fn cgroups_writable() -> bool {
    let probe = Path::new("/sys/fs/cgroup/memory/esb");
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").is_file();
    let dir = if v2 {
        Path::new("/sys/fs/cgroup/esb")
    } else {
        probe
    };
    std::fs::create_dir_all(dir).is_ok()
}

#[tokio::test]
async fn memory_size_is_enforced_and_reported_as_out_of_memory() {
    if !cgroups_writable() {
        eprintln!("skipped: this host does not let the box create cgroups (not root?)");
        return;
    }
    let (worker, _logs) = start("handlers.hog", 10).await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("m1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "Runtime.OutOfMemory", "{body}");
    assert!(!result.reusable);
    worker.shutdown().await;
}

#[tokio::test]
async fn each_worker_has_its_own_temporary_directory() {
    let (first, _a) = start("handlers.tmpdir", 3).await;
    let (second, _b) = start("handlers.tmpdir", 3).await;
    let a = first.invoke(input("d1", "{}")).await.expect("invoked");
    let b = second.invoke(input("d2", "{}")).await.expect("invoked");
    let (a, b) = (json(&a.payload), json(&b.payload));
    assert_ne!(a, b);
    let a_dir = PathBuf::from(a.as_str().expect("path"));
    assert!(a_dir.is_dir());
    first.shutdown().await;
    second.shutdown().await;
    assert!(
        !a_dir.exists(),
        "the worker's temporary directory goes with it"
    );
}

/// A spec whose opt dir holds the `recorder` extension, writing to `record`.
fn spec_with_extension(handler: &str, record: &Path) -> Arc<WorkerSpec> {
    let mut spec = (*spec(handler, 3)).clone();
    spec.opt_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opt-with-extension");
    spec.env_overrides
        .insert("RECORDER_FILE".into(), record.display().to_string());
    Arc::new(spec)
}

fn recorded(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn an_external_extension_sees_every_invoke_and_the_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.txt");
    let spec = tokio::task::spawn_blocking({
        let record = record.clone();
        move || spec_with_extension("handlers.ok", &record)
    })
    .await
    .expect("spec");
    let logs = Arc::new(Collected::default());
    let worker = tokio::time::timeout(LIMIT, ProcessWorker::start(spec, logs.clone()))
        .await
        .expect("start in time")
        .expect("started");
    assert!(worker.is_alive(), "{:?}", logs.texts());
    assert!(worker.has_invoke_extensions());
    for id in ["r1", "r2"] {
        let result = tokio::time::timeout(LIMIT, worker.invoke(input(id, "{}")))
            .await
            .expect("in time")
            .expect("invoked");
        assert_eq!(result.function_error, None);
        assert_eq!(json(&result.payload)["request_id"], id);
    }
    tokio::time::timeout(LIMIT, worker.settle())
        .await
        .expect("extensions done in time");
    assert!(worker.is_alive());
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("shut down in time");
    assert_eq!(
        recorded(&record),
        [
            "REGISTERED fixture",
            "INVOKE r1",
            "INVOKE r2",
            "SHUTDOWN spindown"
        ]
    );
}

#[tokio::test]
async fn the_pool_returns_the_result_at_once_but_waits_for_extensions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.txt");
    let spec = tokio::task::spawn_blocking({
        let record = record.clone();
        move || {
            let mut spec = (*spec_with_extension("handlers.ok", &record)).clone();
            spec.env_overrides
                .insert("RECORDER_DELAY".into(), "0.8".into());
            spec.function.reserved_concurrency = Some(1);
            Arc::new(spec)
        }
    })
    .await
    .expect("spec");
    let invoker = esb_agent::Invoker::new(
        vec![spec],
        Arc::new(Collected::default()),
        &esb_agent::InvokerConfig::default(),
    );
    let first = tokio::time::timeout(LIMIT, invoker.invoke("fixture", input("p1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(json(&first.payload)["request_id"], "p1");
    let stats = invoker.stats()[0].1;
    assert_eq!(
        (stats.busy, stats.idle),
        (1, 0),
        "leased while the extension works"
    );
    let released = tokio::time::timeout(LIMIT, async {
        while invoker.stats()[0].1.idle != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(released.is_ok(), "released once the extension is done");
    let second = tokio::time::timeout(LIMIT, invoker.invoke("fixture", input("p2", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(
        json(&second.payload)["init_count"],
        1,
        "the same warm worker"
    );
    let released = tokio::time::timeout(LIMIT, async {
        while invoker.stats()[0].1.idle != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(released.is_ok());
    invoker.shutdown().await;
    assert_eq!(
        recorded(&record),
        [
            "REGISTERED fixture",
            "INVOKE p1",
            "INVOKE p2",
            "SHUTDOWN spindown"
        ]
    );
}

#[tokio::test]
async fn an_extension_past_the_function_timeout_kills_the_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.txt");
    let spec = tokio::task::spawn_blocking({
        let record = record.clone();
        move || {
            let mut spec = (*spec_with_extension("handlers.ok", &record)).clone();
            spec.env_overrides
                .insert("RECORDER_DELAY".into(), "30".into());
            spec.function.timeout = 1;
            Arc::new(spec)
        }
    })
    .await
    .expect("spec");
    let worker = tokio::time::timeout(
        LIMIT,
        ProcessWorker::start(spec, Arc::new(Collected::default())),
    )
    .await
    .expect("start in time")
    .expect("started");
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("k1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, None, "the result comes first");
    tokio::time::timeout(LIMIT, worker.settle())
        .await
        .expect("bounded by the function timeout");
    assert!(!worker.is_alive());
    // The kill reached the extension too (shutdown waits for every process to end).
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("every process ended");
}

#[tokio::test]
async fn an_extension_dying_during_init_fails_the_environment() {
    let spec = tokio::task::spawn_blocking(|| {
        let mut spec = (*spec("handlers.ok", 3)).clone();
        spec.opt_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/opt-with-crashing-extension");
        Arc::new(spec)
    })
    .await
    .expect("spec");
    let worker = tokio::time::timeout(
        LIMIT,
        ProcessWorker::start(spec, Arc::new(Collected::default())),
    )
    .await
    .expect("start in time")
    .expect("started");
    assert!(!worker.is_alive());
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("x1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    assert_eq!(json(&result.payload)["errorType"], "Extension.Crash");
    assert!(!result.reusable);
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("shut down in time");
}
