//! Benchmark of DynamoDB-compatible servers as a client sees them: aws-sdk-dynamodb over HTTP
//! with SigV4, 16 requests in flight, a PutItem phase then a GetItem phase against each
//! endpoint; prints ops/s, p50 and p99 per phase. Each phase stops at a request count or a
//! time limit, whichever comes first. scripts/bench-dynamodb.sh starts the servers and runs
//! this; to run it by hand:
//!
//! ```text
//! cargo bench -p esb-dynamodb --bench compare -- \
//!     --endpoint esb=http://127.0.0.1:8001 --requests 20000 --seconds 20
//! ```
//!
//! Endpoints also come from `ESB_BENCH_ENDPOINTS` (`name=url,name=url`); credentials from
//! `ESB_BENCH_ACCESS_KEY_ID` / `ESB_BENCH_SECRET_ACCESS_KEY` (default: the box's own).
//!
//! The client shares the machine with the servers, so besides throughput each phase reports
//! the CPU time per request of the client (this process) and, when the server's process id is
//! known (`--pid name=PID` or `ESB_BENCH_PIDS`, Linux only), of the server: the servers'
//! own cost, independent of how fast the client is.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};

#[derive(Debug, Clone)]
struct Options {
    endpoints: Vec<(String, String)>,
    /// Server process ids by endpoint name, for their CPU time.
    pids: Vec<(String, String)>,
    requests: usize,
    seconds: u64,
    in_flight: usize,
    access_key_id: String,
    secret_access_key: String,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        let mut o = Self {
            endpoints: Vec::new(),
            pids: Vec::new(),
            requests: 20_000,
            seconds: 20,
            in_flight: 16,
            access_key_id: env("ESB_BENCH_ACCESS_KEY_ID", "esb"),
            secret_access_key: env("ESB_BENCH_SECRET_ACCESS_KEY", "esb-local-secret"),
        };
        for spec in env("ESB_BENCH_ENDPOINTS", "").split(',') {
            if !spec.trim().is_empty() {
                o.endpoints.push(endpoint(spec)?);
            }
        }
        for spec in env("ESB_BENCH_PIDS", "").split(',') {
            if !spec.trim().is_empty() {
                o.pids.push(endpoint(spec)?);
            }
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--endpoint" => o.endpoints.push(endpoint(&value()?)?),
                "--pid" => o.pids.push(endpoint(&value()?)?),
                "--requests" => o.requests = number(&value()?)?,
                "--seconds" => o.seconds = number(&value()?)?,
                "--in-flight" => o.in_flight = number(&value()?)?,
                // `cargo bench` passes `--bench`; filters are not used here.
                _ => {}
            }
        }
        Ok(o)
    }
}

fn endpoint(spec: &str) -> Result<(String, String), String> {
    spec.split_once('=')
        .map(|(n, u)| (n.trim().to_owned(), u.trim().to_owned()))
        .ok_or(format!("endpoint {spec:?} is not name=url"))
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

/// What one phase measured.
struct Phase {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU seconds of the client and of the server (if known) during the phase.
    client_cpu: f64,
    server_cpu: Option<f64>,
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`; `None` off
/// Linux or when the process is gone. Assumes 100 clock ticks per second (Linux's USER_HZ on
/// every mainstream architecture).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

impl Phase {
    fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    Get,
}

const TABLE: &str = "bench";
/// About 100 bytes of attribute value, like a small application item.
const VALUE: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr";

async fn run_phase(
    client: &Client,
    op: Op,
    o: &Options,
    keys: usize,
    server_pid: Option<&str>,
) -> Phase {
    let (client_cpu0, server_cpu0) = (cpu_seconds("self"), server_pid.and_then(cpu_seconds));
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.in_flight {
        let (client, next, requests) = (client.clone(), next.clone(), o.requests);
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let ok = match op {
                    Op::Put => client
                        .put_item()
                        .table_name(TABLE)
                        .item("pk", AttributeValue::S(format!("k{i}")))
                        .item("v", AttributeValue::S(VALUE.to_owned()))
                        .item("n", AttributeValue::N(i.to_string()))
                        .send()
                        .await
                        .is_ok(),
                    Op::Get => client
                        .get_item()
                        .table_name(TABLE)
                        .key("pk", AttributeValue::S(format!("k{}", i % keys.max(1))))
                        .send()
                        .await
                        .is_ok_and(|r| r.item().is_some()),
                };
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    Phase {
        ok: latencies.len(),
        errors,
        elapsed,
        latencies,
        client_cpu: used(client_cpu0, cpu_seconds("self")).unwrap_or(0.0),
        server_cpu: used(server_cpu0, server_pid.and_then(cpu_seconds)),
    }
}

async fn setup(client: &Client) -> Result<(), String> {
    let _ = client.delete_table().table_name(TABLE).send().await;
    client
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| format!("CreateTable: {e:?}"))?;
    // dynalite keeps a new table CREATING for a while.
    for _ in 0..100 {
        let d = client.describe_table().table_name(TABLE).send().await;
        if d.as_ref()
            .ok()
            .and_then(|d| d.table())
            .and_then(|t| t.table_status())
            == Some(&TableStatus::Active)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the table did not become ACTIVE".to_owned())
}

fn report(name: &str, op: Op, p: &Phase) {
    let per_op = |cpu: f64| cpu * 1e6 / p.ok.max(1) as f64;
    let server = p
        .server_cpu
        .map_or_else(|| "-".to_owned(), |c| format!("{:.0}", per_op(c)));
    println!(
        "{name:<10} {:<8} {:>6} ok {:>3} err {:>7.0} ops/s  p50 {:>6.2} ms  p99 {:>6.2} ms  \
         cpu/op: server {server:>5} us, client {:>4.0} us",
        format!("{op:?}Item"),
        p.ok,
        p.errors,
        p.ok as f64 / p.elapsed.as_secs_f64(),
        p.percentile(50).as_secs_f64() * 1e3,
        p.percentile(99).as_secs_f64() * 1e3,
        per_op(p.client_cpu),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = match Options::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(2);
        }
    };
    if o.endpoints.is_empty() {
        eprintln!(
            "compare: no endpoints; pass --endpoint name=url or set ESB_BENCH_ENDPOINTS \
             (scripts/bench-dynamodb.sh starts the servers and does this)"
        );
        return;
    }
    println!(
        "{} requests or {} s per phase, {} in flight, aws-sdk-dynamodb over HTTP/1.1",
        o.requests, o.seconds, o.in_flight
    );
    for (name, url) in &o.endpoints {
        let base = esb_provision::dynamodb_client(&esb_provision::ServiceEndpoint {
            url: url.clone(),
            region: "us-east-1".into(),
            access_key_id: o.access_key_id.clone(),
            secret_access_key: o.secret_access_key.clone(),
        });
        // No retries: a failed request is counted, not hidden in a slower success.
        let client = Client::from_conf(
            base.config()
                .to_builder()
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        if let Err(e) = setup(&client).await {
            println!("{name:<10} setup failed: {e}");
            continue;
        }
        let pid = o
            .pids
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str());
        let puts = run_phase(&client, Op::Put, &o, 0, pid).await;
        report(name, Op::Put, &puts);
        let gets = run_phase(&client, Op::Get, &o, puts.ok, pid).await;
        report(name, Op::Get, &gets);
        let _ = client.delete_table().table_name(TABLE).send().await;
    }
}
