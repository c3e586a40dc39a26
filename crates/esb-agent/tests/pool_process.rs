//! Warm pools of real process workers (Python, awslambdaric): the concurrency cap under 50
//! parallel invocations, acquire timeout, pre-warm, scale to zero, recovery after a worker is
//! killed, and no process left behind after shutdown. Every wait is bounded.

mod support;

use std::sync::Arc;
use std::time::Duration;

use esb_agent::{InvokeError, InvokeInput, Invoker, InvokerConfig, WorkerSpec};
use support::{Discard, SpecBuilder, fixture};

/// `handlers.pid_after`: sleeps the payload's `seconds`, then answers with its process id.
async fn spec(reserved: Option<u32>, provisioned: Option<u32>) -> Arc<WorkerSpec> {
    SpecBuilder::new("python3.12", "handlers.pid_after", fixture("python"))
        .named("Pids", "pids")
        .timeout(10)
        .reserved_concurrency(reserved)
        .provisioned_concurrency(provisioned)
        .build_on_blocking_pool()
        .await
}

fn input(seconds: f64) -> InvokeInput {
    support::input(
        esb_model::ids::request_id(),
        format!("{{\"seconds\": {seconds}}}"),
    )
}

fn config() -> InvokerConfig {
    InvokerConfig {
        default_max_workers: 10,
        acquire_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
        janitor_interval: Duration::from_millis(100),
    }
}

async fn pid(invoker: &Invoker, seconds: f64) -> u32 {
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        invoker.invoke("pids", input(seconds)),
    )
    .await
    .expect("in time")
    .expect("invoked");
    assert_eq!(result.function_error, None, "{:?}", result.payload);
    serde_json::from_slice(&result.payload).expect("pid")
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; its state line says Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"))
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_caps_workers_under_50_parallel_invocations() {
    let invoker = Arc::new(Invoker::new(
        support::unconfined(),
        vec![spec(Some(3), None).await],
        Arc::new(Discard),
        &config(),
    ));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let invoker = Arc::clone(&invoker);
        tasks.push(tokio::spawn(async move { pid(&invoker, 0.05).await }));
    }
    let mut pids = std::collections::HashSet::new();
    for task in tasks {
        pids.insert(task.await.expect("task"));
    }
    assert!(pids.len() <= 3, "{} workers for a cap of 3", pids.len());
    let stats = &invoker.stats()[0].1;
    assert!(stats.total() <= 3);
    assert!(stats.started <= 3);
    invoker.shutdown().await;
    for pid in pids {
        eventually("worker exit after shutdown", || !alive(pid)).await;
    }
}

#[tokio::test]
async fn a_caller_waiting_past_the_acquire_timeout_gets_an_error_and_nothing_leaks() {
    let config = InvokerConfig {
        acquire_timeout: Duration::from_millis(300),
        ..config()
    };
    let invoker = Arc::new(Invoker::new(
        support::unconfined(),
        vec![spec(Some(1), None).await],
        Arc::new(Discard),
        &config,
    ));
    let _ = pid(&invoker, 0.0).await;
    let busy = {
        let invoker = Arc::clone(&invoker);
        tokio::spawn(async move { pid(&invoker, 1.5).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waited = invoker.invoke("pids", input(0.0)).await;
    assert!(
        matches!(waited, Err(InvokeError::AcquireTimeout { .. })),
        "{waited:?}"
    );
    let first = busy.await.expect("busy");
    assert_eq!(
        pid(&invoker, 0.0).await,
        first,
        "the same warm worker serves the next caller"
    );
    let stats = &invoker.stats()[0].1;
    assert_eq!((stats.total(), stats.waiting), (1, 0));
    invoker.shutdown().await;
}

#[tokio::test]
async fn zero_reserved_concurrency_throttles() {
    let invoker = Invoker::new(
        support::unconfined(),
        vec![spec(Some(0), None).await],
        Arc::new(Discard),
        &config(),
    );
    let result = invoker.invoke("Pids", input(0.0)).await;
    assert!(
        matches!(result, Err(InvokeError::Throttled { .. })),
        "{result:?}"
    );
    assert!(matches!(
        invoker.invoke("nope", input(0.0)).await,
        Err(InvokeError::NotFound(_))
    ));
}

#[tokio::test]
async fn provisioned_workers_are_warm_before_traffic() {
    let invoker = Invoker::new(
        support::unconfined(),
        vec![spec(None, Some(2)).await],
        Arc::new(Discard),
        &config(),
    );
    invoker.prewarm().await.expect("prewarm");
    assert_eq!(invoker.stats()[0].1.idle, 2);
    let result = invoker.invoke("pids", input(0.0)).await.expect("invoked");
    assert_eq!(
        result.init_duration, None,
        "a provisioned worker is not a cold start"
    );
    invoker.shutdown().await;
}

#[tokio::test]
async fn idle_workers_scale_to_zero() {
    let config = InvokerConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    };
    let invoker = Invoker::new(
        support::unconfined(),
        vec![spec(None, None).await],
        Arc::new(Discard),
        &config,
    );
    let worker = pid(&invoker, 0.0).await;
    eventually("scale to zero", || invoker.stats()[0].1.total() == 0).await;
    eventually("the idle worker's process exits", || !alive(worker)).await;
    let next = pid(&invoker, 0.0).await;
    assert_ne!(next, worker, "a new cold worker after scale to zero");
    invoker.shutdown().await;
}

#[tokio::test]
async fn a_killed_worker_is_replaced() {
    let invoker = Invoker::new(
        support::unconfined(),
        vec![spec(None, None).await],
        Arc::new(Discard),
        &config(),
    );
    let first = pid(&invoker, 0.0).await;
    let pid_i32 = i32::try_from(first).expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid_i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    eventually("the killed worker is gone", || !alive(first)).await;
    // The janitor (every 100 ms here) drops the dead idle worker once its exit is recorded.
    eventually("the pool drops the dead worker", || {
        invoker.stats()[0].1.total() == 0
    })
    .await;
    let second = pid(&invoker, 0.0).await;
    assert_ne!(second, first);
    invoker.shutdown().await;
    eventually("no process left after shutdown", || !alive(second)).await;
}

#[tokio::test]
async fn a_timed_out_worker_is_replaced_by_the_next_invocation() {
    let mut short = (*spec(None, None).await).clone();
    short.function.timeout = 1;
    let invoker = Invoker::new(
        support::unconfined(),
        vec![Arc::new(short)],
        Arc::new(Discard),
        &config(),
    );
    let timed_out =
        tokio::time::timeout(Duration::from_secs(30), invoker.invoke("pids", input(20.0)))
            .await
            .expect("in time")
            .expect("invoked");
    let error: serde_json::Value = serde_json::from_slice(&timed_out.payload).expect("json");
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    let recovered = pid(&invoker, 0.0).await;
    assert!(alive(recovered), "a fresh worker answers after the timeout");
    assert_eq!(
        invoker.stats()[0].1.total(),
        1,
        "the timed-out worker is gone"
    );
    invoker.shutdown().await;
}
