//! The invoke lifecycle against the fake driver: init outcomes, results, crashes, timeouts,
//! memory kills, and what a driver is given; no process is started.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use esb_model::Function;

use super::{Worker, WorkerSpec, civil_from_days};
use crate::driver::fake::{FakeDriver, FakeInit};
use crate::environment::{Credentials, Endpoints};
use crate::invoke::{FunctionError, InvokeInput};
use crate::logs::{LogLine, LogSink};
use crate::runtimes::LaunchCommand;

#[derive(Debug, Default)]
struct Lines(std::sync::Mutex<Vec<LogLine>>);

impl LogSink for Lines {
    fn write(&self, line: LogLine) {
        self.0.lock().expect("lines").push(line);
    }
}

/// A spec for a function named `hello` with a 1-second timeout.
pub(crate) fn spec() -> WorkerSpec {
    WorkerSpec {
        function: Function {
            runtime: Some("provided.al2023".into()),
            handler: Some("bootstrap".into()),
            timeout: 1,
            ..Function::new("Hello", "hello")
        },
        arn: "arn:aws:lambda:us-east-1:123456789012:function:hello".into(),
        launch: LaunchCommand {
            program: "/p/task/bootstrap".into(),
            args: Vec::new(),
            mounts: vec!["/usr/lib/runtime".into()],
            libraries: Vec::new(),
            runs_on: "its own bootstrap".into(),
            warning: None,
        },
        task_root: "/p/task".into(),
        opt_dir: "/p/opt".into(),
        region: "us-east-1".into(),
        credentials: Credentials {
            access_key_id: "esb".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        },
        endpoints: Endpoints {
            s3: Some("http://127.0.0.1:9000".into()),
            ..Endpoints::default()
        },
        env_overrides: Default::default(),
        host_path: "/usr/bin:/bin".into(),
    }
}

fn input(payload: &str) -> InvokeInput {
    InvokeInput {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from(payload.to_owned()),
        trace_id: None,
        client_context: None,
        cognito_identity: None,
    }
}

async fn start(init: FakeInit) -> (Arc<FakeDriver>, Worker) {
    let driver = FakeDriver::new(init);
    let worker = Worker::start(
        Arc::new(spec()),
        driver.as_ref(),
        Arc::new(Lines::default()),
    )
    .await
    .expect("the fake starts");
    (driver, worker)
}

#[tokio::test]
async fn a_warm_worker_answers_and_stays_alive() {
    let (driver, worker) = start(FakeInit::Ready).await;
    assert!(worker.take_init_duration().is_some(), "init was timed");
    for n in 0..3 {
        let result = worker
            .invoke(input(&format!(r#"{{"n":{n}}}"#)))
            .await
            .expect("invoke");
        assert_eq!(result.payload, Bytes::from(format!(r#"{{"n":{n}}}"#)));
        assert!(result.reusable && result.function_error.is_none());
    }
    assert!(worker.is_alive());
    assert_eq!(driver.started.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn the_driver_gets_lambda_paths_and_the_box_endpoints() {
    let (driver, _worker) = start(FakeInit::Ready).await;
    let launch = driver
        .last_launch
        .lock()
        .expect("launch")
        .take()
        .expect("a launch");
    let runtime = launch.programs.last().expect("the runtime");
    assert_eq!(runtime.program, std::path::Path::new("/var/task/bootstrap"));
    assert_eq!(runtime.cwd, std::path::Path::new("/var/task"));
    assert_eq!(launch.mounts.task_root, std::path::Path::new("/p/task"));
    assert_eq!(
        launch.mounts.runtime,
        [std::path::Path::new("/usr/lib/runtime")]
    );
    assert_eq!(launch.ephemeral_storage_mb, 512);
    let env: std::collections::HashMap<_, _> = launch.environment.into_iter().collect();
    assert_eq!(env["LAMBDA_TASK_ROOT"], "/var/task");
    assert!(
        !env.contains_key("AWS_LAMBDA_RUNTIME_API"),
        "the driver sets it"
    );
    assert_eq!(launch.endpoints, ["127.0.0.1:9000".parse().expect("addr")]);
}

#[tokio::test]
async fn a_handler_error_is_unhandled_and_keeps_the_worker() {
    let (_driver, worker) = start(FakeInit::Ready).await;
    let result = worker
        .invoke(input(r#"{"fake":"error"}"#))
        .await
        .expect("invoke");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    assert!(result.reusable && worker.is_alive());
}

#[tokio::test]
async fn a_crash_is_an_exit_error_and_kills_the_worker() {
    let (_driver, worker) = start(FakeInit::Ready).await;
    let result = worker
        .invoke(input(r#"{"fake":"crash"}"#))
        .await
        .expect("invoke");
    assert!(!result.reusable);
    let body = String::from_utf8_lossy(&result.payload).into_owned();
    assert!(
        body.contains("Runtime.ExitError") && body.contains("exit status 1"),
        "{body}"
    );
    assert!(!worker.is_alive());
}

#[tokio::test]
async fn a_memory_kill_is_out_of_memory() {
    let (_driver, worker) = start(FakeInit::Ready).await;
    let result = worker
        .invoke(input(r#"{"fake":"oom"}"#))
        .await
        .expect("invoke");
    let body = String::from_utf8_lossy(&result.payload).into_owned();
    assert!(body.contains("Runtime.OutOfMemory"), "{body}");
    assert!(!worker.is_alive());
}

#[tokio::test]
async fn a_hung_invocation_times_out_and_the_driver_kills_the_worker() {
    let (_driver, worker) = start(FakeInit::Ready).await;
    let started = std::time::Instant::now();
    let result = worker
        .invoke(input(r#"{"fake":"hang"}"#))
        .await
        .expect("invoke");
    let body = String::from_utf8_lossy(&result.payload).into_owned();
    assert!(body.contains("Sandbox.Timedout"), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(!worker.is_alive(), "killed through the driver");
}

#[tokio::test]
async fn an_init_error_answers_every_invocation_and_the_worker_is_dead() {
    let (_driver, worker) = start(FakeInit::Error).await;
    assert!(!worker.is_alive());
    let result = worker.invoke(input("{}")).await.expect("invoke");
    let body = String::from_utf8_lossy(&result.payload).into_owned();
    assert!(body.contains("Runtime.ImportModuleError"), "{body}");
    assert!(!result.reusable);
}

#[tokio::test]
async fn a_runtime_that_exits_during_init_crashes_the_first_invocation() {
    let (_driver, worker) = start(FakeInit::Exit).await;
    assert!(!worker.is_alive());
    let result = worker.invoke(input("{}")).await.expect("invoke");
    let body = String::from_utf8_lossy(&result.payload).into_owned();
    assert!(body.contains("Runtime.ExitError"), "{body}");
}

#[tokio::test]
async fn a_driver_that_cannot_start_is_a_start_error() {
    let driver = FakeDriver::new(FakeInit::Refuse);
    let error = Worker::start(
        Arc::new(spec()),
        driver.as_ref(),
        Arc::new(Lines::default()),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("the fake refuses"), "{error}");
}

#[tokio::test]
async fn the_invoker_replaces_a_dead_worker_through_the_driver() {
    let driver = FakeDriver::new(FakeInit::Ready);
    let invoker = crate::Invoker::new(
        driver.clone(),
        vec![Arc::new(spec())],
        Arc::new(Lines::default()),
        &crate::InvokerConfig::default(),
    );
    let crashed = invoker
        .invoke("hello", input(r#"{"fake":"crash"}"#))
        .await
        .expect("invoke");
    assert!(!crashed.reusable);
    let answered = invoker
        .invoke("Hello", input(r#"{"ok":1}"#))
        .await
        .expect("invoke");
    assert_eq!(answered.payload, Bytes::from(r#"{"ok":1}"#));
    assert_eq!(driver.started.load(Ordering::Relaxed), 2, "a new worker");
    assert_eq!(
        invoker.workers().len(),
        1,
        "the dead one is gone from the registry"
    );
    invoker.shutdown().await;
}

#[test]
fn dates_from_days() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
}
