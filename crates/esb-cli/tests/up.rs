//! `esb up` end to end on a copy of examples/hello-python: the box comes up in the
//! background, serves API Gateway routes and the Lambda Invoke API to real clients (raw HTTP
//! and boto3), reports its status, says so when started twice, and `esb down` stops it and
//! every worker. Bounded: every request and wait has a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        if entry.file_name() == ".esb" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn hello_python() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-python"),
        dir.path(),
    );
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn esb(dir: &Path, esb_home: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("esb")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ESB_HOME", esb_home)
        // Any free ports for the embedded S3 and DynamoDB: tests run side by side.
        .env("ESB_S3_PORT", "0")
        .env("ESB_DYNAMODB_PORT", "0")
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("esb runs")
}

/// Runtimes are cached per user; tests share the real cache so Python's is built once.
fn shared_home() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".esb")
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Reply {
    request_with(addr, method, path, "", body)
}

fn request_with(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    // A `Host` among `headers` replaces the default one.
    let host = if headers.to_ascii_lowercase().contains("host:") {
        ""
    } else {
        "Host: localhost\r\n"
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\n{host}Connection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    Reply {
        status: head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status"),
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// Whether a process runs (a zombie waiting to be reaped does not).
fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.split_whitespace()
            .nth(2)
            .is_none_or(|state| state != "Z")
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a boto3 script with the Python environment esb prepared (it holds boto3).
fn boto3(script: &str, endpoint: &str) -> String {
    let python = shared_home().join("runtimes/python3.11/bin/python3");
    let python = if python.exists() {
        python
    } else {
        std::fs::read_dir(shared_home().join("runtimes"))
            .expect("runtimes")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/python3"))
            .find(|p| p.exists())
            .expect("an esb Python environment")
    };
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .env("ENDPOINT", endpoint)
        .env("AWS_ACCESS_KEY_ID", "esb")
        .env("AWS_SECRET_ACCESS_KEY", "esb")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const BOTO3_SCRIPT: &str = r#"
import base64, json, os
import boto3
from botocore.config import Config
client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"], config=Config(retries={"max_attempts": 1}))
sync = client.invoke(FunctionName="HelloFunction", Payload=json.dumps({"pathParameters": {"name": "boto"}}), LogType="Tail")
body = json.loads(sync["Payload"].read())
print("sync", sync["StatusCode"], json.loads(body["body"])["message"])
print("tail", "START RequestId" in base64.b64decode(sync["LogResult"]).decode())
arn = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction"
print("arn", client.invoke(FunctionName=arn, Payload=b"{}")["StatusCode"])
print("event", client.invoke(FunctionName="HelloFunction", InvocationType="Event", Payload=b"{}")["StatusCode"])
print("dryrun", client.invoke(FunctionName="HelloFunction", InvocationType="DryRun")["StatusCode"])
try:
    client.invoke(FunctionName="Missing", Payload=b"{}")
except client.exceptions.ResourceNotFoundException as error:
    print("missing", error.response["Error"]["Code"])
"#;

#[test]
fn up_serves_routes_and_the_invoke_api_then_down_stops_everything() {
    let dir = hello_python();
    let home = shared_home();
    let port = free_port();
    let port_text = port.to_string();
    let up = esb(dir.path(), &home, &["up", "--http", "--port", &port_text]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    assert!(
        stderr(&up).contains(&format!("esb is up at http://127.0.0.1:{port}")),
        "{}",
        stderr(&up)
    );

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let hello = request(addr, "GET", "/hello", "");
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert!(hello.body.contains("Hi, world!"), "{}", hello.body);
    assert!(hello.headers.contains("x-amzn-requestid:"));
    assert!(hello.headers.contains("x-amzn-trace-id: root=1-"));
    let named = request(addr, "GET", "/hello/ada%20lovelace", "");
    assert!(named.body.contains("Hi, Ada Lovelace!"), "{}", named.body);
    let missing = request(addr, "GET", "/nope", "");
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, r#"{"message":"Not Found"}"#)
    );
    let wrong_method = request(addr, "POST", "/hello", "");
    assert_eq!(wrong_method.status, 405);
    assert!(
        wrong_method.headers.contains("allow: get"),
        "{}",
        wrong_method.headers
    );
    assert_eq!(
        request(addr, "GET", "/health", "").body,
        r#"{"status":"healthy"}"#
    );
    let containers: serde_json::Value =
        serde_json::from_str(&request(addr, "GET", "/metrics/containers", "").body).expect("json");
    let worker = &containers["containers"][0];
    assert_eq!(worker["function"], "HelloFunction", "{containers}");
    assert_eq!(worker["memory_limit_mb"], 256, "{containers}");
    assert!(
        worker["memory_used_mb"].as_f64().is_some_and(|mb| mb > 0.0),
        "{containers}"
    );

    let boto = boto3(BOTO3_SCRIPT, &format!("http://127.0.0.1:{port}"));
    for expected in [
        "sync 200 Hi, Boto!",
        "tail True",
        "arn 200",
        "event 202",
        "dryrun 204",
        "missing ResourceNotFoundException",
    ] {
        assert!(
            boto.contains(expected),
            "boto3 output lacks {expected:?}:\n{boto}"
        );
    }

    let again = esb(dir.path(), &home, &["up", "--http", "--port", &port_text]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("already running"),
        "{}",
        stderr(&again)
    );

    let status = esb(dir.path(), &home, &["status"]);
    let status_text = String::from_utf8_lossy(&status.stdout);
    assert!(status_text.contains("esb is running"), "{status_text}");
    assert!(status_text.contains("HelloFunction"), "{status_text}");

    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".esb/run/state.json")).expect("state"),
    )
    .expect("json");
    let pid = state["pid"].as_u64().expect("pid");
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stderr(&down).contains("esb is down"));
    assert!(!running(pid), "the box process is gone");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "nothing listens any more"
    );
    let status = esb(dir.path(), &home, &["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("not running"));
}

#[test]
fn up_serves_https_with_the_local_ca_by_default() {
    let dir = hello_python();
    let home = tempfile::tempdir().expect("esb home");
    // The runtimes stay shared; only the certificates are this test's own.
    std::os::unix::fs::symlink(shared_home().join("runtimes"), home.path().join("runtimes"))
        .expect("symlink");
    let port = free_port().to_string();
    let up = esb(dir.path(), home.path(), &["up", "--port", &port]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    assert!(
        stderr(&up).contains(&format!("https://127.0.0.1:{port}")),
        "{}",
        stderr(&up)
    );
    let ca = home.path().join("certs/ca.pem");
    assert!(ca.is_file());
    let script = format!(
        "import ssl, urllib.request; ctx = ssl.create_default_context(cafile={ca:?}); \
         print(urllib.request.urlopen('https://localhost:{port}/hello', context=ctx, timeout=30).read().decode())",
        ca = ca.display().to_string()
    );
    let fetched = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python");
    let body = String::from_utf8_lossy(&fetched.stdout);
    assert!(
        body.contains("Hi, world!"),
        "{body} {}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let cert = esb(dir.path(), home.path(), &["cert"]);
    assert!(String::from_utf8_lossy(&cert.stdout).contains(&ca.display().to_string()));
    let down = esb(dir.path(), home.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

const CHAIN_TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 10}
Resources:
  Front:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.front
      Events:
        Chain: {Type: Api, Properties: {Path: /chain, Method: get}}
  Back:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.back}
"#;

const CHAIN_APP: &str = r#"import json, os
import boto3

lam = boto3.client("lambda")  # no endpoint in code: AWS_ENDPOINT_URL_LAMBDA points at the box


def front(event, context):
    sync = lam.invoke(FunctionName="Back", Payload=b"{}")
    queued = lam.invoke(FunctionName="Back", InvocationType="Event", Payload=b"{}")
    body = {"front": os.environ.get("_X_AMZN_TRACE_ID"), "back": json.loads(sync["Payload"].read()),
            "event_status": queued["StatusCode"]}
    return {"statusCode": 200, "body": json.dumps(body)}


def back(event, context):
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
"#;

#[test]
fn functions_call_functions_through_the_box_carrying_the_trace_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("template.yaml"), CHAIN_TEMPLATE).expect("template");
    std::fs::write(dir.path().join("src/app.py"), CHAIN_APP).expect("app");
    let home = shared_home();
    let port = free_port();
    let up = esb(
        dir.path(),
        &home,
        &["up", "--http", "--port", &port.to_string()],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let reply = request_with(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "GET",
        "/chain",
        &format!("X-Amzn-Trace-Id: {root};Sampled=1\r\n"),
        "",
    );
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.headers.contains(&root.to_ascii_lowercase()),
        "{}",
        reply.headers
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    assert!(
        body["front"].as_str().unwrap_or_default().contains(root),
        "{body}"
    );
    assert!(
        body["back"]["trace"]
            .as_str()
            .unwrap_or_default()
            .contains(root),
        "{body}"
    );
    assert_eq!(body["event_status"], 202);
}

#[test]
fn esb_toml_and_dotenv_configure_the_box_and_down_volumes_deletes_its_data() {
    let dir = hello_python();
    let home = shared_home();
    let (file_port, port) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("esb.toml"),
        format!("[gateway]\nport = {file_port}\nhttp = true\ninvoke_api = \"off\"\n"),
    )
    .expect("esb.toml");
    // .env wins over esb.toml (and would lose to the real environment and to flags).
    std::fs::write(dir.path().join(".env"), format!("ESB_PORT={port}\n")).expect(".env");
    let up = esb(dir.path(), &home, &["up"]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    assert!(
        stderr(&up).contains(&format!("http://127.0.0.1:{port}")),
        "esb.toml's http and .env's port are used: {}",
        stderr(&up)
    );
    let hello = request(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "GET",
        "/hello",
        "",
    );
    assert_eq!(hello.status, 200);
    let invoke = request(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "POST",
        "/2015-03-31/functions/HelloFunction/invocations",
        "{}",
    );
    assert_eq!(
        invoke.status, 403,
        "invoke_api = \"off\" closes the Invoke API"
    );
    assert!(
        invoke
            .headers
            .contains("x-amzn-errortype: accessdeniedexception")
    );
    let logs = dir.path().join(".esb/logs");
    assert!(logs.is_dir());
    let down = esb(dir.path(), &home, &["down", "--volumes", "--yes"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(!logs.exists(), "--volumes deletes the logs");
    assert!(
        dir.path().join(".esb/config/functions.yml").is_file(),
        "the build stays"
    );

    std::fs::write(dir.path().join("esb.toml"), "[gateway]\nprot = 1\n").expect("esb.toml");
    let bad = esb(dir.path(), &home, &["up"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("esb.toml"), "{}", stderr(&bad));
}

const DATA_SCRIPT: &str = r#"
import json, os
import boto3
s3_url, dynamodb_url = os.environ["ENDPOINT"].split(" ")
box = dict(aws_access_key_id="esb", aws_secret_access_key="esb-local-secret", region_name="us-east-1")
s3 = boto3.client("s3", endpoint_url=s3_url, **box)
last = json.loads(s3.get_object(Bucket="hello-assets-dev", Key="visits/ada.json")["Body"].read())
print("s3", last["name"])
table = boto3.resource("dynamodb", endpoint_url=dynamodb_url, **box).Table("GreetingsTable")
print("dynamodb", int(table.get_item(Key={"name": "ada"})["Item"]["visits"]))
wrong = boto3.client("s3", endpoint_url=s3_url, aws_access_key_id="esb", aws_secret_access_key="wrong", region_name="us-east-1")
try:
    wrong.list_buckets()
except Exception as error:
    print("wrong secret", error.response["Error"]["Code"])
"#;

/// The data roles inside `esb up`: the template's bucket and table are provisioned on the
/// embedded S3 and DynamoDB, functions reach them through `AWS_ENDPOINT_URL_*` with the box's
/// credentials, the data survives `esb down` / `esb up` (provisioning then changes nothing),
/// and clients with another secret are refused.
#[test]
fn functions_use_the_provisioned_bucket_and_table_and_data_survives_a_restart() {
    let dir = hello_python();
    let home = shared_home();
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let port_text = port.to_string();
    let up = esb(dir.path(), &home, &["up", "--http", "--port", &port_text]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let printed = stderr(&up);
    assert!(
        printed.contains("bucket hello-assets-dev (AssetsBucket): created")
            && printed.contains("table  GreetingsTable (GreetingsTable): created"),
        "{printed}"
    );
    assert!(
        printed.contains("credentials: esb / esb-local-secret"),
        "{printed}"
    );
    for expected in [1, 2] {
        let visit = request(addr, "POST", "/visits/ada", "");
        assert_eq!(visit.status, 200, "{}", visit.body);
        let body: serde_json::Value = serde_json::from_str(&visit.body).expect("json");
        assert_eq!(body["visits"], expected, "{body}");
    }
    let status = esb(dir.path(), &home, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let (s3, dynamodb) = (
        status["s3"].as_str().expect("s3 endpoint").to_string(),
        status["dynamodb"]
            .as_str()
            .expect("dynamodb endpoint")
            .to_string(),
    );
    let seen = boto3(DATA_SCRIPT, &format!("{s3} {dynamodb}"));
    assert!(seen.contains("s3 ada"), "{seen}");
    assert!(seen.contains("dynamodb 2"), "{seen}");
    assert!(
        seen.contains("wrong secret SignatureDoesNotMatch"),
        "{seen}"
    );

    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let again = esb(dir.path(), &home, &["up", "--http", "--port", &port_text]);
    assert!(again.status.success(), "esb up failed: {}", stderr(&again));
    let printed = stderr(&again);
    assert!(
        printed.contains("hello-assets-dev (AssetsBucket): unchanged")
            && printed.contains("GreetingsTable (GreetingsTable): unchanged"),
        "{printed}"
    );
    let visit = request(addr, "POST", "/visits/ada", "");
    assert!(visit.body.contains("\"visits\": 3"), "{}", visit.body);
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

/// With `[dynamodb] endpoint` set, the embedded database is not started: the table is
/// provisioned on the external endpoint (moto_server here) and functions write there.
#[test]
fn an_external_dynamodb_endpoint_replaces_the_embedded_one() {
    let moto = esb_testkit::Moto::start();
    let dir = hello_python();
    let home = shared_home();
    let port = free_port();
    std::fs::write(
        dir.path().join("esb.toml"),
        format!("[dynamodb]\nendpoint = \"{}\"\n", moto.url),
    )
    .expect("esb.toml");
    let up = esb(
        dir.path(),
        &home,
        &["up", "--http", "--port", &port.to_string()],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    assert!(
        stderr(&up).contains(&format!("DynamoDB: {}", moto.url)),
        "{}",
        stderr(&up)
    );
    let visit = request(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "POST",
        "/visits/grace",
        "",
    );
    assert_eq!(visit.status, 200, "{}", visit.body);
    let script = r#"
import os, boto3
table = boto3.resource("dynamodb", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").Table("GreetingsTable")
print("moto", int(table.get_item(Key={"name": "grace"})["Item"]["visits"]))
"#;
    assert!(boto3(script, &moto.url).contains("moto 1"));
    assert!(
        !dir.path().join(".esb/data/dynamodb").exists(),
        "no embedded database was opened"
    );
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

const SECURED_TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 10}
  Api:
    Cors: {AllowOrigin: "'https://app.example.com'", AllowHeaders: "'Authorization'"}
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hello
      Events:
        Get: {Type: Api, Properties: {Path: /hello, Method: get}}
  Fail:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fail
      Events:
        Get: {Type: Api, Properties: {Path: /fail, Method: get}}
"#;

const SECURED_APP: &str = r#"import json


def hello(event, context):
    claims = event["requestContext"]["authorizer"]["claims"]
    return {"statusCode": 200, "body": json.dumps({"user": claims["cognito:username"]})}


def fail(event, context):
    raise RuntimeError("always")
"#;

/// The original ESB's auth flow, the circuit breaker, CORS preflight and `/metrics`, configured
/// through the original ESB's environment variables in `.env`.
#[test]
fn esb_auth_breaker_cors_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("template.yaml"), SECURED_TEMPLATE).expect("template");
    std::fs::write(dir.path().join("src/app.py"), SECURED_APP).expect("app");
    std::fs::write(
        dir.path().join(".env"),
        "X_API_KEY=test-key\nAUTH_USER=alice\nAUTH_PASS=wonderland\n\
         JWT_SECRET_KEY=0123456789abcdef0123456789abcdef\n\
         CIRCUIT_BREAKER_THRESHOLD=2\nCIRCUIT_BREAKER_RECOVERY_TIMEOUT=60\n",
    )
    .expect(".env");
    let home = shared_home();
    let port = free_port();
    let up = esb(
        dir.path(),
        &home,
        &["up", "--http", "--port", &port.to_string()],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let anonymous = request(addr, "GET", "/hello", "");
    let login_body = r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"wonderland"}}"#;
    let bad_key = request_with(
        addr,
        "POST",
        "/user/auth/ver1.0",
        "x-api-key: nope\r\n",
        login_body,
    );
    let bad_password = request_with(
        addr,
        "POST",
        "/user/auth/ver1.0",
        "x-api-key: test-key\r\n",
        r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"guess"}}"#,
    );
    let login = request_with(
        addr,
        "POST",
        "/user/auth/ver1.0",
        "x-api-key: test-key\r\n",
        login_body,
    );
    let token: serde_json::Value = serde_json::from_str(&login.body).unwrap_or_default();
    let token = token["AuthenticationResult"]["IdToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let hello = request_with(addr, "GET", "/hello", &bearer, "");
    let fails: Vec<Reply> = (0..3)
        .map(|_| request_with(addr, "GET", "/fail", &bearer, ""))
        .collect();
    let preflight = request_with(
        addr,
        "OPTIONS",
        "/hello",
        "Origin: https://app.example.com\r\nAccess-Control-Request-Method: GET\r\n",
        "",
    );
    let metrics = request(addr, "GET", "/metrics", "");
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());

    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    assert_eq!(bad_key.status, 403);
    assert_eq!(bad_password.status, 401);
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(
        login.headers.contains("padma_user_authorized: true"),
        "{}",
        login.headers
    );
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, r#"{"user": "alice"}"#)
    );
    assert!(
        fails
            .iter()
            .all(|r| r.status == 502 && r.body == r#"{"message":"Internal server error"}"#)
    );
    assert_eq!(preflight.status, 200, "{}", preflight.headers);
    assert!(
        preflight
            .headers
            .contains("access-control-allow-origin: https://app.example.com"),
        "{}",
        preflight.headers
    );
    let text = &metrics.body;
    assert!(
        text.contains(r#"esb_invocation_errors_total{function="Fail",type="function_error"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"esb_invocation_errors_total{function="Fail",type="circuit_open"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"esb_invocations_total{function="Hello"} 1"#),
        "{text}"
    );
}

const URL_TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Handler: app.handler}
Resources:
  WebHook:
    Type: AWS::Serverless::Function
    Properties:
      FunctionUrlConfig: {AuthType: NONE}
  Private:
    Type: AWS::Serverless::Function
    Properties:
      FunctionUrlConfig: {AuthType: AWS_IAM}
"#;

const URL_APP: &str = r#"import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({
        "version": event["version"], "rawPath": event["rawPath"],
        "rawQueryString": event["rawQueryString"], "routeKey": event["routeKey"]})}
"#;

#[test]
fn function_urls_by_host_name_and_by_path_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("template.yaml"), URL_TEMPLATE).expect("template");
    std::fs::write(dir.path().join("src/app.py"), URL_APP).expect("app");
    let home = shared_home();
    let port = free_port();
    let up = esb(
        dir.path(),
        &home,
        &["up", "--http", "--port", &port.to_string()],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let by_host = request_with(
        addr,
        "GET",
        "/a/b?x=1",
        "Host: webhook.lambda-url.localhost\r\n",
        "",
    );
    let by_path = request(addr, "POST", "/_lambda-url/WebHook/hooks?y=2", "{}");
    let private = request(addr, "GET", "/_lambda-url/Private/", "");
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());

    assert_eq!(by_host.status, 200, "{}", by_host.body);
    let body: serde_json::Value = serde_json::from_str(&by_host.body).expect("json");
    assert_eq!(body["version"], "2.0");
    assert_eq!(body["rawPath"], "/a/b");
    assert_eq!(body["rawQueryString"], "x=1");
    assert_eq!(body["routeKey"], "$default");
    let body: serde_json::Value = serde_json::from_str(&by_path.body).expect("json");
    assert_eq!(
        (body["rawPath"].as_str(), body["rawQueryString"].as_str()),
        (Some("/hooks"), Some("y=2"))
    );
    assert_eq!(private.status, 403, "AWS_IAM URLs need a signed request");
}
