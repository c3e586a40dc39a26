//! Crash test: four writers ingest concurrently into a server process that is `kill -9`ed at
//! a random moment, three rounds; after each restart every acknowledged batch must be whole
//! (all its rows found) and no batch may be half there. The server runs with small
//! checkpoints so kills also land in the middle of sealing and WAL trimming.
//! The server is this test binary re-executed (the ignored `crash_server_child` test).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS_PER_BATCH: usize = 50;
const WRITERS: usize = 4;

/// The server process: runs only when re-executed by [`acknowledged_rows_survive_kill_9`].
#[test]
#[ignore = "helper process for acknowledged_rows_survive_kill_9"]
fn crash_server_child() {
    let Some(dir) = std::env::var_os("ESB_LOGS_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = esb_logs::LogsServerConfig::default();
        config.store.checkpoint_bytes = 256 << 10;
        config.store.checkpoint_interval = Duration::from_millis(300);
        config.store.seal_bytes = 64 << 10;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tmp = dir.join("port.tmp");
        std::fs::write(&tmp, port.to_string()).unwrap();
        std::fs::rename(&tmp, dir.join("port")).unwrap();
        esb_logs::run(dir.join("data"), &config, listener, std::future::pending())
            .await
            .unwrap();
    });
}

#[allow(clippy::zombie_processes)] // the caller kills and waits
fn start_server(dir: &Path) -> (Child, String) {
    let _ = std::fs::remove_file(dir.join("port"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_server_child", "--ignored", "--nocapture"])
        .env("ESB_LOGS_CRASH_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

fn batch_body(writer: &str, batch: usize) -> String {
    (0..ROWS_PER_BATCH)
        .map(|row| {
            format!(
                "{{\"_msg\":\"START RequestId: {writer}-{batch}-{row} Version: $LATEST\",\"writer\":\"{writer}\",\"batch\":\"{batch}\",\"level\":\"INFO\",\"trace_id\":\"Root=1-{batch:08x}-{row:024x}\"}}\n"
            )
        })
        .collect()
}

/// Writes batches until the server dies or a bound is reached; returns the acknowledged
/// batch numbers.
fn write_until_killed(addr: &str, writer: &str, acked: &Mutex<Vec<(String, usize)>>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for batch in 0..2000 {
        if Instant::now() > deadline {
            return;
        }
        let body = batch_body(writer, batch);
        match support::http(
            addr,
            "POST",
            "/insert/jsonline?_stream_fields=writer",
            body.as_bytes(),
        ) {
            Ok(reply) if reply.status == 200 => {
                acked.lock().unwrap().push((writer.to_owned(), batch))
            }
            Ok(reply) => panic!(
                "writer {writer}: unexpected {}: {}",
                reply.status, reply.body
            ),
            Err(_) => return,
        }
    }
}

/// Rows per (writer, batch) as the restarted server reports them.
fn counts(addr: &str) -> HashMap<(String, usize), usize> {
    let query = support::encode("* | stats by (writer, batch) count() n");
    let reply = support::http(
        addr,
        "GET",
        &format!("/select/logsql/query?query={query}"),
        b"",
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .body
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let writer = v["writer"].as_str().unwrap().to_owned();
            let batch = v["batch"].as_str().unwrap().parse().unwrap();
            let n = v["n"].as_str().unwrap().parse().unwrap();
            ((writer, batch), n)
        })
        .collect()
}

fn verify(addr: &str, acked: &[(String, usize)]) {
    let found = counts(addr);
    for (key, n) in &found {
        assert_eq!(
            *n, ROWS_PER_BATCH,
            "batch {key:?} is partly there: {n} rows"
        );
    }
    let missing: Vec<_> = acked.iter().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged batches lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    eprintln!(
        "{} acknowledged batches, {} batches found",
        acked.len(),
        found.len()
    );
}

#[test]
fn acknowledged_rows_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
        ^ u64::from(std::process::id());
    for round in 0..3u64 {
        let (mut server, addr) = start_server(dir.path());
        if round > 0 {
            verify(&addr, &acked.lock().unwrap());
        }
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let addr = addr.clone();
                let acked = Arc::clone(&acked);
                std::thread::spawn(move || {
                    write_until_killed(&addr, &format!("r{round}w{w}"), &acked)
                })
            })
            .collect();
        let delay = 500 + (seed.wrapping_mul(round + 7).wrapping_mul(2_654_435_761) % 1000);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        for writer in writers {
            writer.join().unwrap();
        }
    }
    let (mut server, addr) = start_server(dir.path());
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > WRITERS,
        "too few writes were acknowledged before the kills"
    );
    verify(&addr, &acked);
    server.kill().unwrap();
    server.wait().unwrap();
}
