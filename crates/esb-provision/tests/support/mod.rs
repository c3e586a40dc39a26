//! The provisioning scenario the tests run against each kind of endpoint (moto_server as an
//! external one, the embedded services in-process), so both are held to the same behaviour.

use esb_model::artifacts::ResourcesFile;
use esb_model::{
    AttributeDefinition, Bucket, BucketCorsRule, KeyElement, KeyType, LifecycleRule, Projection,
    SecondaryIndex, Table,
};
use esb_provision::{ResourceKind, Targets, provision};

fn key(name: &str, key_type: KeyType) -> KeyElement {
    KeyElement {
        attribute_name: name.into(),
        key_type,
    }
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition {
        attribute_name: name.into(),
        attribute_type: "S".into(),
    }
}

fn all() -> Projection {
    Projection {
        projection_type: "ALL".into(),
        non_key_attributes: vec![],
    }
}

pub fn resources() -> ResourcesFile {
    ResourcesFile {
        buckets: vec![Bucket {
            logical_id: "Uploads".into(),
            name: "uploads".into(),
            versioning: true,
            lifecycle_rules: vec![LifecycleRule {
                id: Some("expire-tmp".into()),
                enabled: true,
                prefix: Some("tmp/".into()),
                expiration_days: Some(7),
                expiration_date: None,
                noncurrent_version_expiration_days: None,
                abort_incomplete_multipart_upload_days: None,
            }],
            cors_rules: vec![BucketCorsRule {
                allowed_origins: vec!["https://example.com".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                exposed_headers: vec![],
                max_age_seconds: Some(300),
            }],
        }],
        tables: vec![Table {
            logical_id: "Orders".into(),
            name: "orders".into(),
            key_schema: vec![key("pk", KeyType::Hash), key("sk", KeyType::Range)],
            attribute_definitions: vec![
                attribute("pk"),
                attribute("sk"),
                attribute("status"),
                attribute("created"),
            ],
            global_secondary_indexes: vec![SecondaryIndex {
                index_name: "ByStatus".into(),
                key_schema: vec![key("status", KeyType::Hash)],
                projection: all(),
            }],
            local_secondary_indexes: vec![SecondaryIndex {
                index_name: "ByCreated".into(),
                key_schema: vec![key("pk", KeyType::Hash), key("created", KeyType::Range)],
                projection: all(),
            }],
            billing_mode: "PAY_PER_REQUEST".into(),
            ttl_attribute: Some("expires".into()),
            stream_view_type: None,
        }],
    }
}

/// Provisions [`resources`] on `targets`: everything is created, a second run changes
/// nothing, a changed template updates what can change and reports what cannot. Checks the
/// results through the SDK, as a client sees them.
pub async fn create_then_unchanged_then_update(targets: &Targets) {
    let targets = targets.clone();

    let first = provision(&resources(), &targets).await.expect("provision");
    assert!(
        first.outcomes.iter().all(|o| o.created),
        "everything is created:\n{first}"
    );
    let s3 = esb_provision::s3_client(targets.s3.as_ref().expect("an S3 endpoint"));
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket("uploads")
        .send()
        .await
        .expect("lifecycle");
    assert_eq!(lifecycle.rules().len(), 1);
    let dynamodb =
        esb_provision::dynamodb_client(targets.dynamodb.as_ref().expect("a DynamoDB endpoint"));
    let table = dynamodb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .expect("table")
        .table
        .expect("description");
    assert_eq!(table.global_secondary_indexes().len(), 1);
    assert_eq!(table.local_secondary_indexes().len(), 1);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name("orders")
        .send()
        .await
        .expect("ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires")
    );

    let second = provision(&resources(), &targets).await.expect("again");
    assert!(
        second.unchanged(),
        "a second run changes nothing:\n{second}"
    );

    let mut changed = resources();
    changed.buckets[0].cors_rules.clear();
    changed.buckets[0].lifecycle_rules[0].expiration_days = Some(30);
    let orders = &mut changed.tables[0];
    orders.global_secondary_indexes.push(SecondaryIndex {
        index_name: "BySk".into(),
        key_schema: vec![key("sk", KeyType::Hash)],
        projection: all(),
    });
    orders.ttl_attribute = None;
    orders.stream_view_type = Some("NEW_IMAGE".into());
    orders.billing_mode = "PROVISIONED".into();
    changed.tables.push(Table {
        logical_id: "Orders2".into(),
        name: "orders".into(),
        key_schema: vec![key("id", KeyType::Hash)],
        attribute_definitions: vec![attribute("id")],
        ..changed.tables[0].clone()
    });
    let third = provision(&changed, &targets).await.expect("update");
    let bucket = third
        .find(ResourceKind::Bucket, "uploads")
        .expect("bucket outcome");
    assert!(
        bucket
            .changes
            .iter()
            .any(|c| c.contains("CORS rules removed")),
        "{third}"
    );
    assert!(
        bucket.changes.iter().any(|c| c.contains("lifecycle")),
        "{third}"
    );
    let orders = &third.outcomes[1];
    assert!(
        orders.changes.iter().any(|c| c == "index BySk created"),
        "{third}"
    );
    assert!(
        orders.changes.iter().any(|c| c == "TTL disabled"),
        "{third}"
    );
    assert!(
        orders.changes.iter().any(|c| c == "stream NEW_IMAGE"),
        "{third}"
    );
    assert!(
        orders
            .changes
            .iter()
            .any(|c| c == "billing mode PAY_PER_REQUEST → PROVISIONED"),
        "{third}"
    );
    let rekeyed = &third.outcomes[2];
    assert!(
        rekeyed.cannot.iter().any(|c| c.contains("key schema")),
        "a changed key schema is reported, not applied:\n{third}"
    );
    assert!(third.has_cannot());
    let fourth = provision(&changed, &targets).await.expect("once more");
    assert!(
        fourth
            .outcomes
            .iter()
            .all(|o| !o.created && o.changes.is_empty()),
        "after an update a run changes nothing (and reports the same differences):\n{fourth}"
    );
    let text = third.to_string();
    assert!(text.contains("cannot update: key schema"), "{text}");

    let cors = s3.get_bucket_cors().bucket("uploads").send().await;
    assert!(cors.is_err(), "CORS configuration was deleted");
}
