//! Crash test: concurrent boto3 writes (PUTs to a plain and to a versioned bucket, multipart
//! uploads, PUT-then-DELETE) against a server process that is `kill -9`ed at a random moment,
//! several rounds; after each restart every acknowledged object, version and completed upload
//! must be whole and present, every acknowledged delete still deleted, nothing half-written
//! listed, and no orphan blob or temp file left.
//! The server is this test binary re-executed (the ignored `crash_server_child` test).
//! The clients run on the test tools' Python (scripts/test-tools.sh).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ACCESS: &str = "AKIDCRASH";
const SECRET: &str = "crash-secret";

/// The server process: runs only when re-executed by [`crash_survives_kill_9`].
#[test]
#[ignore = "helper process for crash_survives_kill_9"]
fn crash_server_child() {
    let Some(dir) = std::env::var_os("ESB_S3_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = esb_s3::S3ServerConfig {
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            virtual_host_domain: None,
            ..esb_s3::S3ServerConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tmp = dir.join("port.tmp");
        std::fs::write(&tmp, port.to_string()).unwrap();
        std::fs::rename(&tmp, dir.join("port")).unwrap();
        esb_s3::run(dir.join("data"), &config, listener, std::future::pending())
            .await
            .unwrap();
    });
}

#[allow(clippy::zombie_processes)] // the caller kills and waits
fn start_server(dir: &Path) -> (std::process::Child, String) {
    let _ = std::fs::remove_file(dir.join("port"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_server_child", "--ignored", "--nocapture"])
        .env("ESB_S3_CRASH_DIR", dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(port) = std::fs::read_to_string(dir.join("port")) {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/crash_client.py");
const CLIENT_ENV: [(&str, &str); 2] =
    [("ESB_S3_ACCESS_KEY", ACCESS), ("ESB_S3_SECRET_KEY", SECRET)];

fn verify(endpoint: &str, acked: &Path) {
    let stdout = esb_testkit::python(
        CLIENT,
        &["verify", endpoint, acked.to_str().unwrap()],
        &CLIENT_ENV,
    );
    eprintln!("{stdout}");
}

#[test]
fn crash_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked");
    std::fs::write(&acked, "").unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
        ^ u64::from(std::process::id());
    for round in 0..3u64 {
        let (mut server, endpoint) = start_server(dir.path());
        if round > 0 {
            verify(&endpoint, &acked);
        }
        let mut writer = esb_testkit::python_command(
            CLIENT,
            &[
                "write",
                &endpoint,
                acked.to_str().unwrap(),
                &round.to_string(),
            ],
            &CLIENT_ENV,
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        // Python and boto3 take a while to start on a busy machine: count the delay from the
        // moment the buckets exist.
        let mut ready = String::new();
        let stdout = writer.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "the writer did not start");
        let delay = 400 + (seed.wrapping_mul(round + 7).wrapping_mul(2_654_435_761) % 800);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        writer.wait().unwrap();
    }
    let (mut server, endpoint) = start_server(dir.path());
    verify(&endpoint, &acked);
    server.kill().unwrap();
    server.wait().unwrap();
    let acked_count = std::fs::read_to_string(&acked).unwrap().lines().count();
    assert!(
        acked_count > 0,
        "no write was acknowledged before the kills"
    );
    // The restart removed every leftover of the interrupted uploads.
    let bucket = dir.path().join("data/buckets/crash");
    let keys = std::fs::read_dir(bucket.join("keys")).unwrap().count();
    let blobs = std::fs::read_dir(bucket.join("blobs")).unwrap().count();
    assert_eq!(keys, blobs, "orphan blobs left after restart");
    let versioned = dir.path().join("data/buckets/crash-versions");
    let count = |sub: &str| std::fs::read_dir(versioned.join(sub)).unwrap().count();
    assert_eq!(
        count("keys") + count("versions"),
        count("blobs"),
        "orphan blobs left in the versioned bucket"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/tmp"))
            .unwrap()
            .count(),
        0
    );
}
