//! The VictoriaLogs API through [`handle`], without a socket.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::Value;

use super::*;

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn lines(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn service() -> (tempfile::TempDir, Service) {
    let dir = tempfile::tempdir().unwrap();
    // The fixtures are dated 2026-01-01: keep them whatever today is.
    let config = LogsServerConfig {
        store: StoreConfig {
            retention: Duration::from_secs(20 * 365 * 86_400),
            ..StoreConfig::default()
        },
        ..LogsServerConfig::default()
    };
    let store = Store::open(dir.path(), config.store.clone()).unwrap();
    (dir, Service::new(Arc::new(store), config))
}

async fn call(
    service: &Service,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = handle(service, request.body(body.into()).unwrap()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn ingest(service: &Service, uri: &str, body: &str) -> Answer {
    call(service, "POST", uri, &[], body.to_owned()).await
}

async fn select(service: &Service, path: &str, query: &str) -> Answer {
    let encoded: String =
        percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let uri = if path.contains('?') {
        format!("{path}&query={encoded}")
    } else {
        format!("{path}?query={encoded}")
    };
    call(service, "GET", &uri, &[], Bytes::new()).await
}

fn lambda_lines(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"_time\":\"2026-01-01T00:00:{:02}.5Z\",\"_msg\":\"line {i}\",\"level\":\"{}\",\"container_name\":\"fn-{}\",\"job\":\"lambda\",\"n\":{i}}}\n",
                i % 60,
                if i % 2 == 0 { "INFO" } else { "ERROR" },
                i % 2
            )
        })
        .collect()
}

fn recent_lines(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"_msg\":\"line {i}\",\"level\":\"{}\",\"container_name\":\"fn-{}\",\"job\":\"lambda\",\"n\":{i}}}\n",
                if i % 2 == 0 { "INFO" } else { "ERROR" },
                i % 2
            )
        })
        .collect()
}

const STREAMS: &str = "/insert/jsonline?_stream_fields=container_name,job";

#[tokio::test]
async fn jsonline_ingest_statuses() {
    let (_dir, service) = service();
    assert_eq!(
        call(&service, "GET", "/insert/jsonline", &[], Bytes::new())
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        ingest(&service, "/insert/jsonline", "").await.status,
        StatusCode::OK
    );
    let partial = ingest(
        &service,
        "/insert/jsonline",
        "{\"_msg\":\"good\"}\nnot json\n",
    )
    .await;
    assert_eq!(partial.status, StatusCode::OK);
    let all_bad = ingest(
        &service,
        "/insert/jsonline",
        "not json\n{\"_time\":\"soon\"}\n",
    )
    .await;
    assert_eq!(all_bad.status, StatusCode::BAD_REQUEST);
    assert!(all_bad.body.contains("cannot parse"), "{}", all_bad.body);
    assert!(
        all_bad.headers[http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let bad_param = ingest(&service, "/insert/jsonline?extra_fields=novalue", "{}").await;
    assert_eq!(bad_param.status, StatusCode::BAD_REQUEST);
    let rows = select(&service, "/select/logsql/query", "*").await.lines();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["_msg"], "good");
}

#[tokio::test]
async fn parameters_by_argument_and_header_and_compressed_bodies() {
    let (_dir, service) = service();
    let line = "{\"log\":{\"message\":\"hello\",\"level\":\"info\"},\"date\":\"1767225600\",\"app\":\"a1\",\"secret\":\"s\"}\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(line.as_bytes()).unwrap();
    let answer = call(
        &service,
        "POST",
        "/insert/jsonline?_msg_field=log.message&_time_field=date",
        &[
            ("Content-Encoding", "gzip"),
            ("VL-Stream-Fields", "app"),
            ("VL-Ignore-Fields", "secret"),
            ("VL-Msg-Field", "ignored-because-the-argument-wins"),
            ("VL-Extra-Fields", "env=test"),
        ],
        gz.finish().unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let zstd_body = zstd::encode_all(line.as_bytes(), 1).unwrap();
    let answer = call(
        &service,
        "POST",
        "/insert/jsonline",
        &[("Content-Encoding", "zstd")],
        zstd_body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let rows = select(&service, "/select/logsql/query", "{app=\"a1\"}")
        .await
        .lines();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["_msg"], "hello");
    assert_eq!(row["log.level"], "info");
    assert_eq!(row["_time"], "2026-01-01T00:00:00Z");
    assert_eq!(row["_stream"], "{app=\"a1\"}");
    assert_eq!(row["env"], "test");
    assert!(row.get("secret").is_none());
    assert!(row.get("date").is_none());
    assert_eq!(row["_stream_id"].as_str().unwrap().len(), 48);
}

#[tokio::test]
async fn query_limit_returns_the_newest_rows_ascending_as_strings() {
    let (_dir, service) = service();
    assert_eq!(
        ingest(&service, STREAMS, &recent_lines(50)).await.status,
        StatusCode::OK
    );
    let answer = select(
        &service,
        "/select/logsql/query?limit=3",
        "{container_name=\"fn-1\"}",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[http::header::CONTENT_TYPE],
        "application/stream+json"
    );
    let rows = answer.lines();
    let messages: Vec<&str> = rows.iter().map(|r| r["_msg"].as_str().unwrap()).collect();
    assert_eq!(messages, ["line 45", "line 47", "line 49"]);
    for row in &rows {
        assert!(
            row.as_object().unwrap().values().all(Value::is_string),
            "{row}"
        );
        assert!(row["_time"].as_str().unwrap().ends_with('Z'));
    }
    let stats = select(
        &service,
        "/select/logsql/query",
        "* | stats by (level) count() n",
    )
    .await
    .lines();
    assert_eq!(
        stats,
        [
            serde_json::json!({"level":"ERROR","n":"25"}),
            serde_json::json!({"level":"INFO","n":"25"})
        ]
    );
    let sorted = select(
        &service,
        "/select/logsql/query?limit=2",
        "* | sort by (n desc) | fields n",
    )
    .await
    .lines();
    assert_eq!(
        sorted,
        [serde_json::json!({"n":"49"}), serde_json::json!({"n":"48"})]
    );
}

#[tokio::test]
async fn query_arguments_and_errors() {
    let (_dir, service) = service();
    ingest(&service, STREAMS, &lambda_lines(60)).await;
    let bad = select(&service, "/select/logsql/query", "error)").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.starts_with("cannot parse query [error)]: "),
        "{}",
        bad.body
    );
    let missing = call(&service, "GET", "/select/logsql/query", &[], Bytes::new()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let bad_time = select(&service, "/select/logsql/query?start=yesterday", "*").await;
    assert_eq!(bad_time.status, StatusCode::BAD_REQUEST);
    let window = select(
        &service,
        "/select/logsql/query?start=2026-01-01T00:00:10Z&end=2026-01-01T00:00:19Z",
        "*",
    )
    .await;
    assert_eq!(window.lines().len(), 10);
    let unix = select(
        &service,
        "/select/logsql/query?start=1767225610&end=1767225619.9",
        "*",
    )
    .await;
    assert_eq!(unix.lines().len(), 10);
    // A POSTed form, as `curl -d` sends it.
    let form = call(
        &service,
        "POST",
        "/select/logsql/query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "query=level%3AERROR&limit=5",
    )
    .await;
    assert_eq!(form.lines().len(), 5);
    assert_eq!(
        call(&service, "GET", "/nope", &[], Bytes::new())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&service, "GET", "/health", &[], Bytes::new())
            .await
            .body,
        "OK\n"
    );
}

#[tokio::test]
async fn elasticsearch_and_loki_ingest() {
    let (_dir, service) = service();
    let root = call(&service, "GET", "/insert/elasticsearch/", &[], Bytes::new()).await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(root.headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(root.json()["version"]["number"], "8.9.0");
    let template = call(
        &service,
        "PUT",
        "/insert/elasticsearch/_index_template/x",
        &[],
        "{}",
    )
    .await;
    assert_eq!(template.status, StatusCode::OK);
    let bulk = ingest(
        &service,
        "/insert/elasticsearch/_bulk?_msg_field=message&_time_field=@timestamp",
        "{\"create\":{\"_index\":\"logs\"}}\n{\"message\":\"from es\",\"@timestamp\":\"2026-01-01T00:00:00Z\",\"host\":{\"name\":\"h1\"}}\n",
    )
    .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.body);
    assert_eq!(bulk.headers["x-elastic-product"], "Elasticsearch");
    let body = bulk.json();
    assert_eq!(body["errors"], false);
    assert_eq!(body["items"][0]["create"]["status"], 201);
    assert_eq!(
        call(
            &service,
            "GET",
            "/insert/elasticsearch/_bulk",
            &[],
            Bytes::new()
        )
        .await
        .status,
        StatusCode::METHOD_NOT_ALLOWED
    );

    let loki = ingest(
        &service,
        "/insert/loki/api/v1/push",
        r#"{"streams":[{"stream":{"instance":"host123","job":"app42"},"values":[["0","foo fizzbuzz bar"]]}]}"#,
    )
    .await;
    assert_eq!(loki.status, StatusCode::NO_CONTENT);
    let proto = call(
        &service,
        "POST",
        "/insert/loki/api/v1/push",
        &[("Content-Type", "application/x-protobuf")],
        "x",
    )
    .await;
    assert_eq!(proto.status, StatusCode::BAD_REQUEST);

    let es = select(&service, "/select/logsql/query", "host.name:h1")
        .await
        .lines();
    assert_eq!(es[0]["_msg"], "from es");
    assert_eq!(es[0]["_time"], "2026-01-01T00:00:00Z");
    let fizz = select(&service, "/select/logsql/query", "fizzbuzz")
        .await
        .lines();
    assert_eq!(fizz[0]["_stream"], "{instance=\"host123\",job=\"app42\"}");
}

#[tokio::test]
async fn hits_and_listings() {
    let (_dir, service) = service();
    ingest(&service, STREAMS, &lambda_lines(60)).await;
    let hits = select(&service, "/select/logsql/hits?step=30s&field=level", "*")
        .await
        .json();
    let groups = hits["hits"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["total"], 30);
    assert_eq!(
        groups[0]["timestamps"],
        serde_json::json!(["2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z"])
    );
    assert_eq!(groups[0]["values"], serde_json::json!([15, 15]));
    assert!(groups[0]["fields"]["level"].is_string());

    let names = select(&service, "/select/logsql/field_names", "*")
        .await
        .json();
    let names: Vec<&str> = names["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "_msg",
            "_stream",
            "_stream_id",
            "_time",
            "container_name",
            "job",
            "level",
            "n"
        ]
    );
    let values = select(&service, "/select/logsql/field_values?field=level", "*")
        .await
        .json();
    assert_eq!(values["values"][0]["hits"], 30);
    let limited = select(&service, "/select/logsql/field_values?field=n&limit=3", "*")
        .await
        .json();
    assert_eq!(limited["values"].as_array().unwrap().len(), 3);
    assert_eq!(limited["values"][0]["hits"], 0);
    let streams = select(&service, "/select/logsql/streams", "*").await.json();
    assert_eq!(
        streams["values"][0]["value"],
        "{container_name=\"fn-0\",job=\"lambda\"}"
    );
    assert_eq!(streams["values"][0]["hits"], 30);
    let stream_names = select(&service, "/select/logsql/stream_field_names", "*")
        .await
        .json();
    assert_eq!(
        stream_names["values"],
        serde_json::json!([{"value":"container_name","hits":60},{"value":"job","hits":60}])
    );
    let stream_values = select(
        &service,
        "/select/logsql/stream_field_values?field=container_name",
        "level:ERROR",
    )
    .await
    .json();
    assert_eq!(
        stream_values["values"],
        serde_json::json!([{"value":"fn-1","hits":30}])
    );
    assert_eq!(
        select(&service, "/select/logsql/field_values", "*")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn force_flush_keeps_every_row_searchable() {
    let (_dir, service) = service();
    ingest(&service, STREAMS, &recent_lines(100)).await;
    let flush = call(&service, "POST", "/internal/force_flush", &[], Bytes::new()).await;
    assert_eq!(flush.status, StatusCode::OK);
    assert!(
        service
            .store()
            .snapshot(i64::MIN, i64::MAX, &|_| true)
            .tail
            .is_empty()
    );
    assert_eq!(
        select(&service, "/select/logsql/query", "*")
            .await
            .lines()
            .len(),
        100
    );
    assert_eq!(
        select(&service, "/select/logsql/query", "\"line 42\"")
            .await
            .lines()
            .len(),
        1
    );
}

async fn next_chunk(body: &mut Body) -> String {
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&frame.into_data().unwrap()).into_owned()
}

#[tokio::test]
async fn tail_sends_history_then_live_rows_once() {
    let (_dir, service) = service();
    ingest(
        &service,
        STREAMS,
        "{\"_msg\":\"before\",\"container_name\":\"fn-0\"}\n",
    )
    .await;
    let refused = select(&service, "/select/logsql/tail", "* | stats count()").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        select(&service, "/select/logsql/tail", "* | fields _msg")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    let request = Request::builder()
        .uri("/select/logsql/tail?query=%7Bcontainer_name%3D%22fn-0%22%7D&start_offset=1m")
        .body(Bytes::new())
        .unwrap();
    let response = handle(&service, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    assert!(next_chunk(&mut body).await.contains("\"before\""));
    ingest(&service, STREAMS, "{\"_msg\":\"other\",\"container_name\":\"x\"}\n{\"_msg\":\"fn live\",\"container_name\":\"fn-0\"}\n").await;
    let live = next_chunk(&mut body).await;
    assert_eq!(live.lines().count(), 1, "{live}");
    assert!(live.contains("fn live"));
    service.stop_tails();
    let end = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap();
    assert!(end.is_none());
}
