//! The logs role under Lambda-like load, one run, bounded in rows and time: a server
//! process (this binary re-executed with `--serve`) on a fresh data directory, four client
//! threads posting NDJSON batches over keep-alive HTTP/1.1 to `/insert/jsonline`, then
//! queries over what was stored.
//!
//! Reports: ingest rows/s and acknowledgement p50/p99 (default acks: after the WAL write,
//! `fdatasync` within 50 ms; and with `durability=sync`: after the `fdatasync`), server CPU
//! per 1,000 rows, peak and idle RSS, disk vs raw NDJSON bytes, visibility and live-tail
//! latency, and medians of the newest-100-of-a-stream, `trace_id` needle, common-word count
//! and `stats by (level)` queries.
//!
//! ```text
//! cargo bench -p esb-logs --bench logs -- [--rows 1000000] [--sync-rows 100000]
//!     [--batch 500] [--clients 4] [--seconds 300] [--runs 15] [--dir /path]
//! ```

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FUNCTIONS: usize = 20;
const STREAM_FIELDS: &str = "_stream_fields=container_name,job,log_group,log_stream";

struct Options {
    rows: usize,
    sync_rows: usize,
    batch: usize,
    clients: usize,
    seconds: u64,
    runs: usize,
    dir: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        rows: 1_000_000,
        sync_rows: 100_000,
        batch: 500,
        clients: 4,
        seconds: 300,
        runs: 15,
        dir: None,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--rows" => o.rows = value.parse().unwrap(),
            "--sync-rows" => o.sync_rows = value.parse().unwrap(),
            "--batch" => o.batch = value.parse().unwrap(),
            "--clients" => o.clients = value.parse().unwrap(),
            "--seconds" => o.seconds = value.parse().unwrap(),
            "--runs" => o.runs = value.parse().unwrap(),
            "--dir" => o.dir = Some(PathBuf::from(value)),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--serve") {
        serve(Path::new(&args[pos + 1]));
        return;
    }
    let o = options();
    let temp = tempfile::tempdir_in(o.dir.clone().unwrap_or_else(std::env::temp_dir)).unwrap();
    let (mut server, addr) = start(temp.path());
    let pid = server.id();
    std::thread::sleep(Duration::from_secs(1));
    let idle_empty = rss_kib(pid);
    println!(
        "server pid {pid}, idle RSS on an empty store: {:.1} MiB",
        idle_empty as f64 / 1024.0
    );

    let cpu0 = cpu_seconds(pid);
    let ingest = ingest(&addr, &o, o.rows, 0, "");
    let cpu1 = cpu_seconds(pid);
    report_ingest(
        "default acks (WAL write; fdatasync ≤ 50 ms later)",
        &ingest,
        cpu1 - cpu0,
    );
    let sync = ingest_phase_sync(&addr, &o);
    let cpu2 = cpu_seconds(pid);
    report_ingest("durability=sync (after fdatasync)", &sync, cpu2 - cpu1);
    println!(
        "peak RSS during ingest: {:.1} MiB",
        hwm_kib(pid) as f64 / 1024.0
    );

    let raw = ingest.bytes + sync.bytes;
    let flush = support::http(&addr, "POST", "/internal/force_flush", b"").unwrap();
    assert_eq!(flush.status, 200, "{}", flush.body);
    let disk = du(&temp.path().join("data"));
    println!(
        "disk: {:.1} MiB for {:.1} MiB of NDJSON ({:.2}x smaller); {} rows",
        disk as f64 / 1048576.0,
        raw as f64 / 1048576.0,
        raw as f64 / disk.max(1) as f64,
        ingest.rows + sync.rows
    );

    queries(&addr, &o, ingest.rows + sync.rows);
    visibility_and_tail(&addr);

    std::thread::sleep(Duration::from_secs(5));
    println!(
        "idle RSS after the load: {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );
    let cpu3 = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle_cpu = cpu_seconds(pid) - cpu3;
    println!("idle CPU: {:.2} % of a core", idle_cpu / 10.0 * 100.0);
    let _ = server.kill();
    let _ = server.wait();
}

fn serve(dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        std::fs::write(dir.join("port.tmp"), port.to_string()).unwrap();
        std::fs::rename(dir.join("port.tmp"), dir.join("port")).unwrap();
        let config = esb_logs::LogsServerConfig::default();
        esb_logs::run(dir.join("data"), &config, listener, std::future::pending())
            .await
            .unwrap();
    });
}

#[allow(clippy::zombie_processes)] // main kills and waits
fn start(dir: &Path) -> (Child, String) {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(port) = std::fs::read_to_string(dir.join("port")) {
            return (child, format!("127.0.0.1:{port}"));
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Row `n` of a Lambda-like log: five lines per invocation, 20 functions.
fn row(n: usize) -> String {
    let invocation = n / 5;
    let f = invocation % FUNCTIONS;
    let id = xxhash_rust::xxh3::xxh3_128(&(invocation as u64).to_le_bytes());
    let request_id = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (id >> 96) as u32,
        (id >> 80) as u16,
        (id >> 64) as u16,
        (id >> 48) as u16,
        id as u64 & 0xffff_ffff_ffff
    );
    let trace = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=1",
        0x6750_0000 + invocation / 100,
        id >> 32,
        id as u64
    );
    let stream_hex = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(&(f as u64).to_le_bytes())
    );
    // Per-row noise, so the data is not more regular than real application logs: client
    // addresses, item ids, latencies with decimals, byte counts.
    let noise = xxhash_rust::xxh3::xxh3_64(&(n as u64).to_le_bytes());
    let ip = format!(
        "10.{}.{}.{}",
        noise >> 56,
        (noise >> 48) as u8,
        (noise >> 40) as u8
    );
    let latency = format!("{}.{:03}", (noise >> 20) % 900, (noise >> 8) % 1000);
    let (level, source, msg) = match n % 5 {
        0 => (
            "INFO",
            "platform",
            format!("START RequestId: {request_id} Version: $LATEST"),
        ),
        1 => (
            "INFO",
            "stdout",
            format!(
                "[INFO]\t2026-12-07T12:00:00.{:03}Z\t{request_id}\tProcessing order {invocation} for customer c{} from {ip} (cart {:x}, {} items)",
                noise % 1000,
                (noise >> 12) % 100_000,
                noise >> 16,
                noise % 17
            ),
        ),
        2 if invocation.is_multiple_of(50) => (
            "ERROR",
            "stdout",
            format!(
                "[ERROR]\t2026-12-07T12:00:00.{:03}Z\t{request_id}\tDynamoDB PutItem failed after {latency} ms: ConditionalCheckFailedException on orders/{invocation} (item {:016x})",
                noise % 1000,
                noise
            ),
        ),
        2 => (
            "INFO",
            "stdout",
            format!(
                "[INFO]\t2026-12-07T12:00:00.{:03}Z\t{request_id}\tFetched {} items ({} bytes) from table orders in {latency} ms",
                noise % 1000,
                noise % 50,
                (noise >> 24) % 1_000_000
            ),
        ),
        3 => ("INFO", "platform", format!("END RequestId: {request_id}")),
        _ => (
            "INFO",
            "platform",
            format!(
                "REPORT RequestId: {request_id}\tDuration: {latency} ms\tBilled Duration: {} ms\tMemory Size: 128 MB\tMax Memory Used: {} MB",
                (noise >> 20) % 900 + 1,
                60 + noise % 40
            ),
        ),
    };
    let value = serde_json::json!({
        "_msg": msg,
        "level": level,
        "aws_request_id": request_id,
        "trace_id": trace,
        "container_name": format!("fn-{f}"),
        "job": "lambda",
        "log_group": format!("/aws/lambda/fn-{f}"),
        "log_stream": format!("2026/12/07/[$LATEST]{stream_hex}"),
        "source": source,
    });
    let mut line = value.to_string();
    line.push('\n');
    line
}

struct Ingest {
    rows: usize,
    bytes: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn ingest_phase_sync(addr: &str, o: &Options) -> Ingest {
    ingest(addr, o, o.sync_rows, o.rows, "&durability=sync")
}

/// Posts `rows` rows (numbered from `first`) from `o.clients` threads.
fn ingest(addr: &str, o: &Options, rows: usize, first: usize, extra: &str) -> Ingest {
    let next = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let batches = rows.div_ceil(o.batch);
    let path = format!("/insert/jsonline?{STREAM_FIELDS}{extra}");
    let threads: Vec<_> = (0..o.clients)
        .map(|_| {
            let (next, bytes, latencies, addr, path) = (
                Arc::clone(&next),
                Arc::clone(&bytes),
                Arc::clone(&latencies),
                addr.to_owned(),
                path.clone(),
            );
            let batch = o.batch;
            std::thread::spawn(move || {
                let mut conn = KeepAlive::connect(&addr);
                let mut mine = Vec::new();
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches || Instant::now() > deadline {
                        break;
                    }
                    let body: String = (b * batch..((b + 1) * batch).min(rows))
                        .map(|n| row(first + n))
                        .collect();
                    bytes.fetch_add(body.len(), Ordering::Relaxed);
                    let t = Instant::now();
                    let status = conn.post(&path, body.as_bytes());
                    mine.push(t.elapsed());
                    assert_eq!(status, 200);
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed();
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    latencies.sort();
    Ingest {
        rows: (latencies.len() * o.batch).min(rows),
        bytes: bytes.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}

fn report_ingest(label: &str, i: &Ingest, cpu: f64) {
    let pct = |p: f64| {
        let idx = ((i.latencies.len() as f64 - 1.0) * p).round() as usize;
        i.latencies.get(idx).copied().unwrap_or_default()
    };
    println!(
        "ingest, {label}: {} rows ({:.1} MiB) in {:.2} s = {:.0} rows/s ({:.1} MB/s); ack p50 {:.1} ms, p99 {:.1} ms; server CPU {:.2} s ({:.1} ms per 1,000 rows)",
        i.rows,
        i.bytes as f64 / 1048576.0,
        i.elapsed.as_secs_f64(),
        i.rows as f64 / i.elapsed.as_secs_f64(),
        i.bytes as f64 / 1e6 / i.elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        cpu,
        cpu * 1e6 / i.rows.max(1) as f64,
    );
}

fn queries(addr: &str, o: &Options, total: usize) {
    let time = |label: &str, make: &dyn Fn(usize) -> String, check: &dyn Fn(&str)| {
        let mut times = Vec::new();
        for run in 0..o.runs {
            let path = make(run);
            let t = Instant::now();
            let reply = support::http(addr, "GET", &path, b"").unwrap();
            times.push(t.elapsed());
            assert_eq!(reply.status, 200, "{}", reply.body);
            check(&reply.body);
        }
        times.sort();
        println!(
            "query {label}: median {:.1} ms (min {:.1}, max {:.1}) over {} runs",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            times.len()
        );
    };
    let q = |query: &str, extra: &str| {
        format!(
            "/select/logsql/query?query={}{extra}",
            support::encode(query)
        )
    };
    time(
        "newest 100 of one function (limit=100)",
        &|run| {
            q(
                &format!("{{container_name=\"fn-{}\"}}", run % FUNCTIONS),
                "&limit=100",
            )
        },
        &|body| assert_eq!(body.lines().count(), 100),
    );
    time(
        "trace_id needle",
        &|run| {
            let n = (run * 7919 * 5) % total;
            let line: serde_json::Value = serde_json::from_str(&row(n)).unwrap();
            let trace = line["trace_id"].as_str().unwrap();
            let root = trace.split(';').next().unwrap();
            q(&format!("trace_id:\"{root}\""), "")
        },
        &|body| assert_eq!(body.lines().count(), 5, "{body}"),
    );
    time(
        "aws_request_id exact (field:=)",
        &|run| {
            let n = (run * 104_729 * 5) % total;
            let line: serde_json::Value = serde_json::from_str(&row(n)).unwrap();
            q(
                &format!(
                    "aws_request_id:={}",
                    line["aws_request_id"].as_str().unwrap()
                ),
                "",
            )
        },
        &|body| assert_eq!(body.lines().count(), 5, "{body}"),
    );
    time(
        "ERROR rows of one function",
        &|run| {
            q(
                &format!("{{container_name=\"fn-{}\"}} ERROR", run % FUNCTIONS),
                "",
            )
        },
        &|_| {},
    );
    time(
        "count of a common word (START)",
        &|_| q("START | stats count() n", ""),
        &|_| {},
    );
    time(
        "_time:1h | stats by (level) count()",
        &|_| q("_time:1h | stats by (level) count() n", ""),
        &|body| assert!(body.contains("ERROR"), "{body}"),
    );
}

/// Time from an acknowledged row to finding it, and from its append to a live tail line.
fn visibility_and_tail(addr: &str) {
    let token = format!("probe{}", std::process::id());
    let body = format!("{{\"_msg\":\"visibility {token}\"}}\n");
    let t = Instant::now();
    support::http(addr, "POST", "/insert/jsonline", body.as_bytes()).unwrap();
    let acked = t.elapsed();
    let found = support::http(
        addr,
        "GET",
        &format!("/select/logsql/query?query={token}"),
        b"",
    )
    .unwrap();
    assert!(
        found.body.contains(&token),
        "not visible right after the ack"
    );
    println!(
        "visibility: found by the first query after the ack (ingest {:.1} ms + query {:.1} ms)",
        acked.as_secs_f64() * 1e3,
        (t.elapsed() - acked).as_secs_f64() * 1e3
    );

    let tail_token = format!("tail{}", std::process::id());
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /select/logsql/tail?query={tail_token} HTTP/1.1\r\nhost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 2 {
        line.clear();
    }
    let t = Instant::now();
    let body = format!("{{\"_msg\":\"{tail_token}\"}}\n");
    support::http(addr, "POST", "/insert/jsonline", body.as_bytes()).unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.contains(&tail_token) {
            break;
        }
    }
    println!(
        "live tail: the row arrived {:.1} ms after its append started",
        t.elapsed().as_secs_f64() * 1e3
    );
}

/// A keep-alive HTTP/1.1 connection for POSTs with small answers.
struct KeepAlive {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl KeepAlive {
    fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            host: addr.to_owned(),
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) -> u16 {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/stream+json\r\ncontent-length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            self.reader.read_line(&mut header).unwrap();
            if header == "\r\n" || header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}

fn du(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let meta = entry.metadata().unwrap();
            total += if meta.is_dir() {
                du(&entry.path())
            } else {
                meta.len()
            };
        }
    }
    total
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}
