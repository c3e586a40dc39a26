//! Real-socket smoke test: the server on a TCP listener, driven by boto3.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service, serve};

/// A Python with boto3: `ESB_TEST_PYTHON`, the box's own runtime, or the system one.
fn python_with_boto3() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("ESB_TEST_PYTHON") {
        candidates.push(p.into());
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".esb/runtimes/python3.11/bin/python3"));
    }
    candidates.push("python3".into());
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import boto3"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_the_server() {
    let Some(python) = python_with_boto3() else {
        panic!(
            "no python with boto3: set ESB_TEST_PYTHON or `python3 -m pip install --user boto3`"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let creds = vec![Credential {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "secret".into(),
    }];
    let engine = Arc::new(Service::new(
        Engine::open(&EngineConfig::on_disk(dir.path())).unwrap(),
        Auth::SigV4(creds),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, engine.clone(), async move {
        let _ = stopped.await;
    }));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3/smoke.py");
    let out = tokio::process::Command::new(&python)
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("BOTO3 OK"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    assert!(dir.path().join("dynamodb.sqlite").exists());
}
