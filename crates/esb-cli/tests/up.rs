//! `esb up` end to end on a copy of examples/hello-python: the box comes up in the
//! background, serves API Gateway routes and the Lambda Invoke API to real clients (raw HTTP
//! and boto3), reports its status, says so when started twice, and `esb down` stops it and
//! every worker. Bounded: every request and wait has a timeout.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use esb_testkit::free_port;
use support::http::{Reply, send};
use support::project::{box_addr, example, python_project, running, shared_home, stderr};
use support::services::python;

fn hello_python() -> tempfile::TempDir {
    example("hello-python")
}

/// `esb <args>` with a deadline long enough for a first build.
fn esb(dir: &Path, esb_home: &Path, args: &[&str]) -> Output {
    support::project::esb(dir, esb_home, args, Duration::from_secs(300))
}

/// `esb up --http` on any free port, which must succeed; its output and where it serves.
fn up_http(dir: &Path, home: &Path) -> (Output, SocketAddr) {
    let up = esb(dir, home, &["up", "--http", "--port", "0"]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    (up, box_addr(dir))
}

/// Runs a boto3 script with `ENDPOINT` set (and credentials the Invoke API accepts).
fn boto3(script: &str, endpoint: &str) -> String {
    python(
        script,
        &[
            ("ENDPOINT", endpoint),
            ("AWS_ACCESS_KEY_ID", "esb"),
            ("AWS_SECRET_ACCESS_KEY", "esb"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ],
    )
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
    let (up, addr) = up_http(dir.path(), &home);
    assert!(
        stderr(&up).contains(&format!("esb is up at http://{addr}")),
        "{}",
        stderr(&up)
    );

    let hello = send(addr, "GET", "/hello", &[], b"");
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert!(hello.text().contains("Hi, world!"), "{}", hello.text());
    assert!(hello.head().contains("x-amzn-requestid:"));
    assert!(hello.head().contains("x-amzn-trace-id: root=1-"));
    let named = send(addr, "GET", "/hello/ada%20lovelace", &[], b"");
    assert!(
        named.text().contains("Hi, Ada Lovelace!"),
        "{}",
        named.text()
    );
    let missing = send(addr, "GET", "/nope", &[], b"");
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, r#"{"message":"Not Found"}"#)
    );
    let wrong_method = send(addr, "POST", "/hello", &[], b"");
    assert_eq!(wrong_method.status, 405);
    assert!(
        wrong_method.head().contains("allow: get"),
        "{}",
        wrong_method.head()
    );
    assert_eq!(
        send(addr, "GET", "/health", &[], b"").text(),
        r#"{"status":"healthy"}"#
    );
    let containers: serde_json::Value =
        serde_json::from_slice(&send(addr, "GET", "/metrics/containers", &[], b"").body)
            .expect("json");
    let worker = &containers["containers"][0];
    assert_eq!(worker["function"], "HelloFunction", "{containers}");
    assert_eq!(worker["memory_limit_mb"], 256, "{containers}");
    assert!(
        worker["memory_used_mb"].as_f64().is_some_and(|mb| mb > 0.0),
        "{containers}"
    );

    let boto = boto3(BOTO3_SCRIPT, &format!("http://{addr}"));
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

    let again = esb(dir.path(), &home, &["up", "--http", "--port", "0"]);
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

/// A state file left by a box that died (`kill -9`, a reboot) names a pid that another process
/// may own by now. Neither `esb status`, `esb up` nor `esb down` may take that process for the
/// box: `up` starts a new box and `down` never signals the stranger.
#[test]
fn a_stale_state_file_naming_another_process_is_never_acted_on() {
    let dir = hello_python();
    let home = shared_home();
    let mut stranger = std::process::Command::new("sleep")
        .arg("120")
        .spawn()
        .expect("sleep");
    let pid = u64::from(stranger.id());
    // Even the stranger's own start time does not make it the box: no box holds the lock.
    let started = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .expect("stat")
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19).map(str::to_string))
        .expect("start time");
    let stale = format!(
        r#"{{"pid":{pid},"started":{started},"url":"http://127.0.0.1:9","addr":"127.0.0.1:9","admin":"127.0.0.1:9"}}"#
    );
    std::fs::create_dir_all(dir.path().join(".esb/run")).expect("run dir");
    std::fs::write(dir.path().join(".esb/run/state.json"), &stale).expect("state");

    let status = esb(dir.path(), &home, &["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("not running"));
    let down = esb(dir.path(), &home, &["down"]);
    assert!(
        stderr(&down).contains("esb is not running"),
        "{}",
        stderr(&down)
    );
    assert!(
        running(pid),
        "esb down signalled a process that is not the box"
    );

    std::fs::write(dir.path().join(".esb/run/state.json"), &stale).expect("state");
    let (up, addr) = up_http(dir.path(), &home);
    assert!(!stderr(&up).contains("already running"), "{}", stderr(&up));
    assert_eq!(send(addr, "GET", "/hello", &[], b"").status, 200);
    let down = esb(dir.path(), &home, &["down"]);
    assert!(stderr(&down).contains("esb is down"), "{}", stderr(&down));
    assert!(
        running(pid),
        "esb down signalled a process that is not the box"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();
}

/// A port someone else holds is one sentence naming the port, what wanted it and the option
/// that moves it, not a page of the background box's log.
#[test]
fn a_port_in_use_is_one_clear_sentence() {
    let dir = hello_python();
    let home = shared_home();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    for (flag, role) in [("--port", "the gateway"), ("--s3-port", "the embedded S3")] {
        let mut args = vec!["up", "--http", "--dynamodb-port", "0", flag, &port];
        for (other, zero) in [("--port", "0"), ("--s3-port", "0")] {
            if other != flag {
                args.extend([other, zero]);
            }
        }
        let up = esb(dir.path(), &home, &args);
        assert!(!up.status.success(), "{}", stderr(&up));
        // miette wraps long lines with a margin; the sentence is what counts.
        let text = stderr(&up).replace('│', " ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let expected = format!("port {port} on 127.0.0.1 is already in use");
        assert!(text.contains(&expected), "{text}");
        assert!(
            text.contains(&format!("{role} cannot listen there")),
            "{text}"
        );
        assert!(
            text.contains(&format!("choose another port with {flag}")),
            "{text}"
        );
        assert!(!text.contains("stopped while starting"), "{text}");
    }
}

const SLOW_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Timeout: 30
"#;

const SLOW_APP: &str = r#"
import time
def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return "done"
"#;

/// Queues `count` asynchronous invocations of `Slow` that each sleep `seconds`.
fn queue_slow_events(addr: SocketAddr, count: usize, seconds: f64) {
    for _ in 0..count {
        let queued = send(
            addr,
            "POST",
            "/2015-03-31/functions/Slow/invocations",
            &[("x-amz-invocation-type", "Event")],
            format!(r#"{{"seconds": {seconds}}}"#).as_bytes(),
        );
        assert_eq!(queued.status, 202, "{}", queued.text());
    }
}

/// `esb down` lets queued `Event` invocations finish within the drain time, and says how many
/// it had to drop when they could not.
#[test]
fn down_drains_queued_events_and_reports_the_ones_it_drops() {
    let dir = support::project::python_project(SLOW_TEMPLATE, SLOW_APP);
    let home = shared_home();

    // Enough drain time: every queued event runs and nothing is reported.
    let (_, addr) = up_http(dir.path(), &home);
    queue_slow_events(addr, 4, 0.3);
    let down = esb(dir.path(), &home, &["down"]);
    assert!(stderr(&down).contains("esb is down"), "{}", stderr(&down));
    assert!(!stderr(&down).contains("dropped"), "{}", stderr(&down));
    let log = std::fs::read_to_string(dir.path().join(".esb/logs/functions.log")).expect("log");
    assert_eq!(log.matches("END RequestId").count(), 4, "{log}");

    // Events that cannot finish within a one-second drain are dropped, and counted.
    let up = esb(
        dir.path(),
        &home,
        &["up", "--http", "--port", "0", "--drain", "1"],
    );
    assert!(up.status.success(), "{}", stderr(&up));
    queue_slow_events(box_addr(dir.path()), 6, 5.0);
    let down = esb(dir.path(), &home, &["down"]);
    let text = stderr(&down)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("esb is down"), "{text}");
    assert!(
        text.contains("6 queued asynchronous invocations were dropped") && text.contains("Slow: 6"),
        "{text}"
    );
}

#[test]
fn up_serves_https_with_the_local_ca_by_default() {
    let dir = hello_python();
    let home = tempfile::tempdir().expect("esb home");
    // The runtimes stay shared; only the certificates are this test's own.
    std::os::unix::fs::symlink(shared_home().join("runtimes"), home.path().join("runtimes"))
        .expect("symlink");
    let up = esb(dir.path(), home.path(), &["up", "--port", "0"]);
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let port = box_addr(dir.path()).port();
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
    // Plain HTTP to the HTTPS port is told so, not met with an empty reply.
    let plain = send(box_addr(dir.path()), "GET", "/hello", &[], b"");
    assert_eq!(plain.status, 400);
    assert!(
        plain.text().contains("This port speaks HTTPS"),
        "{}",
        plain.text()
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
    let dir = python_project(CHAIN_TEMPLATE, CHAIN_APP);
    let home = shared_home();
    let (_, addr) = up_http(dir.path(), &home);
    let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let trace = format!("{root};Sampled=1");
    let reply = send(addr, "GET", "/chain", &[("X-Amzn-Trace-Id", &trace)], b"");
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.head().contains(&root.to_ascii_lowercase()),
        "{}",
        reply.head()
    );
    let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
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
    let hello = send(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "GET",
        "/hello",
        &[],
        b"",
    );
    assert_eq!(hello.status, 200);
    let invoke = send(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "POST",
        "/2015-03-31/functions/HelloFunction/invocations",
        &[],
        b"{}",
    );
    assert_eq!(
        invoke.status, 403,
        "invoke_api = \"off\" closes the Invoke API"
    );
    assert!(
        invoke
            .head()
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
    let (up, addr) = up_http(dir.path(), &home);
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
        let visit = send(addr, "POST", "/visits/ada", &[], b"");
        assert_eq!(visit.status, 200, "{}", visit.text());
        let body: serde_json::Value = serde_json::from_slice(&visit.body).expect("json");
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
    // `esb invoke` beside the running box uses the box's data too.
    let event = r#"{"httpMethod": "POST", "pathParameters": {"name": "ada"}}"#;
    let invoked = support::project::esb_command(dir.path())
        .env("ESB_HOME", &home)
        .args(["invoke", "VisitsFunction", "--event", "-"])
        .write_stdin(event)
        .output()
        .expect("esb invoke");
    let result = String::from_utf8_lossy(&invoked.stdout);
    assert!(
        result.contains(r#"\"visits\": 3"#),
        "{result}{}",
        stderr(&invoked)
    );

    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let (again, addr) = up_http(dir.path(), &home);
    let printed = stderr(&again);
    assert!(
        printed.contains("hello-assets-dev (AssetsBucket): unchanged")
            && printed.contains("GreetingsTable (GreetingsTable): unchanged"),
        "{printed}"
    );
    let visit = send(addr, "POST", "/visits/ada", &[], b"");
    assert!(visit.text().contains("\"visits\": 4"), "{}", visit.text());
    let data = dir.path().join(".esb/data");
    assert!(data.join("s3").is_dir() && data.join("dynamodb").is_dir());
    let down = esb(dir.path(), &home, &["down", "--volumes", "--yes"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(!data.exists(), "--volumes deletes the buckets and tables");
}

/// With `[s3] endpoint` and `[dynamodb] endpoint` set, the embedded services are not started:
/// the bucket and table are provisioned on the external endpoints (moto_server here) and
/// functions write there.
#[test]
fn external_endpoints_replace_the_embedded_services() {
    let moto = esb_testkit::Moto::start();
    let dir = hello_python();
    let home = shared_home();
    std::fs::write(
        dir.path().join("esb.toml"),
        format!(
            "[s3]\nendpoint = \"{url}\"\n[dynamodb]\nendpoint = \"{url}\"\n",
            url = moto.url
        ),
    )
    .expect("esb.toml");
    let (up, addr) = up_http(dir.path(), &home);
    assert!(
        stderr(&up).contains(&format!("S3: {url}   DynamoDB: {url}", url = moto.url)),
        "{}",
        stderr(&up)
    );
    let visit = send(addr, "POST", "/visits/grace", &[], b"");
    assert_eq!(visit.status, 200, "{}", visit.text());
    let script = r#"
import os, boto3
table = boto3.resource("dynamodb", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").Table("GreetingsTable")
print("moto", int(table.get_item(Key={"name": "grace"})["Item"]["visits"]))
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
print("object", s3.head_object(Bucket="hello-assets-dev", Key="visits/grace.json")["ContentType"])
"#;
    let seen = boto3(script, &moto.url);
    assert!(seen.contains("moto 1"), "{seen}");
    assert!(seen.contains("object application/json"), "{seen}");
    assert!(
        !dir.path().join(".esb/data").exists(),
        "no embedded service was opened"
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
        # Takes over the box's short /health: the built-in stays at /_esb/health.
        Health: {Type: Api, Properties: {Path: /health, Method: get}}
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

/// The original ESB's auth flow, the circuit breaker, CORS preflight and `/metrics` (behind the
/// same login), configured through the original ESB's environment variables in `.env`; a
/// template route on `/health` wins over the box's own.
#[test]
fn esb_auth_breaker_cors_and_metrics() {
    let dir = python_project(SECURED_TEMPLATE, SECURED_APP);
    std::fs::write(
        dir.path().join(".env"),
        "X_API_KEY=test-key\nAUTH_USER=alice\nAUTH_PASS=wonderland\n\
         JWT_SECRET_KEY=0123456789abcdef0123456789abcdef\n\
         CIRCUIT_BREAKER_THRESHOLD=2\nCIRCUIT_BREAKER_RECOVERY_TIMEOUT=60\n",
    )
    .expect(".env");
    let home = shared_home();
    let (up, addr) = up_http(dir.path(), &home);
    assert!(
        stderr(&up).contains(
            "the template's route GET /health answers /health; the box's own endpoint stays at /_esb/health"
        ),
        "{}",
        stderr(&up)
    );

    let anonymous = send(addr, "GET", "/hello", &[], b"");
    let login_body = r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"wonderland"}}"#;
    let login_path = "/user/auth/ver1.0";
    let bad_key = send(
        addr,
        "POST",
        login_path,
        &[("x-api-key", "nope")],
        login_body.as_bytes(),
    );
    let bad_password = send(
        addr,
        "POST",
        login_path,
        &[("x-api-key", "test-key")],
        br#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"guess"}}"#,
    );
    let login = send(
        addr,
        "POST",
        login_path,
        &[("x-api-key", "test-key")],
        login_body.as_bytes(),
    );
    let token: serde_json::Value = serde_json::from_slice(&login.body).unwrap_or_default();
    let token = token["AuthenticationResult"]["IdToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bearer = format!("Bearer {token}");
    let authorized = [("Authorization", bearer.as_str())];
    let hello = send(addr, "GET", "/hello", &authorized, b"");
    let fails: Vec<Reply> = (0..3)
        .map(|_| send(addr, "GET", "/fail", &authorized, b""))
        .collect();
    let preflight = send(
        addr,
        "OPTIONS",
        "/hello",
        &[
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "GET"),
        ],
        b"",
    );
    let metrics = send(addr, "GET", "/metrics", &authorized, b"");
    // The box's own endpoints need the login too, but for its health.
    for path in [
        "/metrics",
        "/metrics/containers",
        "/_esb/metrics",
        "/_esb/status",
    ] {
        assert_eq!(send(addr, "GET", path, &[], b"").status, 401, "{path}");
    }
    let own_status = send(addr, "GET", "/_esb/status", &authorized, b"");
    assert_eq!(own_status.status, 200, "{}", own_status.text());
    assert_eq!(
        send(addr, "GET", "/_esb/health", &[], b"").text(),
        r#"{"status":"healthy"}"#
    );
    let template_health = send(addr, "GET", "/health", &authorized, b"");
    assert_eq!(template_health.text(), r#"{"user": "alice"}"#);
    let status = esb(dir.path(), &home, &["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("esb is running"));
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());

    assert_eq!(
        (anonymous.status, anonymous.text().as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    assert_eq!(
        (bad_key.status, bad_key.text().as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    assert!(!bad_key.head().contains("padma_user_authorized"));
    assert_eq!(bad_password.status, 401);
    assert_eq!(login.status, 200, "{}", login.text());
    assert!(
        login.head().contains("padma_user_authorized: true"),
        "{}",
        login.head()
    );
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, r#"{"user": "alice"}"#)
    );
    assert!(
        fails
            .iter()
            .all(|r| r.status == 502 && r.text() == r#"{"message":"Internal server error"}"#)
    );
    assert_eq!(preflight.status, 200, "{}", preflight.head());
    assert!(
        preflight
            .head()
            .contains("access-control-allow-origin: https://app.example.com"),
        "{}",
        preflight.head()
    );
    let text = &metrics.text();
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
    let dir = python_project(URL_TEMPLATE, URL_APP);
    let home = shared_home();
    let (_, addr) = up_http(dir.path(), &home);
    let by_host = send(
        addr,
        "GET",
        "/a/b?x=1",
        &[("Host", "webhook.lambda-url.localhost")],
        b"",
    );
    let by_path = send(addr, "POST", "/_lambda-url/WebHook/hooks?y=2", &[], b"{}");
    let private = send(addr, "GET", "/_lambda-url/Private/", &[], b"");
    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success());

    assert_eq!(by_host.status, 200, "{}", by_host.text());
    let body: serde_json::Value = serde_json::from_slice(&by_host.body).expect("json");
    assert_eq!(body["version"], "2.0");
    assert_eq!(body["rawPath"], "/a/b");
    assert_eq!(body["rawQueryString"], "x=1");
    assert_eq!(body["routeKey"], "$default");
    let body: serde_json::Value = serde_json::from_slice(&by_path.body).expect("json");
    assert_eq!(
        (body["rawPath"].as_str(), body["rawQueryString"].as_str()),
        (Some("/hooks"), Some("y=2"))
    );
    assert_eq!(private.status, 403, "AWS_IAM URLs need a signed request");
}
