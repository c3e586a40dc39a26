//! Crash test: concurrent writers in a child process are killed with SIGKILL at an arbitrary
//! point; after reopening the data directory every acknowledged write is present and whole.
//!
//! The child is this test binary re-executed with `ESB_DDB_CRASH_CHILD=<data dir>`: it writes
//! items and prints `ACK <id>` only after the server answered 200.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use esb_dynamodb::{Auth, Engine, EngineConfig, Service, handle};
use http::{Request, StatusCode};
use serde_json::{Value, json};

const CHILD_ENV: &str = "ESB_DDB_CRASH_CHILD";
const TEST_NAME: &str = "acknowledged_writes_survive_kill_9";
const WRITERS: usize = 4;

fn request(op: &str, body: &Value) -> Request<Bytes> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc",
        )
        .header("x-amz-date", "20260101T000000Z")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn payload(id: &str) -> String {
    format!("{id}:{}", "x".repeat(2000))
}

async fn child(dir: String) {
    let engine = std::sync::Arc::new(Service::new(
        Engine::open(&EngineConfig::on_disk(dir)).unwrap(),
        Auth::Off,
    ));
    let create = json!({
        "TableName": "crash",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    // Already there after the first round: ResourceInUseException is fine.
    let _ = handle(&engine, request("CreateTable", &create)).await;
    let round = std::process::id();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let engine = engine.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("{round}-{w}-{i}");
                let put = json!({"TableName": "crash", "Item": {"id": {"S": id}, "data": {"S": payload(&id)}}});
                let resp = handle(&engine, request("PutItem", &put)).await;
                assert_eq!(resp.status(), StatusCode::OK);
                let mut out = std::io::stdout().lock();
                writeln!(out, "ACK {id}").unwrap();
                out.flush().unwrap();
            }
        }));
    }
    for w in writers {
        let _ = w.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(dir).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<String> = Vec::new();
    for round in 0..3u32 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let kill_after = 20 + (nanos as usize + round as usize * 97) % 200;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut this_round = 0;
        while this_round < kill_after {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.to_owned());
                this_round += 1;
            }
        }
        // SIGKILL mid-write.
        child.kill().unwrap();
        // Acks the child printed before it died were acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.to_owned());
            }
        }
        let _ = child.wait();
        assert!(
            this_round >= kill_after,
            "round {round}: the child stopped early"
        );
    }

    let engine = Service::new(
        Engine::open(&EngineConfig::on_disk(dir.path())).unwrap(),
        Auth::Off,
    );
    for id in &acked {
        let get = json!({"TableName": "crash", "Key": {"id": {"S": id}}, "ConsistentRead": true});
        let resp = handle(&engine, request("GetItem", &get)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(
            body["Item"]["data"]["S"],
            payload(id),
            "acknowledged item {id} lost or torn"
        );
    }
    eprintln!("{} acknowledged writes survived 3 SIGKILLs", acked.len());
}
