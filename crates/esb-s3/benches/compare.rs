//! S3 servers side by side: 4 KiB PUT and GET driven by aws-sdk-s3 (one client per endpoint,
//! several requests in flight, every phase bounded in operations and time; ops/s, p50 and p99
//! latency), and one large PUT (MB/s) sent twice: by the SDK, and by a raw SigV4 client with
//! `UNSIGNED-PAYLOAD`. The SDK hashes the whole body (SHA-256 to sign it, CRC32) before it
//! sends a byte, so its large-PUT figure is bounded by the client; the raw one measures the
//! server. Endpoints come from `--endpoint name=url` (repeatable) or
//! `ESB_BENCH_ENDPOINTS=name=url,name=url`; all share one key pair.
//!
//! ```text
//! cargo bench -p esb-s3 --bench compare -- --endpoint esb=http://127.0.0.1:9000 \
//!     [--concurrency 32] [--seconds 5] [--max-ops 200000] [--large-mb 256]
//! ```
//! `scripts/bench-s3.sh` starts the servers and runs this against all of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../tests/support/sigv4.rs"]
mod sigv4;

/// Distinct small objects each phase cycles through.
const KEYS: usize = 100;
/// Small object size.
const SMALL: usize = 4096;

#[derive(Debug, Clone)]
struct Options {
    endpoints: Vec<(String, String)>,
    concurrency: usize,
    seconds: u64,
    max_ops: usize,
    large_mb: usize,
    access_key: String,
    secret_key: String,
    region: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        endpoints: Vec::new(),
        concurrency: env_or("ESB_BENCH_CONCURRENCY", "32")
            .parse()
            .map_err(|_| "ESB_BENCH_CONCURRENCY must be a number")?,
        seconds: env_or("ESB_BENCH_SECONDS", "5")
            .parse()
            .map_err(|_| "ESB_BENCH_SECONDS must be a number")?,
        max_ops: 200_000,
        large_mb: 256,
        access_key: env_or(
            "ESB_BENCH_ACCESS_KEY",
            esb_model::credentials::DEFAULT_ACCESS_KEY_ID,
        ),
        secret_key: env_or(
            "ESB_BENCH_SECRET_KEY",
            esb_model::credentials::DEFAULT_SECRET_ACCESS_KEY,
        ),
        region: "us-east-1".into(),
    };
    let mut endpoint = |spec: &str| -> Result<(), String> {
        let (name, url) = spec
            .split_once('=')
            .ok_or_else(|| format!("endpoint {spec:?} is not name=url"))?;
        options.endpoints.push((name.to_owned(), url.to_owned()));
        Ok(())
    };
    if let Ok(list) = std::env::var("ESB_BENCH_ENDPOINTS") {
        for spec in list.split(',').filter(|s| !s.is_empty()) {
            endpoint(spec)?;
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{v:?} is not a number"))
        };
        match arg.as_str() {
            "--endpoint" => endpoint(&value()?)?,
            "--concurrency" => options.concurrency = number(value()?)?,
            "--seconds" => options.seconds = number(value()?)? as u64,
            "--max-ops" => options.max_ops = number(value()?)?,
            "--large-mb" => options.large_mb = number(value()?)?,
            "--access-key" => options.access_key = value()?,
            "--secret-key" => options.secret_key = value()?,
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.endpoints.is_empty() {
        return Err("no endpoint: pass --endpoint name=url or set ESB_BENCH_ENDPOINTS".into());
    }
    Ok(options)
}

/// One measured phase.
#[derive(Debug, Default, Clone, Copy)]
struct Phase {
    ops: usize,
    errors: usize,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `op(i)` from `concurrency` tasks until `max_ops` or the time limit.
async fn phase<F, Fut>(options: &Options, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let max_ops = options.max_ops;
    let tasks: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (op, next) = (Arc::clone(&op), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= max_ops || Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    if op(i).await {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Phase {
        ops: latencies.len(),
        errors,
        ops_per_sec: latencies.len() as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

/// The results for one endpoint.
#[derive(Debug, Default, Clone, Copy)]
struct Results {
    put: Phase,
    get: Phase,
    large_mb_s: f64,
    large_raw_mb_s: f64,
}

/// One large PUT over a fresh connection, signed by hand with `UNSIGNED-PAYLOAD` (no client
/// hashing); the time runs from connecting to the end of the response's headers.
async fn raw_large_put(
    options: &Options,
    url: &str,
    path: &str,
    body: &[u8],
) -> Result<f64, String> {
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not an http:// URL"))?
        .trim_end_matches('/');
    let amz_date = sigv4::amz_date_now();
    let signed = [
        ("host", authority),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("x-amz-date", amz_date.as_str()),
    ];
    let authorization = sigv4::authorization(
        &options.access_key,
        &options.secret_key,
        &options.region,
        "PUT",
        path,
        &signed,
    );
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {authority}\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nx-amz-date: {amz_date}\r\nauthorization: {authorization}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let io = |err: std::io::Error| format!("raw large PUT: {err}");
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(io)?;
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    for piece in body.chunks(1 << 20) {
        stream.write_all(piece).await.map_err(io)?;
    }
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let elapsed = started.elapsed().as_secs_f64();
    if !response.starts_with(b"HTTP/1.1 200") {
        let text = String::from_utf8_lossy(&response);
        return Err(format!(
            "raw large PUT failed: {}",
            text.lines().next().unwrap_or("")
        ));
    }
    // Decimal MB/s, as dd reports.
    Ok(body.len() as f64 / 1e6 / elapsed)
}

async fn bench_endpoint(options: &Options, url: &str) -> Result<Results, String> {
    let client = esb_provision::s3_client(&esb_provision::ServiceEndpoint {
        url: url.to_owned(),
        region: options.region.clone(),
        access_key_id: options.access_key.clone(),
        secret_access_key: options.secret_key.clone(),
    });
    let bucket = "esb-bench";
    if let Err(err) = client.create_bucket().bucket(bucket).send().await
        && client.head_bucket().bucket(bucket).send().await.is_err()
    {
        return Err(format!("cannot create the bench bucket: {err:?}"));
    }
    let small = Bytes::from(vec![7u8; SMALL]);
    let put_small = |client: Client, small: Bytes| {
        move |i: usize| {
            let (client, small) = (client.clone(), small.clone());
            async move {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("small-{}", i % KEYS))
                    .body(ByteStream::from(small))
                    .send()
                    .await
                    .is_ok()
            }
        }
    };
    // Warm-up: every key exists before the GET phase, connections are open.
    let warm = Options {
        max_ops: KEYS,
        ..options.clone()
    };
    phase(&warm, put_small(client.clone(), small.clone())).await;
    let put = phase(options, put_small(client.clone(), small.clone())).await;
    let get_client = client.clone();
    let get = phase(options, move |i| {
        let client = get_client.clone();
        async move {
            match client
                .get_object()
                .bucket(bucket)
                .key(format!("small-{}", i % KEYS))
                .send()
                .await
            {
                Ok(out) => out
                    .body
                    .collect()
                    .await
                    .is_ok_and(|b| b.remaining() == SMALL),
                Err(_) => false,
            }
        }
    })
    .await;
    let (mut large_mb_s, mut large_raw_mb_s) = (0.0, 0.0);
    if options.large_mb > 0 {
        // In memory on the client side, so the client never competes for the disk.
        let large = Bytes::from(vec![42u8; options.large_mb * 1024 * 1024]);
        let started = Instant::now();
        client
            .put_object()
            .bucket(bucket)
            .key("large")
            .body(ByteStream::from(large.clone()))
            .send()
            .await
            .map_err(|err| format!("large PUT failed: {err:?}"))?;
        large_mb_s = large.len() as f64 / 1e6 / started.elapsed().as_secs_f64();
        large_raw_mb_s =
            raw_large_put(options, url, &format!("/{bucket}/large-raw"), &large).await?;
    }
    Ok(Results {
        put,
        get,
        large_mb_s,
        large_raw_mb_s,
    })
}

use bytes::Buf as _;

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("compare: {err}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("compare: cannot start a runtime: {err}");
            std::process::exit(1);
        }
    };
    println!(
        "client: aws-sdk-s3 (small ops, large PUT) and raw SigV4 (large PUT), {} in flight, each phase at most {} ops or {} s; large PUT {} MiB",
        options.concurrency, options.max_ops, options.seconds, options.large_mb
    );
    println!(
        "| server | 4 KiB PUT ops/s | PUT p50 ms | PUT p99 ms | 4 KiB GET ops/s | GET p50 ms | GET p99 ms | {0} MiB PUT MB/s (SDK) | {0} MiB PUT MB/s (raw) | ops (errors) |",
        options.large_mb
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for (name, url) in &options.endpoints {
        match runtime.block_on(bench_endpoint(&options, url)) {
            Ok(r) => println!(
                "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {} ({}) |",
                r.put.ops_per_sec,
                r.put.p50_ms,
                r.put.p99_ms,
                r.get.ops_per_sec,
                r.get.p50_ms,
                r.get.p99_ms,
                r.large_mb_s,
                r.large_raw_mb_s,
                r.put.ops + r.get.ops,
                r.put.errors + r.get.errors,
            ),
            Err(err) => {
                failed = true;
                println!("| {name} | failed: {err} |");
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
