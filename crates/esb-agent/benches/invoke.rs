//! Invoke latency through the process driver with AWS's runtime interface clients, sandboxed
//! and unconfined in the same run, interleaved: cold start to first response (20 each, taking
//! turns, 100 ms apart), then through the warm pool:
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

/// One cold start of `spec` on `driver`: start, first invocation, shutdown; its duration and
/// the runtime's init duration.
async fn cold_start(
    spec: &Arc<WorkerSpec>,
    driver: &Arc<dyn Driver>,
    sink: &Arc<dyn LogSink>,
    n: usize,
) -> (Duration, Option<Duration>) {
    let started = Instant::now();
    let worker = Worker::start(Arc::clone(spec), driver.as_ref(), Arc::clone(sink))
        .await
        .expect("start");
    let result = worker.invoke(input(n)).await.expect("invoke");
    let elapsed = started.elapsed();
    assert!(result.function_error.is_none(), "{:?}", result.payload);
    worker.shutdown().await;
    (elapsed, result.init_duration)
}

/// Measures `spec` on every driver, interleaved so that the machine's drift (a noisy VM) falls
/// on all of them alike: cold starts take turns, warm invokes alternate in blocks.
async fn measure(label: &str, spec: Arc<WorkerSpec>, drivers: &[(&str, Arc<dyn Driver>)]) {
    let sink: Arc<dyn LogSink> = Arc::new(Discard);
    let mut cold = vec![Vec::new(); drivers.len()];
    let mut init = vec![Vec::new(); drivers.len()];
    let phase = Instant::now();
    for n in 0..COLD_STARTS {
        if phase.elapsed() > PHASE_LIMIT * 2 {
            break;
        }
        for (d, (_, driver)) in drivers.iter().enumerate() {
            let (elapsed, init_duration) = cold_start(&spec, driver, &sink, n).await;
            cold[d].push(elapsed);
            init[d].extend(init_duration);
            tokio::time::sleep(COLD_GAP).await;
        }
    }

    // Warm latency through the pool: one caller, so one warm worker of each pool serves every
    // call; the pools take turns in blocks of 500.
    let invokers: Vec<Arc<Invoker>> = drivers
        .iter()
        .map(|(_, driver)| {
            let mut pooled = (*spec).clone();
            pooled.function.reserved_concurrency = Some(2);
            Arc::new(Invoker::new(
                Arc::clone(driver),
                vec![Arc::new(pooled)],
                Arc::clone(&sink),
                &InvokerConfig::default(),
            ))
        })
        .collect();
    let mut warm = vec![Vec::with_capacity(WARM_INVOKES); drivers.len()];
    for invoker in &invokers {
        let _ = invoker.invoke("bench", input(0)).await.expect("warm up");
    }
    let phase = Instant::now();
    for block in 0..WARM_INVOKES / 500 {
        for (d, invoker) in invokers.iter().enumerate() {
            for n in 0..500 {
                if phase.elapsed() > PHASE_LIMIT * 2 {
                    break;
                }
                let started = Instant::now();
                let _ = invoker
                    .invoke("bench", input(block * 500 + n))
                    .await
                    .expect("invoke");
                warm[d].push(started.elapsed());
            }
        }
    }

    for (d, invoker) in invokers.iter().enumerate() {
        // Throughput: two callers through the same pool, two warm workers.
        let mut tasks = Vec::new();
        let phase = Instant::now();
        for _ in 0..2 {
            let invoker = Arc::clone(invoker);
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
        cold[d].sort();
        init[d].sort();
        warm[d].sort();
        println!(
            "{label}, {}: cold start to first response p50 {:.1} ms (init p50 {:.1} ms, {} runs); \
             pool warm invoke p50 {:.0} µs p99 {:.0} µs ({} invokes); 2 callers, 2 warm workers \
             {:.0} invokes/s",
            drivers[d].0,
            percentile(&cold[d], 0.5).as_secs_f64() * 1e3,
            percentile(&init[d], 0.5).as_secs_f64() * 1e3,
            cold[d].len(),
            percentile(&warm[d], 0.5).as_secs_f64() * 1e6,
            percentile(&warm[d], 0.99).as_secs_f64() * 1e6,
            warm[d].len(),
            throughput,
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fixtures = fixture("python");
    let python =
        tokio::task::spawn_blocking(move || spec("python3.12", "handlers.echo", &fixtures))
            .await
            .expect("python spec");
    let drivers = [
        ("unconfined", support::unconfined()),
        ("sandboxed", sandboxed()),
    ];
    measure("python (awslambdaric)", python, &drivers).await;
    if let Some(dir) = std::env::var_os("ESB_BENCH_BOOTSTRAP") {
        let dir = PathBuf::from(dir);
        let rust = spec("provided.al2023", "bootstrap", &dir);
        measure("provided (ESB_BENCH_BOOTSTRAP)", rust, &drivers).await;
    }
}
