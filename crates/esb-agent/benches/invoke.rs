//! Invoke latency through the process driver with AWS's runtime interface clients:
//! cold start to first response, then through the warm pool: invoke latency (p50/p99) with
//! one caller, and throughput with two callers on two warm workers. Bounded: fixed counts, and every phase stops after 20 s.
//!
//! `cargo bench -p esb-agent --bench invoke` (Python fixture); set `ESB_BENCH_BOOTSTRAP` to a
//! `provided.al2023` task directory holding a `bootstrap` to measure a Rust function too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use esb_agent::environment::{Credentials, Endpoints};
use esb_agent::logs::{LogLine, LogSink};
use esb_agent::runtimes::{Runtime, RuntimeClients, launch_command};
use esb_agent::{InvokeInput, Invoker, InvokerConfig, ProcessWorker, WorkerSpec};
use esb_model::Function;

const COLD_STARTS: usize = 20;
const WARM_INVOKES: usize = 5_000;
const PHASE_LIMIT: Duration = Duration::from_secs(20);

/// A small API Gateway REST event, as the gateway would send.
const EVENT: &str = r#"{"resource":"/hello","path":"/hello","httpMethod":"GET","headers":{},"multiValueHeaders":{},"queryStringParameters":{"name":"bench"},"multiValueQueryStringParameters":{"name":["bench"]},"pathParameters":null,"stageVariables":null,"requestContext":{"accountId":"123456789012","resourceId":"abc123","stage":"Prod","requestId":"r","identity":{"sourceIp":"127.0.0.1"},"resourcePath":"/hello","httpMethod":"GET","apiId":"local"},"body":null,"isBase64Encoded":false}"#;

struct Discard;

impl LogSink for Discard {
    fn write(&self, _line: LogLine) {}
}

fn spec(runtime: &str, handler: &str, task_root: &Path) -> Arc<WorkerSpec> {
    let clients = RuntimeClients::new(
        std::env::var_os("HOME")
            .map_or_else(std::env::temp_dir, PathBuf::from)
            .join(".esb/runtimes"),
        false,
    );
    let parsed = Runtime::parse(runtime).expect("runtime");
    let launch = launch_command(&parsed, handler, task_root, &clients).expect("launch");
    Arc::new(WorkerSpec {
        function: Function {
            runtime: Some(runtime.into()),
            handler: Some(handler.into()),
            timeout: 10,
            ..Function::new("Bench", "bench")
        },
        arn: "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
        launch,
        task_root: task_root.to_path_buf(),
        opt_dir: task_root.join("no-opt"),
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

fn input(n: usize) -> InvokeInput {
    InvokeInput {
        request_id: format!("bench-{n}"),
        payload: Bytes::from_static(EVENT.as_bytes()),
        trace_id: None,
        client_context: None,
        cognito_identity: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn measure(label: &str, spec: Arc<WorkerSpec>) {
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
        let worker = ProcessWorker::start(Arc::clone(&spec), Arc::clone(&sink))
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
    }
    cold.sort();
    init.sort();

    // Warm latency through the pool: one caller, so one warm worker serves every call.
    let mut pooled = (*spec).clone();
    pooled.function.reserved_concurrency = Some(2);
    let invoker = Arc::new(Invoker::new(
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
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
    let python =
        tokio::task::spawn_blocking(move || spec("python3.12", "handlers.echo", &fixtures))
            .await
            .expect("python spec");
    measure("python (awslambdaric)", python).await;
    if let Some(dir) = std::env::var_os("ESB_BENCH_BOOTSTRAP") {
        let dir = PathBuf::from(dir);
        let rust = spec("provided.al2023", "bootstrap", &dir);
        measure("provided (ESB_BENCH_BOOTSTRAP)", rust).await;
    }
}
