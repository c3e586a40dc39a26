//! `esb invoke` end to end: build, one invocation under the real awslambdaric, the result on
//! stdout, the log on stderr, and the exit code.

mod support;

use predicates::prelude::*;

use support::project::esb_command as esb;

const TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 2
    Layers: [!Ref Shared]
    Environment:
      Variables: {GREETING: hello}
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: broken-fn
      Handler: app.broken
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
"#;

const APP: &str = r#"import os
import shared


def echo(event, context):
    print("echo called")
    return {"event": event, "greeting": os.environ["GREETING"], "shared": shared.VALUE,
            "name": context.function_name}


def broken(event, context):
    raise RuntimeError("boom")
"#;

fn project() -> tempfile::TempDir {
    support::project::project(&[
        ("template.yaml", TEMPLATE),
        ("src/app.py", APP),
        ("layer/python/shared.py", "VALUE = 42\n"),
        (
            "env.json",
            r#"{"Parameters": {"GREETING": "from-params"}, "Echo": {"GREETING": "from-env-file"}}"#,
        ),
    ])
}

#[test]
fn invoke_prints_the_result_and_the_log() {
    let dir = project();
    let output = esb(dir.path())
        .args(["invoke", "Echo", "--event", "-"])
        .write_stdin(r#"{"x": 1}"#)
        .assert()
        .success()
        .stderr(predicate::str::contains("START RequestId: "))
        .stderr(predicate::str::contains("echo called"))
        .stderr(predicate::str::contains("REPORT RequestId: "))
        .get_output()
        .stdout
        .clone();
    let result: serde_json::Value = serde_json::from_slice(&output).expect("json on stdout");
    assert_eq!(result["event"], serde_json::json!({"x": 1}));
    assert_eq!(result["greeting"], "hello");
    assert_eq!(
        result["shared"], 42,
        "the layer is importable from /opt/python"
    );
    assert_eq!(result["name"], "Echo");
    assert!(dir.path().join(".esb/logs/Echo.log").is_file());
}

#[test]
fn env_vars_file_overrides_and_tail_mode() {
    let dir = project();
    let output = esb(dir.path())
        .args([
            "invoke",
            "Echo",
            "--env-vars",
            "env.json",
            "--log-type",
            "tail",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("END RequestId: "))
        .get_output()
        .stdout
        .clone();
    let result: serde_json::Value = serde_json::from_slice(&output).expect("json on stdout");
    assert_eq!(result["greeting"], "from-env-file");
}

#[test]
fn a_function_error_prints_the_error_and_exits_1() {
    let dir = project();
    esb(dir.path())
        .args(["invoke", "broken-fn"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"errorType\": \"RuntimeError\""))
        .stderr(predicate::str::contains("returned an error (Unhandled)"));
}

#[test]
fn unknown_functions_and_bad_events_are_clear_errors() {
    let dir = project();
    esb(dir.path())
        .args(["invoke", "Nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no function named Nope"))
        .stderr(predicate::str::contains("Echo"));
    esb(dir.path())
        .args(["invoke", "Echo", "--event", "-"])
        .write_stdin("not json")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not valid JSON"));
}
