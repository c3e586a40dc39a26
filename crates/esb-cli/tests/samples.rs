//! Sample-style projects as current SAM samples are written, run as a new user would: the
//! newest runtimes (served on the host's nearest interpreter, with a warning), a runtime the
//! box does not serve (said at `esb up` and in `esb status`, refused by `--strict`), a wrapper
//! script from a layer (`AWS_LAMBDA_EXEC_WRAPPER`), and `esb status`/`esb down` working from
//! the running box's state without the parameters `esb up` was given.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::http::send;
use support::project::{box_addr, project, shared_home, stderr};

fn esb(dir: &Path, args: &[&str]) -> Output {
    support::project::esb(dir, &shared_home(), args, Duration::from_secs(700))
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Owner:
    Type: String
Resources:
  NewestPython:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.14
      Handler: app.handler
      CodeUri: py/
      Environment: {Variables: {OWNER: !Ref Owner}}
      Events:
        Get: {Type: HttpApi, Properties: {Path: /py, Method: get}}
  NewestNode:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs24.x
      Handler: index.handler
      CodeUri: node/
      Events:
        Get: {Type: HttpApi, Properties: {Path: /node, Method: get}}
  Wrapped:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: py/
      Layers: [!Ref WrapperLayer]
      Environment: {Variables: {AWS_LAMBDA_EXEC_WRAPPER: /opt/wrapper.sh}}
      Events:
        Get: {Type: HttpApi, Properties: {Path: /wrapped, Method: get}}
  WrapperLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  JavaFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: java21
      Handler: example.Handler::handleRequest
      CodeUri: java/
      Events:
        Get: {Type: HttpApi, Properties: {Path: /java, Method: get}}
"#;

const PY_APP: &str = r#"
import os, sys
def handler(event, context):
    return {"statusCode": 200, "body": "py %d.%d wrapped=%s owner=%s" % (
        sys.version_info[0], sys.version_info[1], os.environ.get("WRAPPED", "no"), os.environ.get("OWNER"))}
"#;

const NODE_APP: &str = r#"
exports.handler = async () => ({ statusCode: 200, body: `node ${process.versions.node}` });
"#;

/// A wrapper as Lambda layers write them: set something up, then run the runtime.
const WRAPPER: &str = "#!/bin/sh\nexport WRAPPED=yes\nexec \"$@\"\n";

fn sample() -> tempfile::TempDir {
    let dir = project(&[
        ("template.yaml", TEMPLATE),
        ("generator.yml", "parameters:\n  Owner: ada\n"),
        ("py/app.py", PY_APP),
        ("node/index.js", NODE_APP),
        ("layer/wrapper.sh", WRAPPER),
        ("java/README", "a Java function's code would be here"),
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("layer/wrapper.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    dir
}

#[test]
fn newest_runtimes_run_and_what_cannot_run_is_said() {
    let dir = sample();
    let up = esb(
        dir.path(),
        &["up", "--http", "--port", "0", "--wait", "600"],
    );
    let up_text = stderr(&up);
    assert!(up.status.success(), "esb up failed: {up_text}");
    // A runtime the box does not serve is named at `esb up`, with the reason.
    assert!(
        up_text.contains("JavaFunction cannot run here")
            && up_text.contains("java runtimes are not served yet"),
        "{up_text}"
    );
    let addr = box_addr(dir.path());

    let python = send(addr, "GET", "/py", &[], b"");
    assert_eq!(python.status, 200, "{}", python.text());
    assert!(python.text().starts_with("py 3."), "{}", python.text());
    assert!(python.text().contains("wrapped=no"), "{}", python.text());
    let node = send(addr, "GET", "/node", &[], b"");
    assert_eq!(node.status, 200, "{}", node.text());
    assert!(node.text().starts_with("node "), "{}", node.text());
    let wrapped = send(addr, "GET", "/wrapped", &[], b"");
    assert_eq!(wrapped.status, 200, "{}", wrapped.text());
    assert!(wrapped.text().contains("wrapped=yes"), "{}", wrapped.text());
    assert_eq!(send(addr, "GET", "/java", &[], b"").status, 502);

    // No parameter overrides needed: generator.yml gave Owner; status and down read the
    // running box's state, not the template.
    std::fs::remove_file(dir.path().join("generator.yml")).expect("rm generator.yml");
    let status = esb(dir.path(), &["status"]);
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(status_text.contains("esb is running"), "{status_text}");
    assert!(
        status_text.contains("python3.14 on Python 3."),
        "{status_text}"
    );
    assert!(
        status_text.contains("nodejs24.x on Node.js "),
        "{status_text}"
    );
    assert!(
        status_text.contains("through") && status_text.contains("wrapper.sh"),
        "{status_text}"
    );
    assert!(
        status_text.contains("JavaFunction") && status_text.contains("cannot run:"),
        "{status_text}"
    );
    let json = esb(dir.path(), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status JSON");
    let functions = json["functions"].as_array().expect("functions");
    let newest = functions
        .iter()
        .find(|f| f["name"] == "NewestPython")
        .expect("NewestPython listed");
    assert_eq!(newest["runtime"], "python3.14", "{json}");
    assert!(newest["runsOn"].as_str().is_some(), "{json}");

    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "esb down failed: {}", stderr(&down));
    assert!(stderr(&down).contains("esb is down"), "{}", stderr(&down));
}

#[test]
fn strict_refuses_a_function_that_cannot_run() {
    let dir = sample();
    let up = esb(
        dir.path(),
        &["up", "--http", "--port", "0", "--wait", "600", "--strict"],
    );
    let text = stderr(&up);
    assert!(!up.status.success(), "--strict served anyway: {text}");
    assert!(
        text.contains("--strict") && text.contains("JavaFunction"),
        "{text}"
    );
    assert!(
        !dir.path().join(".esb/run/state.json").exists(),
        "a refused box left its state behind"
    );
}

const SDK_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: nodejs20.x, Timeout: 30, MemorySize: 256}
Resources:
  EsmWriter:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: esm/, Handler: index.handler}
  CjsReader:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: cjs/, Handler: app.handler}
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: sdk-items
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Files:
    Type: AWS::S3::Bucket
    Properties: {BucketName: sdk-files}
"#;

/// An ES module handler importing the preinstalled SDK v3 (client and document client), as
/// current samples are written: nothing bundled.
const SDK_ESM: &str = r#"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => {
  await documents.send(new PutCommand({ TableName: "sdk-items", Item: { id: event.id, note: "from esm" } }));
  const { Item } = await documents.send(new GetCommand({ TableName: "sdk-items", Key: { id: event.id } }));
  return Item;
};
"#;

/// A CommonJS handler requiring the preinstalled S3 client.
const SDK_CJS: &str = r#"
const { S3Client, PutObjectCommand, GetObjectCommand } = require("@aws-sdk/client-s3");
const s3 = new S3Client({ forcePathStyle: true });
exports.handler = async (event) => {
  await s3.send(new PutObjectCommand({ Bucket: "sdk-files", Key: event.key, Body: "from cjs" }));
  const object = await s3.send(new GetObjectCommand({ Bucket: "sdk-files", Key: event.key }));
  return { body: await object.Body.transformToString() };
};
"#;

#[test]
fn node_functions_use_the_preinstalled_aws_sdk() {
    let dir = project(&[
        ("template.yaml", SDK_TEMPLATE),
        ("esm/index.mjs", SDK_ESM),
        ("cjs/app.js", SDK_CJS),
    ]);
    let up = esb(
        dir.path(),
        &["up", "--http", "--port", "0", "--wait", "600"],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let addr = box_addr(dir.path());
    let invoke = |function: &str, event: &str| {
        send(
            addr,
            "POST",
            &format!("/2015-03-31/functions/{function}/invocations"),
            &[],
            event.as_bytes(),
        )
    };
    let written = invoke("EsmWriter", r#"{"id": "ada"}"#);
    assert_eq!(written.status, 200, "{}", written.text());
    assert_eq!(
        written.json(),
        serde_json::json!({"id": "ada", "note": "from esm"}),
        "{}",
        written.text()
    );
    let read = invoke("CjsReader", r#"{"key": "notes/ada.txt"}"#);
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json(), serde_json::json!({"body": "from cjs"}));
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "esb down failed: {}", stderr(&down));
}

const STREAM_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Streamer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: stream/
      Timeout: 10
      FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}
"#;

/// A streaming function as AWS's samples write it: its own status and headers through
/// `HttpResponseStream.from`, then two chunks half a second apart.
const STREAM_APP: &str = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/plain", "x-kind": "stream" },
  });
  stream.write("first;");
  await new Promise((resolve) => setTimeout(resolve, 500));
  stream.write("second");
  stream.end();
});
"#;

#[test]
fn a_streaming_function_url_sends_its_status_headers_and_chunks_as_they_come() {
    use std::io::{Read, Write};
    let dir = project(&[
        ("template.yaml", STREAM_TEMPLATE),
        ("stream/index.js", STREAM_APP),
    ]);
    let up = esb(
        dir.path(),
        &["up", "--http", "--port", "0", "--wait", "600"],
    );
    assert!(up.status.success(), "esb up failed: {}", stderr(&up));
    let addr = box_addr(dir.path());
    // Warm the worker, so that the timed request measures streaming, not a cold start.
    let warm = send(addr, "GET", "/_lambda-url/Streamer/", &[], b"");
    assert_eq!(warm.status, 201, "{}", warm.text());
    assert_eq!(warm.header("x-kind"), Some("stream"));
    // Chunked on the wire (the raw reply keeps the chunk sizes).
    let body = warm.text();
    assert!(
        body.contains("first;") && body.find("first;") < body.find("second"),
        "{body}"
    );

    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let sent = std::time::Instant::now();
    stream
        .write_all(
            b"GET /_lambda-url/Streamer/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .expect("request");
    let mut received = Vec::new();
    let mut first_at = None;
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).expect("read");
        if read == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..read]);
        if first_at.is_none() && String::from_utf8_lossy(&received).contains("first;") {
            first_at = Some(sent.elapsed());
        }
    }
    let whole = sent.elapsed();
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-kind: stream"),
        "{text}"
    );
    assert!(text.contains("second"), "{text}");
    let first_at = first_at.expect("the first chunk");
    assert!(
        first_at < Duration::from_millis(400) && whole >= Duration::from_millis(500),
        "the first chunk came after {first_at:?}, the whole body after {whole:?}: not streamed"
    );

    // The Invoke API's InvokeWithResponseStream, read by boto3: the function's bytes as
    // PayloadChunk events, then InvokeComplete.
    let script = r#"
import os, boto3
client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id="esb", aws_secret_access_key="esb-local-secret")
answer = client.invoke_with_response_stream(FunctionName="Streamer", Payload=b"{}")
chunks, complete = [], None
for event in answer["EventStream"]:
    if "PayloadChunk" in event:
        chunks.append(event["PayloadChunk"]["Payload"])
    if "InvokeComplete" in event:
        complete = event["InvokeComplete"]
print("status", answer["StatusCode"], "chunks", len(chunks), "error", complete.get("ErrorCode"))
print("body", b"".join(chunks).split(b"\0" * 8)[-1].decode())
"#;
    let endpoint = format!("http://{addr}");
    let printed = support::services::python(script, &[("ENDPOINT", &endpoint)]);
    assert!(printed.contains("status 200"), "{printed}");
    assert!(printed.contains("error None"), "{printed}");
    assert!(printed.contains("body first;second"), "{printed}");
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "esb down failed: {}", stderr(&down));
}
