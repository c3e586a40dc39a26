//! Real-socket conformance: the server on 127.0.0.1 driven by boto3 (tests/boto3_conformance.py)
//! on the test tools' Python (scripts/test-tools.sh).

#![allow(clippy::unwrap_used)]

use esb_s3::{S3ServerConfig, Store, build_service, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_conformance() {
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
    let endpoint = format!("http://127.0.0.1:{port}");
    // The script blocks this thread; the server goes on on the runtime's other worker.
    let stdout = tokio::task::block_in_place(|| {
        esb_testkit::python(
            script,
            &[],
            &[
                ("ESB_S3_ENDPOINT", &endpoint),
                ("ESB_S3_ACCESS_KEY", &config.access_key),
                ("ESB_S3_SECRET_KEY", &config.secret_key),
            ],
        )
    });
    let _ = stop.send(());
    server.await.unwrap();
    eprintln!("{stdout}");
}
