//! Conformance with a real client: the server on a socket, driven by aws-sdk-dynamodb over
//! HTTP with SigV4, asserting on what the SDK sees (typed errors, values). One test per area of
//! the DynamoDB API that issue 6 lists.
//!
//! Where the engine behaves differently from DynamoDB, the test says so in a `// ENGINE:`
//! comment and asserts the engine's behaviour, so a change there is noticed
//! (docs/compatibility.md lists the same differences).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, LocalSecondaryIndex, Projection, ProjectionType,
    Put, PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, Select,
    Tag, TimeToLiveSpecification, TransactGetItem, TransactWriteItem, Update, WriteRequest,
};
use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service, serve};

const ACCESS_KEY: &str = "esb";
const SECRET: &str = "esb-local-secret";

/// A server on 127.0.0.1:0 with a temporary data directory; stops when dropped.
struct Server {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(configure: impl FnOnce(&mut EngineConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::on_disk(dir.path());
        configure(&mut config);
        let engine = Engine::open(&config).unwrap();
        let creds = vec![Credential {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET.into(),
        }];
        let service = Arc::new(Service::new(engine, Auth::SigV4(creds)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            serve(listener, service, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            _stop: stop,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        self.client_as(ACCESS_KEY, SECRET)
    }

    fn client_as(&self, key: &str, secret: &str) -> Client {
        esb_provision::dynamodb_client(&esb_provision::ServiceEndpoint {
            url: self.url.clone(),
            region: "us-east-1".into(),
            access_key_id: key.into(),
            secret_access_key: secret.into(),
        })
    }

    /// A client with temporary credentials (key, secret and session token), as Lambda gives.
    fn session_client(&self) -> Client {
        let base = self.client();
        let creds = aws_sdk_dynamodb::config::Credentials::new(
            ACCESS_KEY,
            SECRET,
            Some("IQoJb3JpZ2luX2VjEXAMPLE+session/token=".into()),
            None,
            "test",
        );
        Client::from_conf(
            base.config()
                .to_builder()
                .credentials_provider(creds)
                .build(),
        )
    }
}

/// The error code of a call that must fail.
trait ErrorCode {
    fn error_code(self) -> Option<String>;
}

impl<T, E: ProvideErrorMetadata + std::fmt::Debug> ErrorCode for Result<T, E> {
    fn error_code(self) -> Option<String> {
        match self {
            Ok(_) => panic!("the call succeeded but must fail"),
            Err(error) => error.code().map(str::to_owned),
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), n(sk))])
}

fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn key_elem(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `pk` (S) + `sk` (N), a GSI on `gpk`/`gsk`, an LSI on `pk`/`lsk`.
async fn create_table(client: &Client, name: &str) {
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .attribute_definitions(attr("sk", ScalarAttributeType::N))
        .attribute_definitions(attr("gpk", ScalarAttributeType::S))
        .attribute_definitions(attr("gsk", ScalarAttributeType::S))
        .attribute_definitions(attr("lsk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(key_elem("gpk", KeyType::Hash))
                .key_schema(key_elem("gsk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_l")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("lsk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_lifecycle() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tb1").await;
    create_table(&c, "tb2").await;

    let desc = c.describe_table().table_name("tb1").send().await.unwrap();
    let table = desc.table().unwrap();
    assert_eq!(table.table_name(), Some("tb1"));
    assert_eq!(table.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(table.key_schema().len(), 2);
    assert!(table.table_arn().unwrap().ends_with(":table/tb1"));
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("by_g"));
    assert_eq!(gsi.index_status().unwrap().as_str(), "ACTIVE");
    let lsi = &table.local_secondary_indexes()[0];
    assert_eq!(lsi.index_name(), Some("by_l"));
    assert_eq!(
        lsi.projection().unwrap().projection_type(),
        Some(&ProjectionType::KeysOnly)
    );

    let dup = c
        .create_table()
        .table_name("tb1")
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(dup.is_resource_in_use_exception(), "{dup:?}");

    // ListTables pages with Limit and ExclusiveStartTableName.
    let page = c.list_tables().limit(1).send().await.unwrap();
    assert_eq!(page.table_names(), ["tb1"]);
    assert_eq!(page.last_evaluated_table_name(), Some("tb1"));
    let page = c
        .list_tables()
        .exclusive_start_table_name("tb1")
        .send()
        .await
        .unwrap();
    assert_eq!(page.table_names(), ["tb2"]);
    assert_eq!(page.last_evaluated_table_name(), None);

    // UpdateTable: to provisioned capacity.
    let updated = c
        .update_table()
        .table_name("tb2")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .update(
                    aws_sdk_dynamodb::types::UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("by_g")
                        .provisioned_throughput(
                            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                                .read_capacity_units(1)
                                .write_capacity_units(1)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.table_description().unwrap().table_name(),
        Some("tb2")
    );
    let described = c.describe_table().table_name("tb2").send().await.unwrap();
    let pt = described.table().unwrap().provisioned_throughput().unwrap();
    assert_eq!(pt.write_capacity_units(), Some(7));

    let missing = c
        .update_table()
        .table_name("nope")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");

    c.delete_table().table_name("tb2").send().await.unwrap();
    let gone = c
        .describe_table()
        .table_name("tb2")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
    let again = c
        .delete_table()
        .table_name("tb2")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_resource_not_found_exception(), "{again:?}");
    let names = c.list_tables().send().await.unwrap();
    assert_eq!(names.table_names(), ["tb1"]);
}

async fn describe_ttl(c: &Client, table: &str) -> DescribeTimeToLiveOutput {
    c.describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .unwrap()
}

async fn list_tags(c: &Client, arn: &str) -> Vec<Tag> {
    let out = c
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    out.tags().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_live_and_tags() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;

    let ttl = describe_ttl(&c, "tbl").await;
    assert_eq!(
        ttl.time_to_live_description()
            .unwrap()
            .time_to_live_status()
            .unwrap()
            .as_str(),
        "DISABLED"
    );
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name("expires")
        .build()
        .unwrap();
    let set = c
        .update_time_to_live()
        .table_name("tbl")
        .time_to_live_specification(spec.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(set.time_to_live_specification(), Some(&spec));
    let ttl = describe_ttl(&c, "tbl").await;
    let d = ttl.time_to_live_description().unwrap();
    assert_eq!(d.time_to_live_status().unwrap().as_str(), "ENABLED");
    assert_eq!(d.attribute_name(), Some("expires"));
    // ENGINE: DynamoDB refuses enabling TTL when it is already enabled (ValidationException
    // "TimeToLive is already enabled"); the engine accepts it again.
    let twice = c
        .update_time_to_live()
        .table_name("tbl")
        .time_to_live_specification(spec)
        .send()
        .await;
    assert!(twice.is_ok(), "{twice:?}");

    let arn = c
        .describe_table()
        .table_name("tbl")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    c.tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "dev"))
        .tags(tag("team", "box"))
        .send()
        .await
        .unwrap();
    let tags = list_tags(&c, &arn).await;
    let mut got: Vec<_> = tags.iter().map(|t| (t.key(), t.value())).collect();
    got.sort_unstable();
    assert_eq!(got, [("env", "dev"), ("team", "box")]);
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(list_tags(&c, &arn).await.len(), 1);
    let bad = c
        .tag_resource()
        .resource_arn("arn:aws:dynamodb:us-east-1:000000000000:table/nope")
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("ResourceNotFoundException"), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_reads_and_writes() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;

    // Put, refused the second time by its condition, with the old item returned.
    let put = || {
        c.put_item()
            .table_name("tbl")
            .item("pk", s("a"))
            .item("sk", n("1"))
            .item("name", s("first"))
            .item("tags", AttributeValue::Ss(vec!["x".into(), "y".into()]))
            .item(
                "doc",
                AttributeValue::M(HashMap::from([("deep".into(), n("42"))])),
            )
            .condition_expression("attribute_not_exists(pk)")
    };
    put().send().await.unwrap();
    let err = put()
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) =
        err
    else {
        panic!("expected ConditionalCheckFailedException, got {err:?}");
    };
    assert_eq!(e.item().unwrap()["name"], s("first"));

    // Get with a projection and attribute names; strongly consistent.
    let got = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .projection_expression("#n, doc.deep")
        .expression_attribute_names("#n", "name")
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = got.item().unwrap();
    assert_eq!(item.len(), 2);
    assert_eq!(item["name"], s("first"));
    assert_eq!(
        item["doc"],
        AttributeValue::M(HashMap::from([("deep".into(), n("42"))]))
    );
    let none = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("a", "2")))
        .send()
        .await
        .unwrap();
    assert!(none.item().is_none());

    // Update: SET with arithmetic and if_not_exists, ADD to a set and a number, REMOVE.
    let updated = c
        .update_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .update_expression(
            "SET #n = :n, hits = if_not_exists(hits, :zero) + :one \
             ADD tags :z, visits :one REMOVE doc",
        )
        .condition_expression("#n = :old")
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(":n", s("second"))
        .expression_attribute_values(":old", s("first"))
        .expression_attribute_values(":zero", n("0"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":z", AttributeValue::Ss(vec!["z".into()]))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    let new = updated.attributes().unwrap();
    assert_eq!(new["name"], s("second"));
    assert_eq!(new["hits"], n("1"));
    assert_eq!(new["visits"], n("1"));
    let AttributeValue::Ss(tags) = &new["tags"] else {
        panic!("tags: {:?}", new["tags"]);
    };
    let mut tags = tags.clone();
    tags.sort_unstable();
    assert_eq!(tags, ["x", "y", "z"]);
    assert!(!new.contains_key("doc"));

    let old = c
        .update_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .update_expression("SET hits = hits + :one")
        .expression_attribute_values(":one", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(old.attributes().unwrap()["hits"], n("1"));

    let failed = c
        .update_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .update_expression("SET hits = :v")
        .condition_expression("hits > :v")
        .expression_attribute_values(":v", n("100"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(failed.is_conditional_check_failed_exception(), "{failed:?}");

    // Delete: conditional refusal, then ALL_OLD.
    let refused = c
        .delete_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .condition_expression("attribute_not_exists(#n)")
        .expression_attribute_names("#n", "name")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        refused.is_conditional_check_failed_exception(),
        "{refused:?}"
    );
    let deleted = c
        .delete_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().unwrap()["hits"], n("2"));
    let gone = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("a", "1")))
        .send()
        .await
        .unwrap();
    assert!(gone.item().is_none());
}

/// Ten items under `p`, `sk` 0..10; the even ones in GSI partition `even`.
async fn seed_items(c: &Client) {
    for i in 0..10 {
        let mut put = c
            .put_item()
            .table_name("tbl")
            .item("pk", s("p"))
            .item("sk", n(&i.to_string()))
            .item("lsk", s(&format!("l{}", 9 - i)))
            .item("v", n(&(i * 10).to_string()));
        if i % 2 == 0 {
            put = put
                .item("gpk", s("even"))
                .item("gsk", s(&format!("g{i:02}")));
        }
        put.send().await.unwrap();
    }
    c.put_item()
        .table_name("tbl")
        .item("pk", s("other"))
        .item("sk", n("0"))
        .send()
        .await
        .unwrap();
}

fn sks(items: &[HashMap<String, AttributeValue>]) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i["sk"] {
            AttributeValue::N(v) => v.clone(),
            other => panic!("sk {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_scan() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;
    seed_items(&c).await;

    // Key condition with BETWEEN, descending, filtered.
    let q = c
        .query()
        .table_name("tbl")
        .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
        .filter_expression("v <> :skip")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":lo", n("2"))
        .expression_attribute_values(":hi", n("6"))
        .expression_attribute_values(":skip", n("40"))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    assert_eq!(sks(q.items()), ["6", "5", "3", "2"]);
    assert_eq!(q.count(), 4);
    assert_eq!(q.scanned_count(), 5);

    // Pagination with Limit: LastEvaluatedKey → ExclusiveStartKey until it is gone.
    let mut seen = Vec::new();
    let mut start = None;
    let mut pages = 0;
    loop {
        let page = c
            .query()
            .table_name("tbl")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .limit(3)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        pages += 1;
        seen.extend(sks(page.items()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    // 3+3+3+1; DynamoDB may add an empty last page only when a page ends exactly at the end.
    assert_eq!(pages, 4);

    // Select COUNT.
    let count = c
        .query()
        .table_name("tbl")
        .key_condition_expression("pk = :p AND sk >= :five")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":five", n("5"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(count.count(), 5);
    assert!(count.items().is_empty());

    // GSI: only items that have its keys, ordered by its sort key.
    let g = c
        .query()
        .table_name("tbl")
        .index_name("by_g")
        .key_condition_expression("gpk = :e AND begins_with(gsk, :g)")
        .expression_attribute_values(":e", s("even"))
        .expression_attribute_values(":g", s("g0"))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(g.items()), ["0", "2", "4", "6", "8"]);

    // LSI (keys only): ordered by lsk, which runs opposite to sk.
    let l = c
        .query()
        .table_name("tbl")
        .index_name("by_l")
        .key_condition_expression("pk = :p AND lsk < :l")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":l", s("l3"))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(l.items()), ["9", "8", "7"]);
    assert!(!l.items()[0].contains_key("v"), "KEYS_ONLY projection");

    // Query on a missing index.
    let bad_index = c
        .query()
        .table_name("tbl")
        .index_name("nope")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad_index.code(),
        Some("ValidationException"),
        "{bad_index:?}"
    );

    // Scan with a filter and with pagination.
    let filtered = c
        .scan()
        .table_name("tbl")
        .filter_expression("v >= :x")
        .expression_attribute_values(":x", n("70"))
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.count(), 3);
    assert_eq!(filtered.scanned_count(), 11);
    let mut total = 0;
    let mut start = None;
    loop {
        let page = c
            .scan()
            .table_name("tbl")
            .limit(4)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        total += page.items().len();
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(total, 11);

    // Parallel scan: the segments together hold every item exactly once.
    let mut all = Vec::new();
    for segment in 0..3 {
        let page = c
            .scan()
            .table_name("tbl")
            .segment(segment)
            .total_segments(3)
            .send()
            .await
            .unwrap();
        assert!(page.last_evaluated_key().is_none());
        all.extend(
            page.items()
                .iter()
                .map(|i| format!("{:?}{:?}", i["pk"], i["sk"])),
        );
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 11);
    let bad_segment = c
        .scan()
        .table_name("tbl")
        .segment(3)
        .total_segments(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad_segment.code(),
        Some("ValidationException"),
        "{bad_segment:?}"
    );

    let scan_count = c
        .scan()
        .table_name("tbl")
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(scan_count.count(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_operations() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;

    let put = |i: usize| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(key("b", &i.to_string())))
                    .item("v", s(&format!("v{i}")))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let puts: Vec<_> = (0..25).map(put).collect();
    let written = c
        .batch_write_item()
        .request_items("tbl", puts)
        .send()
        .await
        .unwrap();
    assert!(written.unprocessed_items().is_none_or(HashMap::is_empty));

    // More than 25 writes in one batch is a validation error.
    let too_many: Vec<_> = (0..26).map(put).collect();
    let err = c
        .batch_write_item()
        .request_items("tbl", too_many)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");

    // Deletes and puts mixed.
    let delete = WriteRequest::builder()
        .delete_request(
            aws_sdk_dynamodb::types::DeleteRequest::builder()
                .set_key(Some(key("b", "0")))
                .build()
                .unwrap(),
        )
        .build();
    c.batch_write_item()
        .request_items("tbl", vec![delete, put(100)])
        .send()
        .await
        .unwrap();

    let keys = KeysAndAttributes::builder()
        .keys(key("b", "0"))
        .keys(key("b", "1"))
        .keys(key("b", "100"))
        .keys(key("b", "999"))
        .projection_expression("sk, v")
        .build()
        .unwrap();
    let got = c
        .batch_get_item()
        .request_items("tbl", keys)
        .send()
        .await
        .unwrap();
    let mut found = sks(&got.responses().unwrap()["tbl"]);
    found.sort_unstable();
    assert_eq!(found, ["1", "100"]);
    assert!(got.unprocessed_keys().is_none_or(HashMap::is_empty));

    // More than 100 keys is a validation error; so is a missing table.
    let mut many = KeysAndAttributes::builder();
    for i in 0..101 {
        many = many.keys(key("b", &i.to_string()));
    }
    let err = c
        .batch_get_item()
        .request_items("tbl", many.build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    let err = c
        .batch_get_item()
        .request_items(
            "nope",
            KeysAndAttributes::builder()
                .keys(key("b", "1"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("x", "1")))
        .item("balance", n("100"))
        .send()
        .await
        .unwrap();
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("x", "9")))
        .send()
        .await
        .unwrap();

    let transfer = |amount: &str| {
        c.transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name("tbl")
                            .set_key(Some(key("x", "1")))
                            .update_expression("SET balance = balance - :a")
                            .condition_expression("balance >= :a")
                            .expression_attribute_values(":a", n(amount))
                            .return_values_on_condition_check_failure(
                                ReturnValuesOnConditionCheckFailure::AllOld,
                            )
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("tbl")
                            .set_item(Some(key("x", "2")))
                            .item("balance", n(amount))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name("tbl")
                            .set_key(Some(key("x", "9")))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
    };
    transfer("30").send().await.unwrap();

    let err = transfer("500")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) = err else {
        panic!("expected TransactionCanceledException, got {err:?}");
    };
    let codes: Vec<_> = e
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["ConditionalCheckFailed", "None", "None"]);
    assert_eq!(
        e.cancellation_reasons()[0].item().unwrap()["balance"],
        n("70")
    );

    // Two operations on one item in one transaction are refused.
    let delete_x9 = TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name("tbl")
                .set_key(Some(key("x", "9")))
                .build()
                .unwrap(),
        )
        .build();
    let err = c
        .transact_write_items()
        .transact_items(delete_x9.clone())
        .transact_items(delete_x9)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");

    let get = |sk: &str| {
        TransactGetItem::builder()
            .get(
                aws_sdk_dynamodb::types::Get::builder()
                    .table_name("tbl")
                    .set_key(Some(key("x", sk)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let got = c
        .transact_get_items()
        .transact_items(get("1"))
        .transact_items(get("2"))
        .transact_items(get("3"))
        .send()
        .await
        .unwrap();
    let r = got.responses();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].item().unwrap()["balance"], n("70"));
    assert_eq!(r[1].item().unwrap()["balance"], n("30"));
    assert!(r[2].item().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_and_limits() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;

    // 38 significant digits survive exactly; 39 are refused.
    let big = "12345678901234567890123456789012345678";
    let small = "-0.00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001";
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("n", "1")))
        .item("big", n(big))
        .item("small", n(small))
        .item("set", AttributeValue::Ns(vec!["1".into(), "1.50".into()]))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("n", "1")))
        .send()
        .await
        .unwrap();
    let item = got.item().unwrap();
    assert_eq!(item["big"], n(big));
    assert_eq!(item["small"], n(small));
    let sum = c
        .update_item()
        .table_name("tbl")
        .set_key(Some(key("n", "1")))
        .update_expression("SET big = big + :one")
        .expression_attribute_values(":one", n("1"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sum.attributes().unwrap()["big"],
        n("12345678901234567890123456789012345679")
    );
    for bad in [
        "123456789012345678901234567890123456789",
        "1E+126",
        "1E-131",
        "abc",
    ] {
        let err = c
            .put_item()
            .table_name("tbl")
            .set_item(Some(key("n", "2")))
            .item("x", n(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "{bad}: {err:?}");
    }

    // An item over 400 KB is refused with DynamoDB's message; one just under is stored.
    let err = c
        .put_item()
        .table_name("tbl")
        .set_item(Some(key("n", "3")))
        .item("blob", s(&"x".repeat(400 * 1024)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    assert!(
        err.message()
            .unwrap_or("")
            .contains("Item size has exceeded the maximum allowed size"),
        "{err:?}"
    );
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("n", "3")))
        .item("blob", s(&"x".repeat(400 * 1024 - 100)))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tables_and_validation_errors() {
    let server = Server::start().await;
    let c = server.client();
    create_table(&c, "tbl").await;

    let err = c
        .get_item()
        .table_name("nope")
        .set_key(Some(key("a", "1")))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = c
        .query()
        .table_name("nope")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = c
        .put_item()
        .table_name("nope")
        .set_item(Some(key("a", "1")))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    // Each of these is a ValidationException with a message, never a crash or a 500.
    let bad_requests = [
        // Key of the wrong type.
        c.get_item()
            .table_name("tbl")
            .key("pk", n("1"))
            .key("sk", n("1"))
            .send()
            .await
            .error_code(),
        // Missing sort key.
        c.get_item()
            .table_name("tbl")
            .key("pk", s("a"))
            .send()
            .await
            .error_code(),
        // Update expression syntax error.
        c.update_item()
            .table_name("tbl")
            .set_key(Some(key("a", "1")))
            .update_expression("SET = nonsense")
            .send()
            .await
            .error_code(),
        // Undefined expression attribute value.
        c.query()
            .table_name("tbl")
            .key_condition_expression("pk = :undefined")
            .send()
            .await
            .error_code(),
        // Unused expression attribute value.
        c.scan()
            .table_name("tbl")
            .expression_attribute_values(":unused", s("x"))
            .send()
            .await
            .error_code(),
        // Empty string key.
        c.put_item()
            .table_name("tbl")
            .item("pk", s(""))
            .item("sk", n("1"))
            .send()
            .await
            .error_code(),
        // Updating a key attribute.
        c.update_item()
            .table_name("tbl")
            .set_key(Some(key("a", "1")))
            .update_expression("SET sk = :v")
            .expression_attribute_values(":v", n("2"))
            .send()
            .await
            .error_code(),
        // Invalid table name.
        c.describe_table().table_name("a").send().await.error_code(),
    ];
    for (i, code) in bad_requests.iter().enumerate() {
        assert_eq!(code.as_deref(), Some("ValidationException"), "case {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures() {
    let server = Server::start().await;

    // Temporary credentials (with a session token) sign like Lambda's do and are accepted.
    server.session_client().list_tables().send().await.unwrap();

    let wrong_secret = server
        .client_as(ACCESS_KEY, "not-the-secret")
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        wrong_secret.code(),
        Some("InvalidSignatureException"),
        "{wrong_secret:?}"
    );
    assert!(
        wrong_secret
            .message()
            .unwrap_or("")
            .starts_with("The request signature we calculated does not match"),
        "{wrong_secret:?}"
    );
    let unknown = server
        .client_as("AKIDUNKNOWN", SECRET)
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        unknown.code(),
        Some("UnrecognizedClientException"),
        "{unknown:?}"
    );
}

/// Put an item that expired a minute ago into a fresh table with TTL on `expires`.
async fn put_expired(c: &Client) {
    create_table(c, "tbl").await;
    c.update_time_to_live()
        .table_name("tbl")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("ttl", "1")))
        .item("expires", n(&(unix_now() - 60).to_string()))
        .send()
        .await
        .unwrap();
}

/// As in DynamoDB, an expired item stays readable until the background deletion removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_items_stay_until_swept() {
    let server = Server::start_with(|config| config.ttl_sweep_interval = None).await;
    let c = server.client();
    put_expired(&c).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("ttl", "1")))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_items_are_deleted_by_the_ttl_sweep() {
    let server = Server::start_with(|config| {
        config.ttl_sweep_interval = Some(Duration::from_millis(200));
    })
    .await;
    let c = server.client();
    put_expired(&c).await;
    c.put_item()
        .table_name("tbl")
        .set_item(Some(key("ttl", "2")))
        .item("expires", n(&(unix_now() + 3600).to_string()))
        .send()
        .await
        .unwrap();

    let count = || async {
        c.query()
            .table_name("tbl")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("ttl"))
            .send()
            .await
            .unwrap()
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count().await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expired item was not deleted by the sweep"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = c
        .get_item()
        .table_name("tbl")
        .set_key(Some(key("ttl", "2")))
        .send()
        .await
        .unwrap();
    assert!(kept.item().is_some());
}
