//! Real-socket conformance: the server on 127.0.0.1 driven by boto3 (tests/boto3_conformance.py).
//! Skipped, with a note, when no Python with boto3 is found (set `ESB_TEST_PYTHON` to choose one).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use esb_s3::{S3ServerConfig, Store, build_service, serve};

fn python_with_boto3() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("ESB_TEST_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".esb/runtimes/python3.11/bin/python3"));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import boto3"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_conformance() {
    let Some(python) = python_with_boto3() else {
        eprintln!("SKIPPED: no python3 with boto3 (set ESB_TEST_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let config = S3ServerConfig {
        access_key: "AKIDESBTEST".into(),
        secret_key: "esb/secret+key".into(),
        virtual_host_domain: None,
        ..S3ServerConfig::default()
    };
    let service = build_service(store, &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, service, async {
        let _ = stopped.await;
    }));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_conformance.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .env("ESB_S3_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("ESB_S3_ACCESS_KEY", &config.access_key)
        .env("ESB_S3_SECRET_KEY", &config.secret_key)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .unwrap();
    let _ = stop.send(());
    server.await.unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "boto3 conformance failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
