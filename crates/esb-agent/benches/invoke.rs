//! Invoke latency through the process driver with AWS's runtime interface clients, sandboxed
//! and unconfined in the same run: cold start to first response (20, 100 ms apart), then
//! through the warm pool:
//! invoke latency (p50/p99) with one caller, and throughput with two callers on two warm
//! workers. Bounded: fixed counts, and every phase stops after 20 s.
//!
//! ```sh
//! cargo build --release -p esb-init      # the sandbox's init, found beside the bench binary
//! cargo bench -p esb-agent --bench invoke  # as root: the sandbox needs namespaces
//! ```
//!
//! Python fixture; set `ESB_BENCH_BOOTSTRAP` to a `provided.al2023` task directory holding a
//! `bootstrap` to measure a Rust function too, `ESB_BENCH_INIT` to use another init binary.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use esb_agent::driver::process::{NetworkMode, SandboxMode};
use esb_agent::driver::{DriverKind, DriverSettings};
use esb_agent::logs::LogSink;
use esb_agent::{Driver, InvokeInput, Invoker, InvokerConfig, Worker, WorkerSpec};
use support::{Discard, SpecBuilder, fixture};

const COLD_STARTS: usize = 20;
/// Between two cold starts (not timed): cold starts come apart in a box's life, and the
/// sandboxed driver prepares the next sandbox in the background meanwhile.
const COLD_GAP: Duration = Duration::from_millis(100);
const WARM_INVOKES: usize = 5_000;
const PHASE_LIMIT: Duration = Duration::from_secs(20);

/// A small API Gateway REST event, as the gateway would send.
const EVENT: &str = r#"{"resource":"/hello","path":"/hello","httpMethod":"GET","headers":{},"multiValueHeaders":{},"queryStringParameters":{"name":"bench"},"multiValueQueryStringParameters":{"name":["bench"]},"pathParameters":null,"stageVariables":null,"requestContext":{"accountId":"123456789012","resourceId":"abc123","stage":"Prod","requestId":"r","identity":{"sourceIp":"127.0.0.1"},"resourcePath":"/hello","httpMethod":"GET","apiId":"local"},"body":null,"isBase64Encoded":false}"#;

fn spec(runtime: &str, handler: &str, task_root: &Path) -> Arc<WorkerSpec> {
    SpecBuilder::new(runtime, handler, task_root)
        .named("Bench", "bench")
        .timeout(10)
        .build()
}

fn input(n: usize) -> InvokeInput {
    support::input(format!("bench-{n}"), EVENT)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The sandboxed process driver, with `esb-init` from `ESB_BENCH_INIT` or beside the bench.
fn sandboxed() -> Arc<dyn Driver> {
    let init = std::env::var_os("ESB_BENCH_INIT")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.join("esb-init"))
        })
        .filter(|init| init.is_file())
        .expect(
            "no esb-init: run `cargo build --release -p esb-init` first, or set ESB_BENCH_INIT",
        );
    esb_agent::driver::driver(&DriverSettings {
        kind: DriverKind::Process,
        sandbox: SandboxMode::On,
        network: NetworkMode::Isolated,
        egress: true,
        init: vec![init.into()],
        run_dir: esb_agent::driver::default_run_dir(),
    })
    .expect("the sandboxed driver (run as root)")
}

async fn measure(label: &str, spec: Arc<WorkerSpec>, driver: Arc<dyn Driver>) {
    let sink: Arc<dyn LogSink> = Arc::new(Discard);

    // Cold start: spawn the runtime, wait for its first response.
    let mut cold = Vec::new();
    let mut init = Vec::new();
    let phase = Instant::now();
    for n in 0..COLD_STARTS {
        if phase.elapsed() > PHASE_LIMIT {
            break;
        }
        let started = Instant::now();
        let worker = Worker::start(Arc::clone(&spec), driver.as_ref(), Arc::clone(&sink))
            .await
            .expect("start");
        let result = worker.invoke(input(n)).await.expect("invoke");
        cold.push(started.elapsed());
        assert!(
            result.function_error.is_none(),
            "{label}: {:?}",
            result.payload
        );
        init.extend(result.init_duration);
        worker.shutdown().await;
        tokio::time::sleep(COLD_GAP).await;
    }
    cold.sort();
    init.sort();

    // Warm latency through the pool: one caller, so one warm worker serves every call.
    let mut pooled = (*spec).clone();
    pooled.function.reserved_concurrency = Some(2);
    let invoker = Arc::new(Invoker::new(
        driver,
        vec![Arc::new(pooled)],
        Arc::clone(&sink),
        &InvokerConfig::default(),
    ));
    let _ = invoker.invoke("bench", input(0)).await.expect("warm up");
    let mut warm = Vec::with_capacity(WARM_INVOKES);
    let phase = Instant::now();
    for n in 0..WARM_INVOKES {
        if phase.elapsed() > PHASE_LIMIT {
            break;
        }
        let started = Instant::now();
        let _ = invoker.invoke("bench", input(n)).await.expect("invoke");
        warm.push(started.elapsed());
    }
    warm.sort();

    // Throughput: two callers through the pool, two warm workers.
    let mut tasks = Vec::new();
    let phase = Instant::now();
    for _ in 0..2 {
        let invoker = Arc::clone(&invoker);
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            let started = Instant::now();
            while done < WARM_INVOKES && started.elapsed() < PHASE_LIMIT {
                let _ = invoker.invoke("bench", input(done)).await.expect("invoke");
                done += 1;
            }
            done
        }));
    }
    let mut total = 0usize;
    for task in tasks {
        total += task.await.expect("task");
    }
    let throughput = total as f64 / phase.elapsed().as_secs_f64();
    invoker.shutdown().await;

    println!(
        "{label}: cold start to first response p50 {:.1} ms (init p50 {:.1} ms, {} runs); \
         pool warm invoke p50 {:.0} µs p99 {:.0} µs ({} invokes); 2 callers, 2 warm workers {:.0} invokes/s",
        percentile(&cold, 0.5).as_secs_f64() * 1e3,
        percentile(&init, 0.5).as_secs_f64() * 1e3,
        cold.len(),
        percentile(&warm, 0.5).as_secs_f64() * 1e6,
        percentile(&warm, 0.99).as_secs_f64() * 1e6,
        warm.len(),
        throughput,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fixtures = fixture("python");
    let python =
        tokio::task::spawn_blocking(move || spec("python3.12", "handlers.echo", &fixtures))
            .await
            .expect("python spec");
    let sandboxed = sandboxed();
    let unconfined = support::unconfined();
    measure(
        "python (awslambdaric), unconfined",
        Arc::clone(&python),
        Arc::clone(&unconfined),
    )
    .await;
    measure(
        "python (awslambdaric), sandboxed",
        python,
        Arc::clone(&sandboxed),
    )
    .await;
    if let Some(dir) = std::env::var_os("ESB_BENCH_BOOTSTRAP") {
        let dir = PathBuf::from(dir);
        let rust = spec("provided.al2023", "bootstrap", &dir);
        measure(
            "provided (ESB_BENCH_BOOTSTRAP), unconfined",
            Arc::clone(&rust),
            unconfined,
        )
        .await;
        measure("provided (ESB_BENCH_BOOTSTRAP), sandboxed", rust, sandboxed).await;
    }
}
