//! DynamoDB JSON requests through the front (`esb_dynamodb::handle`: content type, target,
//! limits) into an in-memory engine: dynoxide's JSON dispatch, its request validation and its
//! expression parsers (key condition, filter, condition, update, projection) and evaluation
//! over the items earlier lines wrote.
//!
//! Input: one request per line, `Operation {json}`: `PutItem {"TableName":"tbl",…}` is sent
//! with `X-Amz-Target: DynamoDB_20120810.PutItem`; an operation with a dot in it is sent as
//! the whole target. Every input starts with table `tbl` (hash `pk` S, range `sk` N) created,
//! and every table is deleted after it: one engine serves all inputs, as a new engine thread
//! per input (16 MiB stack) would cost more than the input. Any answer is fine, but every
//! answer must be JSON; a panic or an abort is a bug.

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use esb_dynamodb::{Auth, Engine, EngineConfig, Service, handle};
use libfuzzer_sys::fuzz_target;

const CREATE_TABLE: &str = r#"{"TableName":"tbl","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}"#;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    // Not paused: the engine answers from its own thread, which paused time does not wait for.
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds")
    })
}

fn request(operation: &str, body: &[u8]) -> Option<http::Request<Bytes>> {
    let target = if operation.contains('.') {
        operation.to_owned()
    } else {
        format!("DynamoDB_20120810.{operation}")
    };
    http::Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .body(Bytes::copy_from_slice(body))
        .ok()
}

async fn call(service: &Service, operation: &str, body: &[u8]) {
    let Some(request) = request(operation, body) else {
        return;
    };
    let response = handle(service, request).await;
    assert!(
        serde_json::from_slice::<serde_json::Value>(response.body()).is_ok(),
        "{operation} answered {} with a body that is not JSON: {:?}",
        response.status(),
        String::from_utf8_lossy(response.body())
    );
}

/// One engine for every input.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let config = EngineConfig {
            ttl_sweep_interval: None,
            ..EngineConfig::in_memory()
        };
        Service::new(Engine::open(&config).expect("the engine opens"), Auth::Off)
    })
}

/// Deletes every table, so the next input starts from an empty database.
async fn delete_tables(service: &Service) {
    // ListTables answers 100 names at most; an input cannot create many more.
    for _ in 0..10 {
        let listed = handle(service, request("ListTables", b"{}").expect("a request")).await;
        let listed: serde_json::Value =
            serde_json::from_slice(listed.body()).expect("ListTables answers JSON");
        let names = listed["TableNames"].as_array().cloned().unwrap_or_default();
        if names.is_empty() {
            return;
        }
        for name in names {
            let body = serde_json::json!({ "TableName": name }).to_string();
            call(service, "DeleteTable", body.as_bytes()).await;
        }
    }
    panic!("tables are left after deleting them ten times");
}

fuzz_target!(|data: &[u8]| {
    let service = service();
    runtime().block_on(async {
        call(service, "CreateTable", CREATE_TABLE.as_bytes()).await;
        for line in data.split(|&b| b == b'\n') {
            let (operation, body) = match line.iter().position(|&b| b == b' ') {
                Some(at) => (&line[..at], &line[at + 1..]),
                None => (line, &b""[..]),
            };
            if let Ok(operation) = std::str::from_utf8(operation) {
                call(service, operation, body).await;
            }
        }
        delete_tables(service).await;
    });
});
