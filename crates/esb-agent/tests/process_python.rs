//! The process driver with the real AWS runtime interface client for Python (`awslambdaric`):
//! success, handler error, timeout then recovery, crash then recovery, init error, the 6 MB
//! limit, logs, and warm reuse. Every wait is bounded.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use esb_agent::logs::LogSource;
use esb_agent::{FunctionError, InvokeInput, InvokeResult, Invoker, Worker, WorkerSpec};
use support::{Collected, LIMIT, SpecBuilder, fixture, invoke, json, within};

/// The Python fixture function, 128 MB (which `handlers.ok` reports) with `GREETING=hi`.
fn python(handler: &str, timeout: u32) -> SpecBuilder {
    SpecBuilder::new("python3.12", handler, fixture("python"))
        .memory_size(128)
        .timeout(timeout)
        .environment("GREETING", "hi")
        .secret_access_key("esb-secret")
}

/// Every Python invocation carries an X-Ray trace header, as one through the gateway does.
fn input(id: &str, payload: &'static str) -> InvokeInput {
    InvokeInput {
        trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
        ..support::input(id, payload)
    }
}

/// The error body of a result that must have failed as `Unhandled`.
fn unhandled_error(result: &InvokeResult) -> serde_json::Value {
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    json(&result.payload)
}

async fn start(handler: &str, timeout: u32) -> (Worker, Arc<Collected>) {
    support::start(python(handler, timeout).build_on_blocking_pool().await).await
}

#[tokio::test]
async fn success_then_warm_reuse_with_logs_and_report() {
    let (worker, logs) = start("handlers.ok", 3).await;
    assert!(worker.is_alive());
    let first = invoke(&worker, input("req-1", r#"{"a":1}"#)).await;
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

    let second = invoke(&worker, input("req-2", "{}")).await;
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
        .lines()
        .into_iter()
        .find(|l| l.text.contains("hello from the handler req-1"))
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
    let result = invoke(&worker, input("e1", "{}")).await;
    let body = unhandled_error(&result);
    assert_eq!(body["errorType"], "ValueError");
    assert_eq!(body["errorMessage"], "something went wrong");
    assert!(result.reusable);
    assert!(worker.is_alive());
    worker.shutdown().await;
}

#[tokio::test]
async fn timeout_kills_the_worker_with_sandbox_timedout() {
    let (worker, logs) = start("handlers.slow", 1).await;
    let result = invoke(&worker, input("t1", r#"{"seconds": 20}"#)).await;
    let body = unhandled_error(&result);
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
    let result = invoke(&worker, input("c1", "{}")).await;
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
    assert_the_kill_reached_every_process(worker).await;
}

#[tokio::test]
async fn init_error_is_reported_by_the_invocation() {
    let (worker, _logs) = start("broken.handler", 3).await;
    let result = invoke(&worker, input("i1", "{}")).await;
    let body = unhandled_error(&result);
    assert_eq!(body["errorType"], "Runtime.ImportModuleError", "{body}");
    assert!(!result.reusable);
    worker.shutdown().await;
}

#[tokio::test]
async fn response_over_six_megabytes_is_too_large() {
    let (worker, _logs) = start("handlers.big", 10).await;
    let result = invoke(&worker, input("b1", "{}")).await;
    let body = unhandled_error(&result);
    assert_eq!(body["errorType"], "Function.ResponseSizeTooLarge", "{body}");
    worker.shutdown().await;
}

#[tokio::test]
async fn boto3_is_preinstalled_like_the_managed_runtime() {
    let (worker, _logs) = start("handlers.uses_boto3", 10).await;
    let result = invoke(&worker, input("s1", "{}")).await;
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
    let result = invoke(&worker, input("m1", "{}")).await;
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

/// Shutdown waits for every process of the worker (the runtime and its extensions) to end, so
/// it ends in time only when the kill reached all of them.
async fn assert_the_kill_reached_every_process(worker: Worker) {
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("every process ended");
}

/// `builder` with the `recorder` extension in its opt dir. The extension writes each event it
/// sees to the returned file, which lasts as long as the returned directory.
async fn with_recorder(builder: SpecBuilder) -> (tempfile::TempDir, PathBuf, Arc<WorkerSpec>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("events.txt");
    let spec = builder
        .opt_dir(fixture("opt-with-extension"))
        .env_override("RECORDER_FILE", &record.display().to_string())
        .build_on_blocking_pool()
        .await;
    (dir, record, spec)
}

fn recorded(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until the pool's one worker is idle again, which happens only once its extensions are
/// done with the invoke; false when that takes longer than `LIMIT`.
async fn released(invoker: &Invoker) -> bool {
    tokio::time::timeout(LIMIT, async {
        while invoker.stats()[0].1.idle != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn an_external_extension_sees_every_invoke_and_the_shutdown() {
    let (_dir, record, spec) = with_recorder(python("handlers.ok", 3)).await;
    let (worker, logs) = support::start(spec).await;
    assert!(worker.is_alive(), "{:?}", logs.texts());
    assert!(worker.has_invoke_extensions());
    for id in ["r1", "r2"] {
        let result = invoke(&worker, input(id, "{}")).await;
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
    let slow_extension = python("handlers.ok", 3)
        .env_override("RECORDER_DELAY", "0.8")
        .reserved_concurrency(Some(1));
    let (_dir, record, spec) = with_recorder(slow_extension).await;
    let invoker = Invoker::new(
        support::unconfined(),
        vec![spec],
        Arc::new(Collected::default()),
        &esb_agent::InvokerConfig::default(),
    );
    let first = within(invoker.invoke("fixture", input("p1", "{}")))
        .await
        .expect("invoked");
    assert_eq!(json(&first.payload)["request_id"], "p1");
    let stats = invoker.stats()[0].1;
    assert_eq!(
        (stats.busy, stats.idle),
        (1, 0),
        "leased while the extension works"
    );
    assert!(
        released(&invoker).await,
        "released once the extension is done"
    );
    let second = within(invoker.invoke("fixture", input("p2", "{}")))
        .await
        .expect("invoked");
    assert_eq!(
        json(&second.payload)["init_count"],
        1,
        "the same warm worker"
    );
    assert!(released(&invoker).await);
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
    let stuck_extension = python("handlers.ok", 1).env_override("RECORDER_DELAY", "30");
    let (_dir, _record, spec) = with_recorder(stuck_extension).await;
    let (worker, _logs) = support::start(spec).await;
    let result = invoke(&worker, input("k1", "{}")).await;
    assert_eq!(result.function_error, None, "the result comes first");
    tokio::time::timeout(LIMIT, worker.settle())
        .await
        .expect("bounded by the function timeout");
    assert!(!worker.is_alive());
    assert_the_kill_reached_every_process(worker).await;
}

#[tokio::test]
async fn an_extension_dying_during_init_fails_the_environment() {
    let spec = python("handlers.ok", 3)
        .opt_dir(fixture("opt-with-crashing-extension"))
        .build_on_blocking_pool()
        .await;
    let (worker, _logs) = support::start(spec).await;
    assert!(!worker.is_alive());
    let result = invoke(&worker, input("x1", "{}")).await;
    assert_eq!(unhandled_error(&result)["errorType"], "Extension.Crash");
    assert!(!result.reusable);
    tokio::time::timeout(LIMIT, worker.shutdown())
        .await
        .expect("shut down in time");
}
