//! The process driver with the real AWS runtime interface client for Node.js
//! (`aws-lambda-ric`): success with warm reuse and a handler error. Skipped where no `node`
//! is installed. Every wait is bounded.

mod support;

use esb_agent::{FunctionError, Worker};
use support::{SpecBuilder, fixture, input, invoke, json};

fn node_installed() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A started worker for `handler`, or `None` (after saying the test is skipped) where no `node`
/// is installed.
async fn start(handler: &str) -> Option<Worker> {
    if !node_installed() {
        eprintln!("skipped: node is not installed");
        return None;
    }
    let spec = SpecBuilder::new("nodejs20.x", handler, fixture("node"))
        .named("NodeFixture", "node-fixture")
        .timeout(5)
        .secret_access_key("esb-secret")
        .build_on_blocking_pool()
        .await;
    Some(support::start(spec).await.0)
}

#[tokio::test]
async fn node_success_and_warm_reuse() {
    let Some(worker) = start("index.ok").await else {
        return;
    };
    let first = invoke(&worker, input("n1", r#"{"a":1}"#)).await;
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
    let Some(worker) = start("index.fail").await else {
        return;
    };
    let result = invoke(&worker, input("n3", "{}")).await;
    assert_eq!(result.function_error, Some(FunctionError::Unhandled));
    let body = json(&result.payload);
    assert_eq!(body["errorType"], "TypeError", "{body}");
    assert_eq!(body["errorMessage"], "node went wrong");
    worker.shutdown().await;
}
