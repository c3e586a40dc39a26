//! The projects under `examples/` run end to end with `esb invoke`: built, invoked under
//! AWS's runtime interface clients, answering an API Gateway event.

mod support;

use std::path::Path;

use assert_cmd::Command;
use support::project::example;

/// Invokes `function` in the example with `event` and returns the parsed API response body.
fn invoke(dir: &Path, function: &str, event: &str) -> serde_json::Value {
    let output = Command::cargo_bin("esb")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["invoke", function, "--event", "-"])
        .write_stdin(event)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("esb runs");
    assert!(
        output.status.success(),
        "esb invoke failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json result");
    assert_eq!(response["statusCode"], 200, "{response}");
    serde_json::from_str(response["body"].as_str().expect("string body")).expect("json body")
}

#[test]
fn hello_python_answers_with_its_layer_and_dependency() {
    let dir = example("hello-python");
    let body = invoke(
        dir.path(),
        "HelloFunction",
        r#"{"pathParameters": {"name": "ada lovelace"}}"#,
    );
    // "Hi" comes from generator.yml, the title-casing from the `inflection` dependency and the
    // phrasing from the layer's module.
    assert_eq!(body["message"], "Hi, Ada Lovelace!");
}

#[test]
fn hello_node_answers() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: node is not installed");
        return;
    }
    let dir = example("hello-node");
    let body = invoke(
        dir.path(),
        "HelloNodeFunction",
        r#"{"pathParameters": {"name": "node"}}"#,
    );
    assert_eq!(body["message"], "Hello, node!");
}

/// Keeps the example's cargo target directory between runs (as the esb-build golden test
/// does), so the Rust example is not compiled cold every time.
fn share_cargo_target_dir(project: &Path) {
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hello-rust-cargo-target");
    std::fs::create_dir_all(&shared).expect("mkdir shared target");
    let cache = project.join(".esb/cache");
    std::fs::create_dir_all(&cache).expect("mkdir cache");
    std::os::unix::fs::symlink(&shared, cache.join("cargo-target")).expect("symlink");
}

#[test]
fn hello_rust_answers_through_lambda_runtime() {
    let dir = example("hello-rust");
    share_cargo_target_dir(dir.path());
    let event = r#"{"resource":"/hello","path":"/hello","httpMethod":"GET","headers":{},
        "multiValueHeaders":{},"queryStringParameters":{"name":"ferris"},
        "multiValueQueryStringParameters":{"name":["ferris"]},"pathParameters":null,
        "stageVariables":null,"requestContext":{"accountId":"123456789012","resourceId":"r",
        "stage":"Prod","requestId":"id","identity":{"sourceIp":"127.0.0.1"},
        "resourcePath":"/hello","httpMethod":"GET","apiId":"local"},"body":null,
        "isBase64Encoded":false}"#;
    let body = invoke(dir.path(), "HelloRustFunction", event);
    assert_eq!(body["message"], "hello from rust");
    assert_eq!(body["name"], "ferris");
    assert_eq!(body["path"], "/hello");
}
