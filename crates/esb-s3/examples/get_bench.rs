//! Rough small-object GET/PUT throughput of the S3 server over a real socket (no auth, so
//! the numbers are the store and protocol path, without SigV4). Run with
//! `cargo run --release -p esb-s3 --example get_bench -- [connections] [seconds]`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let conns: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("esb-s3-bench-{}", std::process::id()));
    let store = esb_s3::Store::open(&dir).await?;
    store.create_bucket("bench").await?;
    let body = vec![7u8; 4096];
    for i in 0..100 {
        let chunk =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body.clone()))]);
        store
            .put_object("bench", &format!("obj-{i}"), chunk, Default::default())
            .await?;
    }
    let service = s3s::service::S3ServiceBuilder::new(esb_s3::EsbS3::new(store)).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(esb_s3::serve(listener, service, std::future::pending()));

    for (label, method) in [("GET 4 KiB", "GET"), ("PUT 4 KiB", "PUT")] {
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for c in 0..conns {
            let done = Arc::clone(&done);
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let mut buf = vec![0u8; 64 * 1024];
                let mut i = 0usize;
                while Instant::now() < deadline {
                    let key = format!("obj-{}", (c * 7 + i) % 100);
                    i += 1;
                    let head = if method == "GET" {
                        format!("GET /bench/{key} HTTP/1.1\r\nhost: {addr}\r\n\r\n")
                    } else {
                        format!("PUT /bench/{key} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n", body.len())
                    };
                    stream.write_all(head.as_bytes()).await?;
                    if method == "PUT" {
                        stream.write_all(&body).await?;
                    }
                    // Read one response: headers, then content-length bytes.
                    let mut got = Vec::new();
                    let (header_end, len) = loop {
                        let n = stream.read(&mut buf).await?;
                        if n == 0 {
                            return Err(std::io::Error::other("closed"));
                        }
                        got.extend_from_slice(&buf[..n]);
                        if let Some(pos) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                            let text = String::from_utf8_lossy(&got[..pos]).to_ascii_lowercase();
                            let len = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                                .unwrap_or(0);
                            break (pos + 4, len);
                        }
                    };
                    while got.len() < header_end + len {
                        let n = stream.read(&mut buf).await?;
                        if n == 0 {
                            return Err(std::io::Error::other("closed"));
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    if !got.starts_with(b"HTTP/1.1 200") {
                        return Err(std::io::Error::other(String::from_utf8_lossy(&got).into_owned()));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, std::io::Error>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let n = done.load(Ordering::Relaxed);
        println!(
            "{label}: {n} requests in {secs} s = {:.0} req/s ({conns} connections)",
            n as f64 / secs as f64
        );
    }

    // One large PUT, streamed from a reused 1 MiB buffer: throughput and peak memory.
    let total: usize = 256 * 1024 * 1024;
    let chunk = vec![42u8; 1024 * 1024];
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head =
        format!("PUT /bench/large HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {total}\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    for _ in 0..total / chunk.len() {
        stream.write_all(&chunk).await?;
    }
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await?;
    let status = String::from_utf8_lossy(&buf[..n.min(12)]).into_owned();
    let elapsed = started.elapsed().as_secs_f64();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    println!(
        "PUT 256 MiB: {status} in {elapsed:.2} s = {:.0} MB/s; peak RSS {peak}",
        total as f64 / 1e6 / elapsed
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
