//! Real-socket smoke test: the server on a TCP listener, driven by boto3 (tests/boto3/smoke.py)
//! on the test tools' Python (scripts/test-tools.sh).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_the_server() {
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
    let endpoint = format!("http://{addr}");
    // The script blocks this thread; the server goes on on the runtime's other worker.
    let stdout = tokio::task::block_in_place(|| esb_testkit::python(script, &[&endpoint], &[]));
    assert!(stdout.contains("BOTO3 OK"), "stdout:\n{stdout}");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    assert!(dir.path().join("dynamodb.sqlite").exists());
}
