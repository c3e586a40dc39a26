//! The provisioner against an external endpoint: `moto_server` (PyPI) stands in for a real S3
//! and DynamoDB.

mod support;

use esb_model::artifacts::ResourcesFile;
use esb_provision::{ServiceEndpoint, Targets, provision};
use esb_testkit::{Moto, free_port};
use support::resources;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_then_changes_nothing_then_updates_and_reports() {
    let moto = Moto::start();
    let endpoint = ServiceEndpoint {
        url: moto.url.clone(),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
    };
    support::create_then_unchanged_then_update(&Targets {
        s3: Some(endpoint.clone()),
        dynamodb: Some(endpoint),
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_clear_error() {
    let port = free_port();
    let endpoint = ServiceEndpoint {
        url: format!("http://127.0.0.1:{port}"),
        region: "us-east-1".into(),
        access_key_id: "esb".into(),
        secret_access_key: "esb-local-secret".into(),
    };
    let targets = Targets {
        s3: Some(endpoint),
        dynamodb: None,
    };
    let error = provision(&resources(), &targets)
        .await
        .expect_err("nothing listens");
    let message = error.to_string();
    assert!(message.contains("bucket uploads (Uploads)"), "{message}");
    assert!(message.contains("HeadBucket"), "{message}");

    let only_tables = ResourcesFile {
        buckets: vec![],
        ..resources()
    };
    let error = provision(&only_tables, &Targets::default())
        .await
        .expect_err("no endpoint");
    assert!(
        error.to_string().contains("no DynamoDB endpoint"),
        "{error}"
    );
}
