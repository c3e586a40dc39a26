//! In-process tests of the DynamoDB front: requests go through `handle`, no socket.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service, handle};
use http::{Request, StatusCode};
use serde_json::{Value, json};

fn engine() -> Service {
    Service::new(Engine::open(&EngineConfig::in_memory()).unwrap(), Auth::Off)
}

fn signed_service() -> Service {
    let creds = vec![Credential {
        access_key_id: "AKID".into(),
        secret_access_key: "secret".into(),
    }];
    Service::new(
        Engine::open(&EngineConfig::in_memory()).unwrap(),
        Auth::SigV4(creds),
    )
}

fn request(op: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .header("x-amz-date", "20260101T000000Z")
        .body(body.into())
        .unwrap()
}

async fn call(engine: &Service, op: &str, body: Value) -> (StatusCode, Value) {
    let resp = handle(engine, request(op, body.to_string())).await;
    check_headers(&resp);
    let status = resp.status();
    let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    (status, json)
}

fn check_headers(resp: &http::Response<Bytes>) {
    let crc: u32 = resp.headers()["x-amz-crc32"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(crc, crc32fast::hash(resp.body()));
    assert_eq!(resp.headers()["x-amzn-requestid"].len(), 52);
}

fn error_type(v: &Value) -> &str {
    v["__type"].as_str().unwrap_or("")
}

async fn create_table(engine: &Service) {
    let (status, body) = call(
        engine,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["TableDescription"]["TableName"], "tbl");
}

#[tokio::test]
async fn put_then_get() {
    let engine = engine();
    create_table(&engine).await;
    let item = json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "12345678901234567890123456789012345678"}});
    let (status, body) = call(
        &engine,
        "PutItem",
        json!({"TableName": "tbl", "Item": item}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &engine,
        "GetItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConsistentRead": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Item"], item);
}

#[tokio::test]
async fn condition_failure() {
    let engine = engine();
    create_table(&engine).await;
    let put = json!({
        "TableName": "tbl",
        "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
        "ConditionExpression": "attribute_not_exists(pk)"
    });
    let (status, _) = call(&engine, "PutItem", put.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&engine, "PutItem", put).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_type(&body),
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn query_with_key_condition() {
    let engine = engine();
    create_table(&engine).await;
    for sk in 1..=5 {
        let (status, _) = call(
            &engine,
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "q"}, "sk": {"N": sk.to_string()}}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = call(
        &engine,
        "Query",
        json!({
            "TableName": "tbl",
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": {"S": "q"}, ":a": {"N": "2"}, ":b": {"N": "4"}},
            "ScanIndexForward": false
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Count"], 3);
    assert_eq!(body["Items"][0]["sk"]["N"], "4");
}

#[tokio::test]
async fn missing_table_is_resource_not_found() {
    let engine = engine();
    let (status, body) = call(
        &engine,
        "GetItem",
        json!({"TableName": "nope", "Key": {"pk": {"S": "a"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_type(&body),
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
}

#[tokio::test]
async fn invalid_request_is_validation_exception() {
    let engine = engine();
    create_table(&engine).await;
    let (status, body) = call(
        &engine,
        "Query",
        json!({"TableName": "tbl", "KeyConditionExpression": "pk = "}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_type(&body),
        "com.amazon.coral.validate#ValidationException",
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_serialization_exception() {
    let engine = engine();
    let resp = handle(&engine, request("ListTables", "{not json")).await;
    check_headers(&resp);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(
        error_type(&body),
        "com.amazon.coral.service#SerializationException"
    );
}

#[tokio::test]
async fn unknown_operation() {
    let engine = engine();
    for target in ["DynamoDB_20120810.Frobnicate", "Other.ListTables"] {
        let mut req = request("ListTables", "{}");
        req.headers_mut()
            .insert("x-amz-target", target.parse().unwrap());
        let resp = handle(&engine, req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(
            error_type(&body),
            "com.amazon.coral.service#UnknownOperationException"
        );
    }
}

#[tokio::test]
async fn missing_auth_is_refused() {
    let engine = signed_service();
    let mut req = request("ListTables", "{}");
    req.headers_mut().remove("authorization");
    let resp = handle(&engine, req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert!(
        error_type(&body).ends_with("MissingAuthenticationTokenException"),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_request_is_413() {
    let engine = engine();
    let body = vec![b' '; esb_dynamodb::MAX_REQUEST_BYTES + 1];
    let resp = handle(&engine, request("ListTables", body)).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn deeply_nested_filter_expression_is_refused_not_fatal() {
    let engine = engine();
    create_table(&engine).await;
    // 2,040 levels fit DynamoDB's 4 KB expression limit, so they reach the parser.
    for depth in [100usize, 2_040, 10_000, 100_000] {
        let expr = format!("{}v = :v{}", "(".repeat(depth), ")".repeat(depth));
        let (status, body) = call(
            &engine,
            "Scan",
            json!({"TableName": "tbl", "FilterExpression": expr, "ExpressionAttributeValues": {":v": {"S": "x"}}}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "depth {depth}: {body}");
        assert_eq!(
            error_type(&body),
            "com.amazon.coral.validate#ValidationException",
            "depth {depth}: {body}"
        );
    }
    // The engine is still alive.
    let (status, _) = call(&engine, "ListTables", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

/// The deepest expression that fits DynamoDB's 4 KB limit reaches the engine's recursive parser:
/// 408 nested `OR (` levels. On 2 MiB stacks this overflowed the engine thread and aborted the
/// process (debug build); on the engine's 16 MiB stacks it is answered.
#[tokio::test]
async fn deepest_expression_within_size_limit_is_answered() {
    let engine = engine();
    create_table(&engine).await;
    let depth = 408;
    let expr = format!("{}v = :v{}", "v=:v OR (".repeat(depth), ")".repeat(depth));
    assert!(expr.len() <= 4096);
    let (status, body) = call(
        &engine,
        "Scan",
        json!({"TableName": "tbl", "FilterExpression": expr, "ExpressionAttributeValues": {":v": {"S": "x"}}}),
    )
    .await;
    assert!(
        status == StatusCode::OK
            || error_type(&body) == "com.amazon.coral.validate#ValidationException",
        "{status} {body}"
    );
    let (status, _) = call(&engine, "ListTables", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn deeply_nested_item_value_is_refused() {
    let engine = engine();
    create_table(&engine).await;
    // Built as text: a serde_json::Value this deep would overflow the test's own stack.
    let depth = 5_000;
    let deep = format!(
        "{}{{\"S\":\"leaf\"}}{}",
        "{\"L\":[".repeat(depth),
        "]}".repeat(depth)
    );
    let body = format!(
        r#"{{"TableName":"tbl","Item":{{"pk":{{"S":"a"}},"sk":{{"N":"1"}},"deep":{deep}}}}}"#
    );
    let resp = handle(&engine, request("PutItem", body)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (status, _) = call(&engine, "ListTables", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn gzip_request_body_is_decoded() {
    use std::io::Write;
    let engine = engine();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(br#"{"Limit": 5}"#).unwrap();
    let mut req = request("ListTables", enc.finish().unwrap());
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let resp = handle(&engine, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(body["TableNames"], json!([]));

    let mut req = request("ListTables", "not gzip");
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let resp = handle(&engine, req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_signature_and_unknown_key_are_refused() {
    let engine = signed_service();
    let resp = handle(&engine, request("ListTables", "{}")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(
        error_type(&body),
        "com.amazon.coral.service#InvalidSignatureException",
        "{body}"
    );

    let mut req = request("ListTables", "{}");
    req.headers_mut().insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=OTHER/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
            .parse()
            .unwrap(),
    );
    let resp = handle(&engine, req).await;
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(
        error_type(&body),
        "com.amazon.coral.service#UnrecognizedClientException",
        "{body}"
    );
}
