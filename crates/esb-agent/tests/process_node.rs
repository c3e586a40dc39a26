//! The process driver with the real AWS runtime interface client for Node.js
//! (`aws-lambda-ric`): success with warm reuse and a handler error. Skipped where no `node`
//! is installed. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use esb_agent::environment::{Credentials, Endpoints};
use esb_agent::logs::{LogLine, LogSink};
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

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node")
}

fn runtime_cache() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".esb/runtimes")
}

fn node_installed() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn spec(handler: &str) -> Arc<WorkerSpec> {
    let clients = RuntimeClients::new(runtime_cache(), false);
    let runtime = Runtime::parse("nodejs20.x").expect("runtime");
    let launch = launch_command(&runtime, handler, &fixtures(), &clients).expect("node runtime");
    let function = Function {
        runtime: Some("nodejs20.x".into()),
        handler: Some(handler.into()),
        timeout: 5,
        ..Function::new("NodeFixture", "node-fixture")
    };
    Arc::new(WorkerSpec {
        function,
        arn: "arn:aws:lambda:us-east-1:123456789012:function:node-fixture".into(),
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
        trace_id: None,
        client_context: None,
        cognito_identity: None,
    }
}

async fn start(handler: &str) -> ProcessWorker {
    let spec = tokio::task::spawn_blocking({
        let handler = handler.to_string();
        move || spec(&handler)
    })
    .await
    .expect("spec");
    tokio::time::timeout(
        Duration::from_secs(30),
        ProcessWorker::start(spec, Arc::new(Collected::default())),
    )
    .await
    .expect("start in time")
    .expect("started")
}

fn json(bytes: &Bytes) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("json payload")
}

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn node_success_and_warm_reuse() {
    if !node_installed() {
        eprintln!("skipped: node is not installed");
        return;
    }
    let worker = start("index.ok").await;
    let first = tokio::time::timeout(LIMIT, worker.invoke(input("n1", r#"{"a":1}"#)))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(first.function_error, None, "{:?}", first.payload);
    let body = json(&first.payload);
    assert_eq!(body["echo"], serde_json::json!({"a": 1}));
    assert_eq!(body["function"], "node-fixture");
    assert_eq!(body["requestId"], "n1");
    let second = worker.invoke(input("n2", "{}")).await.expect("invoked");
    let second = json(&second.payload);
    assert_eq!(second["pid"], body["pid"]);
    assert_eq!(second["initCount"], 1);
    worker.shutdown().await;
}

#[tokio::test]
async fn node_handler_error_is_unhandled() {
    if !node_installed() {
        eprintln!("skipped: node is not installed");
        return;
    }
    let worker = start("index.fail").await;
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("n3", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "TypeError", "{body}");
    assert_eq!(body["errorMessage"], "node went wrong");
    worker.shutdown().await;
}
