//! The provisioner against the box's own embedded S3 store and DynamoDB database, run
//! in-process on loopback ports with the box's default key pair.

mod support;

use std::sync::Arc;

use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service};
use esb_provision::{ServiceEndpoint, Targets};
use esb_s3::S3ServerConfig;

const ACCESS_KEY_ID: &str = "esb";
const SECRET_ACCESS_KEY: &str = "esb-local-secret";

fn endpoint(listener: &tokio::net::TcpListener) -> ServiceEndpoint {
    ServiceEndpoint {
        url: format!("http://{}", listener.local_addr().expect("addr")),
        region: "us-east-1".into(),
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: SECRET_ACCESS_KEY.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_then_changes_nothing_then_updates_and_reports() {
    let data = tempfile::tempdir().expect("tempdir");
    let s3_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let dynamodb_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let targets = Targets {
        s3: Some(endpoint(&s3_listener)),
        dynamodb: Some(endpoint(&dynamodb_listener)),
    };
    let config = S3ServerConfig {
        access_key: ACCESS_KEY_ID.into(),
        secret_key: SECRET_ACCESS_KEY.into(),
        ..S3ServerConfig::default()
    };
    let s3_dir = data.path().join("s3");
    tokio::spawn(async move {
        esb_s3::run(s3_dir, &config, s3_listener, std::future::pending())
            .await
            .expect("S3 serves");
    });
    let engine =
        Engine::open(&EngineConfig::on_disk(data.path().join("dynamodb"))).expect("database opens");
    let service = Arc::new(Service::new(
        engine,
        Auth::SigV4(vec![Credential {
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: SECRET_ACCESS_KEY.into(),
        }]),
    ));
    tokio::spawn(esb_dynamodb::serve(
        dynamodb_listener,
        service,
        std::future::pending(),
    ));
    support::create_then_unchanged_then_update(&targets).await;
}
