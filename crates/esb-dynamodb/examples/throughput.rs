//! Rough in-process throughput of the front + engine (PutItem then GetItem, 16 in flight).
//! Not a benchmark of record (that one uses aws-sdk-dynamodb over HTTP); a quick look at
//! where the time goes. `cargo run --release -p esb-dynamodb --example throughput [data-dir]`

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use esb_dynamodb::{Auth, Engine, EngineConfig, Service, handle};
use http::Request;

const IN_FLIGHT: usize = 16;
const PER_TASK: usize = 500;

fn request(op: &str, body: String) -> Request<Bytes> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
        .body(Bytes::from(body))
        .unwrap()
}

async fn run(service: &Arc<Service>, op: &'static str) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..IN_FLIGHT {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(PER_TASK);
            for i in 0..PER_TASK {
                let body = if op == "PutItem" {
                    format!(r#"{{"TableName":"bench","Item":{{"pk":{{"S":"k{t}-{i}"}},"v":{{"S":"value"}}}}}}"#)
                } else {
                    format!(r#"{{"TableName":"bench","Key":{{"pk":{{"S":"k{t}-{i}"}}}}}}"#)
                };
                let s = Instant::now();
                let resp = handle(&service, request(op, body)).await;
                assert_eq!(resp.status(), 200);
                lat.push(s.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "{op}: {:.0} ops/s, p50 {:?}, p99 {:?}",
        lat.len() as f64 / secs,
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::args().nth(1).map_or_else(
        || tempfile::tempdir().unwrap().keep(),
        std::path::PathBuf::from,
    );
    let service = Arc::new(Service::new(
        Engine::open(&EngineConfig::on_disk(&dir)).unwrap(),
        Auth::Off,
    ));
    let create = r#"{"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    let _ = handle(&service, request("CreateTable", create.to_owned())).await;
    run(&service, "PutItem").await;
    run(&service, "GetItem").await;
    let _ = std::fs::remove_dir_all(dir);
}
