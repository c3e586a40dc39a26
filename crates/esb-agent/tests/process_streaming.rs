//! Response streaming end to end with a tiny custom runtime (`tests/fixtures/streaming/bootstrap`,
//! Python standard library only) that posts a chunked streamed response with pauses: chunks
//! reach the caller while the function still writes, error trailers end the stream in an
//! error, and the pool keeps the worker leased until the stream ends. Every wait is bounded.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use esb_agent::{Invoker, InvokerConfig, WorkerSpec};
use support::{Collected, LIMIT, SpecBuilder, fixture, input, invoke, within};

/// The streaming bootstrap, one worker at most so that the pool's lease is observable.
fn spec() -> Arc<WorkerSpec> {
    SpecBuilder::new("provided.al2023", "stream", fixture("streaming"))
        .named("Streamer", "streamer")
        .timeout(10)
        .reserved_concurrency(Some(1))
        .build()
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
    let (worker, logs) = support::start(spec()).await;
    let result = invoke(&worker, input("s1", "{}")).await;
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
    let texts = logs.texts();
    assert!(texts.iter().any(|t| t == "END RequestId: s1"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("REPORT RequestId: s1")));

    // Error trailers end the stream in the runtime's error; the worker stays usable.
    let result = invoke(&worker, input("s2", r#"{"fail":true}"#)).await;
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
        support::unconfined(),
        vec![spec()],
        Arc::new(Collected::default()),
        &InvokerConfig::default(),
    );
    let result = within(invoker.invoke("streamer", input("p1", "{}")))
        .await
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
    let again = within(invoker.invoke("streamer", input("p2", "{}")))
        .await
        .expect("invoked");
    let stream = again.stream.expect("a streamed body");
    assert!(stream.collect().await.is_ok());
    assert_eq!(invoker.stats()[0].1.started, 1);
    invoker.shutdown().await;
}
