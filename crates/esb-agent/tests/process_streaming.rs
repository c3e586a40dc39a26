//! Response streaming end to end with a tiny custom runtime (`tests/fixtures/streaming/bootstrap`,
//! Python standard library only) that posts a chunked streamed response with pauses: chunks
//! reach the caller while the function still writes, error trailers end the stream in an
//! error, and the pool keeps the worker leased until the stream ends. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use esb_agent::environment::{Credentials, Endpoints};
use esb_agent::logs::{LogLine, LogSink};
use esb_agent::runtimes::{Runtime, RuntimeClients, launch_command};
use esb_agent::{InvokeInput, Invoker, InvokerConfig, ProcessWorker, WorkerSpec};
use esb_model::Function;

const LIMIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Collected(Mutex<Vec<String>>);

impl LogSink for Collected {
    fn write(&self, line: LogLine) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.text);
        }
    }
}

fn task_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/streaming")
}

fn spec() -> Arc<WorkerSpec> {
    let clients = RuntimeClients::new(std::env::temp_dir().join("esb-unused"), false);
    let launch =
        launch_command(&Runtime::Provided, "stream", &task_root(), &clients).expect("bootstrap");
    Arc::new(WorkerSpec {
        function: Function {
            runtime: Some("provided.al2023".into()),
            handler: Some("stream".into()),
            timeout: 10,
            reserved_concurrency: Some(1),
            ..Function::new("Streamer", "streamer")
        },
        arn: "arn:aws:lambda:us-east-1:123456789012:function:streamer".into(),
        launch,
        task_root: task_root(),
        opt_dir: task_root().join("no-opt"),
        region: "us-east-1".into(),
        credentials: Credentials {
            access_key_id: "esb".into(),
            secret_access_key: "esb".into(),
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The send time the bootstrap wrote into a `chunk-N@<epoch ms>` line.
fn sent_ms(line: &str) -> u64 {
    line.trim()
        .split_once('@')
        .and_then(|(_, ms)| ms.parse().ok())
        .expect("a chunk line")
}

#[tokio::test]
async fn chunks_arrive_before_the_function_finishes_writing() {
    let logs = Arc::new(Collected::default());
    let worker = tokio::time::timeout(LIMIT, ProcessWorker::start(spec(), logs.clone()))
        .await
        .expect("start in time")
        .expect("started");
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("s1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    assert_eq!(result.function_error, None);
    assert_eq!(result.content_type.as_deref(), Some("text/plain"));
    assert!(result.payload.is_empty());
    let mut stream = result.stream.expect("a streamed body");
    let first = tokio::time::timeout(LIMIT, stream.next())
        .await
        .expect("in time")
        .expect("a chunk")
        .expect("no error");
    let first_received = now_ms();
    let rest = tokio::time::timeout(LIMIT, stream.collect())
        .await
        .expect("in time")
        .expect("no error");
    let mut body = first.to_vec();
    body.extend_from_slice(&rest);
    let text = String::from_utf8(body).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("chunk-{i}@")), "{text}");
    }
    let last_sent = sent_ms(lines[3]);
    assert!(
        first_received < last_sent,
        "the first chunk arrived at {first_received}, after the last was sent at {last_sent}"
    );
    let texts = logs.0.lock().expect("logs").clone();
    assert!(texts.iter().any(|t| t == "END RequestId: s1"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("REPORT RequestId: s1")));

    // Error trailers end the stream in the runtime's error; the worker stays usable.
    let result = tokio::time::timeout(LIMIT, worker.invoke(input("s2", r#"{"fail":true}"#)))
        .await
        .expect("in time")
        .expect("invoked");
    let stream = result.stream.expect("a streamed body");
    let error = tokio::time::timeout(LIMIT, stream.collect())
        .await
        .expect("in time")
        .expect_err("the stream fails");
    assert_eq!(error.error_type, "Runtime.Unhandled");
    assert_eq!(error.message, r#"{"errorMessage":"boom"}"#);
    assert!(worker.is_alive());
    worker.shutdown().await;
}

#[tokio::test]
async fn the_pool_keeps_the_worker_leased_until_the_stream_ends() {
    let invoker = Invoker::new(
        vec![spec()],
        Arc::new(Collected::default()),
        &InvokerConfig::default(),
    );
    let result = tokio::time::timeout(LIMIT, invoker.invoke("streamer", input("p1", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    let stream = result.stream.expect("a streamed body");
    let stats = invoker.stats()[0].1;
    assert_eq!((stats.busy, stats.idle), (1, 0), "leased while streaming");
    let body = tokio::time::timeout(LIMIT, stream.collect())
        .await
        .expect("in time")
        .expect("no error");
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 4);
    let released = tokio::time::timeout(LIMIT, async {
        loop {
            let stats = invoker.stats()[0].1;
            if stats.idle == 1 && stats.busy == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(released.is_ok(), "the worker returns to the pool");
    // The warm worker serves the next stream.
    let again = tokio::time::timeout(LIMIT, invoker.invoke("streamer", input("p2", "{}")))
        .await
        .expect("in time")
        .expect("invoked");
    let stream = again.stream.expect("a streamed body");
    assert!(stream.collect().await.is_ok());
    assert_eq!(invoker.stats()[0].1.started, 1);
    invoker.shutdown().await;
}
