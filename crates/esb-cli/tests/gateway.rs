//! `esb up` end to end as API Gateway: small SAM projects under `tests/fixtures/gateway-*` are
//! copied to a temporary directory, brought up with the real `esb` binary (plain HTTP, a free
//! port), sent raw HTTP requests, and always brought down again (a guard's `Drop` runs
//! `esb down`, also when an assertion fails).
//!
//! Covered: AWS Lambda Powertools' REST and HTTP API resolvers; payload format 2.0 (cookies,
//! raw query string, route key, base64 bodies, `cookies` and simplified responses); payload
//! format 1.0 (multi-value headers and query strings, `BinaryMediaTypes`, base64 responses,
//! `multiValueHeaders` responses); the errors API Gateway gives (413, 503, 429, 502 with
//! recovery) with `x-amzn-RequestId` / `X-Amzn-Trace-Id` on every response; the circuit
//! breaker opening, probing and closing, as `/metrics` reports it.
//!
//! Every wait is bounded: sockets have timeouts and `esb` commands a deadline. The tests take
//! turns (a process-wide lock): the timing assertions (a 0.5 s acquire timeout, a fast 502 from
//! an open breaker) should not compete with another test's `pip install` for the CPU.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use support::http::{Reply, send};
use support::project::{box_addr, copy_dir, esb, shared_home, stderr};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

static SERIAL: Mutex<()> = Mutex::new(());

/// A running box on a copy of `tests/fixtures/<scenario>`; dropping it runs `esb down`.
struct Up {
    dir: tempfile::TempDir,
    home: PathBuf,
    port: u16,
    // Dropped after `drop` has run `esb down`: the next test starts once this box is gone.
    _turn: MutexGuard<'static, ()>,
}

impl Up {
    /// Copies the fixture (`@PROJECT_DIR@` in its template becomes the copy's path), writes
    /// `dotenv` as its `.env`, and runs `esb up --http --port <free> <extra>`.
    fn start(scenario: &str, dotenv: Option<&str>, extra: &[&str]) -> Up {
        let turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(scenario),
            dir.path(),
        );
        let template = dir.path().join("template.yaml");
        let text = std::fs::read_to_string(&template).expect("template");
        let text = text.replace("@PROJECT_DIR@", &dir.path().display().to_string());
        std::fs::write(&template, text).expect("template");
        if let Some(dotenv) = dotenv {
            std::fs::write(dir.path().join(".env"), dotenv).expect(".env");
        }
        let home = shared_home();
        // Any free port, read back once up: nothing can take it in between.
        let mut args = vec!["up", "--http", "--port", "0"];
        args.extend_from_slice(extra);
        // The first run of a scenario builds it (pip installs its requirements).
        let output = esb(dir.path(), &home, &args, Duration::from_secs(300));
        assert!(
            output.status.success(),
            "esb up failed: {}",
            stderr(&output)
        );
        Up {
            port: box_addr(dir.path()).port(),
            dir,
            home,
            _turn: turn,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn get(&self, path: &str) -> Reply {
        send(self.addr(), "GET", path, &[], b"")
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        send(self.addr(), method, path, headers, body)
    }

    fn metrics(&self) -> String {
        let reply = self.get("/metrics");
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.text()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let down = esb(
            self.dir.path(),
            &self.home,
            &["down"],
            Duration::from_secs(60),
        );
        if !down.status.success() && !std::thread::panicking() {
            panic!("esb down failed: {}", stderr(&down));
        }
    }
}

/// Standard base64 with padding (no base64 crate among the dev-dependencies).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JSON object's member by name, ignoring the name's case.
fn member<'a>(object: &'a Value, name: &str) -> &'a Value {
    object
        .as_object()
        .and_then(|map| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .unwrap_or(&Value::Null)
}

/// The value of one sample in Prometheus text.
fn sample(metrics: &str, series: &str) -> Option<String> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(str::to_string)
    })
}

/// A 1x1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const JSON: (&str, &str) = ("Content-Type", "application/json");
const POWERTOOLS_NOT_FOUND: &str = r#"{"statusCode":404,"message":"Not found"}"#;

// ---------------------------------------------------------------------------------------------
// 1. AWS Lambda Powertools event handlers
// ---------------------------------------------------------------------------------------------

#[test]
fn powertools_rest_and_http_resolvers_route_and_respond_as_on_aws() {
    let up = Up::start("gateway-powertools", None, &[]);

    // APIGatewayRestResolver behind REST `Api` events (payload format 1.0).
    let list = up.get("/todos");
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.header("content-type"), Some("application/json"));
    assert_eq!(
        list.json(),
        json!({"todos": [{"id": "1", "title": "write the tests", "done": false}], "filter": null})
    );
    let filtered = up.get("/todos?done=true");
    assert_eq!(filtered.json(), json!({"todos": [], "filter": "true"}));

    let one = up.get("/todos/1");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["title"], "write the tests");
    let missing = up.get("/todos/99");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.text(),
        r#"{"statusCode":404,"message":"todo 99 not found"}"#
    );

    let created = up.send("POST", "/todos", &[JSON], br#"{"title": "ship it"}"#);
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(
        created.json(),
        json!({"id": "2", "title": "ship it", "done": false})
    );
    assert_eq!(created.header("location"), Some("/todos/2"));
    assert_eq!(created.header("content-type"), Some("application/json"));
    // Powertools answers a REST API with multiValueHeaders: one header line per value.
    assert_eq!(created.all("x-todo-tags"), ["new", "unread"]);
    assert_eq!(created.all("set-cookie"), ["last_todo=2; Secure"]);
    // The worker stays warm between invocations, so its module state is kept.
    assert_eq!(up.get("/todos/2").json()["title"], "ship it");
    let invalid = up.send("POST", "/todos", &[JSON], b"{}");
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.text(),
        r#"{"statusCode":400,"message":"title is required"}"#
    );

    let status = up.send(
        "GET",
        "/api/status",
        &[("User-Agent", "esb-gateway-test/1.0")],
        b"",
    );
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(
        status.json(),
        json!({"resource": "/api/{proxy+}", "path": "/api/status", "proxy": "status",
               "stage": "Prod", "user_agent": "esb-gateway-test/1.0"})
    );
    // The greedy route reaches the function; Powertools itself answers 404 for what it lacks.
    let unknown = up.get("/api/not/a/route");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.text(), POWERTOOLS_NOT_FOUND);
    assert_eq!(unknown.header("content-type"), Some("application/json"));
    // A REST API also answers under its stage; the event's path is without it.
    let staged = up.get("/Prod/todos/1");
    assert_eq!(staged.status, 200, "{}", staged.text());
    assert_eq!(staged.json()["id"], "1");

    // APIGatewayHttpResolver behind `HttpApi` events (payload format 2.0).
    let item = up.send(
        "GET",
        "/items/42?color=blue&size=xl",
        &[("X-Tenant-Id", "acme"), ("Cookie", "a=1; b=2")],
        b"",
    );
    assert_eq!(item.status, 200, "{}", item.text());
    assert_eq!(item.header("content-type"), Some("application/json"));
    assert_eq!(
        item.json(),
        json!({"id": "42", "color": "blue", "tenant": "acme",
               "route_key": "GET /items/{item_id}", "method": "GET", "cookies": ["a=1", "b=2"]})
    );
    let plain = up.get("/items/7");
    assert_eq!(
        plain.json(),
        json!({"id": "7", "color": "none", "tenant": "missing",
               "route_key": "GET /items/{item_id}", "method": "GET", "cookies": []})
    );

    let made = up.send("POST", "/items", &[JSON], br#"{"id": 7, "name": "widget"}"#);
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(
        made.json(),
        json!({"id": 7, "name": "widget", "created": true})
    );
    assert_eq!(made.header("location"), Some("/items/7"));
    // Powertools answers an HTTP API with `cookies`: one Set-Cookie each.
    assert_eq!(
        made.all("set-cookie"),
        ["last_item=7; Secure", "visits=1; Secure"]
    );

    let deeper = up.get("/items/42/parts/9");
    assert_eq!(deeper.status, 404);
    assert_eq!(deeper.text(), POWERTOOLS_NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// 2. HTTP API, payload format 2.0
// ---------------------------------------------------------------------------------------------

#[test]
fn http_api_payload_v2_event_and_responses() {
    let up = Up::start("gateway-http-api", None, &[]);

    let echo = up.send(
        "GET",
        "/echo/a/b%20c?x=1&x=2&msg=hello%20world&flag",
        &[
            ("Cookie", "session=abc; theme=dark"),
            ("Cookie", "lang=en"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("User-Agent", "esb-test"),
        ],
        b"",
    );
    assert_eq!(echo.status, 200, "{}", echo.text());
    let event = echo.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /echo/{proxy+}");
    assert_eq!(event["rawPath"], "/echo/a/b%20c");
    assert_eq!(event["rawQueryString"], "x=1&x=2&msg=hello%20world&flag");
    assert_eq!(
        event["queryStringParameters"],
        json!({"x": "1,2", "msg": "hello world", "flag": ""})
    );
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b c"}));
    assert_eq!(
        event["cookies"],
        json!(["session=abc", "theme=dark", "lang=en"])
    );
    let headers = &event["headers"];
    assert!(headers.get("cookie").is_none(), "{headers}");
    assert_eq!(headers["x-multi"], "one,two");
    assert_eq!(headers["user-agent"], "esb-test");
    let context = &event["requestContext"];
    assert_eq!(context["routeKey"], "ANY /echo/{proxy+}");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/echo/a/b%20c");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "esb-test");
    assert_eq!(context["http"]["protocol"], "HTTP/1.1");
    assert!(
        context["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(context["timeEpoch"].is_u64(), "{context}");
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none(), "no body: {event}");

    let other_method = up.send("DELETE", "/echo/x", &[], b"");
    assert_eq!(
        other_method.json()["requestContext"]["http"]["method"],
        "DELETE"
    );

    // A binary body arrives base64-encoded; a JSON one as text.
    let bytes: Vec<u8> = vec![0x00, 0x01, 0xfe, 0xff, b'b', b'i', b'n', 0x80, 0x7f];
    let upload = up.send(
        "POST",
        "/upload",
        &[("Content-Type", "application/octet-stream")],
        &bytes,
    );
    let event = upload.json();
    assert_eq!(event["routeKey"], "POST /upload");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], base64(&bytes));
    assert_eq!(event["headers"]["content-type"], "application/octet-stream");

    let document = r#"{"name":"ada","tags":["x","y"]}"#;
    let posted = up.send("POST", "/upload", &[JSON], document.as_bytes());
    let event = posted.json();
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["body"], document);

    // `$default` catches what no route matches.
    let fallback = up.get("/nowhere/else?q=1");
    let event = fallback.json();
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["requestContext"]["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/nowhere/else");
    assert_eq!(event["rawQueryString"], "q=1");

    // `cookies` in the response: one Set-Cookie header each.
    let cookies = up.get("/cookies");
    assert_eq!(cookies.status, 200);
    assert_eq!(
        cookies.all("set-cookie"),
        [
            "session=abc123; Path=/; HttpOnly",
            "theme=dark; Max-Age=3600"
        ]
    );
    assert_eq!(cookies.header("content-type"), Some("text/plain"));
    assert_eq!(cookies.header("x-answer"), Some("42"));
    assert_eq!(cookies.text(), "cookies set");

    // The simplified response: a result without statusCode is a 200 JSON body.
    let simple = up.get("/simple");
    assert_eq!(simple.status, 200);
    assert_eq!(simple.header("content-type"), Some("application/json"));
    assert_eq!(simple.json(), json!({"hello": "world", "count": 2}));
    let text = up.get("/text");
    assert_eq!(text.status, 200);
    assert_eq!(text.header("content-type"), Some("application/json"));
    assert_eq!(text.text(), r#""just a string""#);
}

// ---------------------------------------------------------------------------------------------
// 3. REST API, payload format 1.0
// ---------------------------------------------------------------------------------------------

#[test]
fn rest_payload_v1_multi_values_and_binary_media_types() {
    let up = Up::start("gateway-rest", None, &[]);

    let echo = up.send(
        "GET",
        "/echo?tag=a&tag=b&one=1",
        &[
            ("X-Multi", "first"),
            ("X-Multi", "second"),
            ("X-Custom-Header", "Value"),
        ],
        b"",
    );
    assert_eq!(echo.status, 200, "{}", echo.text());
    let event = echo.json();
    assert_eq!(event["resource"], "/echo");
    assert_eq!(event["path"], "/echo");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(
        *member(&event["multiValueHeaders"], "x-multi"),
        json!(["first", "second"])
    );
    assert_eq!(*member(&event["headers"], "x-multi"), json!("second"));
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"tag": ["a", "b"], "one": ["1"]})
    );
    assert_eq!(
        event["queryStringParameters"],
        json!({"tag": "b", "one": "1"})
    );
    assert_eq!(event["pathParameters"], Value::Null);
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["stage"], "v1");
    assert_eq!(context["path"], "/v1/echo");
    assert_eq!(context["resourcePath"], "/echo");
    assert_eq!(context["httpMethod"], "GET");
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    let with_id = up.get("/v1/echo/abc");
    let staged = with_id.json();
    assert_eq!(staged["resource"], "/echo/{id}");
    assert_eq!(staged["path"], "/echo/abc");
    assert_eq!(staged["pathParameters"], json!({"id": "abc"}));
    assert_eq!(staged["requestContext"]["path"], "/v1/echo/abc");

    // A body whose type is one of the API's BinaryMediaTypes travels base64-encoded…
    let png = up.send("POST", "/echo", &[("Content-Type", "image/png")], PNG);
    let event = png.json();
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], base64(PNG));
    // …any other as text.
    let plain = up.send("POST", "/echo", &[("Content-Type", "text/plain")], b"hello");
    assert_eq!(plain.json()["isBase64Encoded"], false);
    assert_eq!(plain.json()["body"], "hello");
    let octets = up.send(
        "POST",
        "/echo",
        &[("Content-Type", "application/octet-stream")],
        b"abc",
    );
    assert_eq!(octets.json()["isBase64Encoded"], false);
    assert_eq!(octets.json()["body"], "abc");

    // isBase64Encoded in the response: the client gets the decoded bytes.
    let image = up.send("GET", "/image", &[("Accept", "image/png")], b"");
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(image.body, PNG);

    // multiValueHeaders in the response: one header line per value, with `headers` merged in.
    let multi = up.get("/multi");
    assert_eq!(multi.status, 202);
    assert_eq!(multi.all("set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
    assert_eq!(multi.all("x-tag"), ["red", "blue"]);
    assert_eq!(multi.all("x-single"), ["one"]);
    assert_eq!(multi.header("content-type"), Some("text/plain"));
    assert_eq!(multi.text(), "multi");
}

/// API Gateway's REST APIs (payload format 1.0) keep header names as an HTTP/1.1 client sent
/// them, so handlers written against AWS read `event['headers']['X-Custom-Header']`; only
/// HTTP APIs (2.0) lower-case them.
#[test]
fn rest_event_header_names_keep_the_clients_case() {
    let up = Up::start("gateway-rest", None, &[]);
    let echo = up.send(
        "GET",
        "/echo",
        &[
            ("X-Custom-Header", "Value"),
            ("X-Multi", "first"),
            ("X-Multi", "second"),
        ],
        b"",
    );
    assert_eq!(echo.status, 200, "{}", echo.text());
    let event = echo.json();
    assert_eq!(
        event["headers"].get("X-Custom-Header"),
        Some(&json!("Value")),
        "REST API event header names keep the client's case on AWS: {}",
        event["headers"]
    );
    assert_eq!(
        event["multiValueHeaders"].get("X-Multi"),
        Some(&json!(["first", "second"])),
        "{}",
        event["multiValueHeaders"]
    );
}

/// A REST API turns an `isBase64Encoded` proxy response into bytes only when the request's
/// (first) `Accept` type is one of the API's `BinaryMediaTypes`; otherwise the client gets the
/// base64 text ("Binary media types for REST APIs in API Gateway"). An HTTP API always decodes.
#[test]
fn rest_base64_response_is_decoded_only_when_accept_matches_binary_media_types() {
    let up = Up::start("gateway-rest", None, &[]);
    let decoded = up.send("GET", "/image", &[("Accept", "image/png")], b"");
    assert_eq!(decoded.body, PNG, "Accept matches the API's image/png");
    let no_binary_types = up.send("GET", "/plain-image", &[("Accept", "image/png")], b"");
    assert_eq!(no_binary_types.status, 200);
    assert_eq!(
        no_binary_types.text(),
        base64(PNG),
        "the implicit API has no BinaryMediaTypes: the body stays base64 text"
    );
    let other_accept = up.send("GET", "/image", &[("Accept", "application/json")], b"");
    assert_eq!(other_accept.status, 200);
    assert_eq!(
        other_accept.text(),
        base64(PNG),
        "Accept is not one of the API's BinaryMediaTypes: the body stays base64 text"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. The errors users see
// ---------------------------------------------------------------------------------------------

#[test]
fn errors_too_large_busy_throttled_and_timed_out_then_recovered() {
    let up = Up::start("gateway-errors", None, &["--acquire-timeout", "0.5"]);
    let mut replies: Vec<(&str, Reply)> = Vec::new();

    let small = up.send("POST", "/sink", &[("Content-Type", "text/plain")], b"hello");
    assert_eq!(small.status, 200, "{}", small.text());
    assert_eq!(small.json(), json!({"received": 5}));
    replies.push(("small body", small));

    // One slow request holds the only worker; a second one waits 0.5 s, then gets 503.
    let addr = up.addr();
    let holder = std::thread::spawn(move || send(addr, "GET", "/slow?sleep=3", &[], b""));
    std::thread::sleep(Duration::from_millis(700));
    let busy = up.get("/slow");
    let held = holder.join().expect("slow request");
    assert_eq!(held.status, 200, "{}", held.text());
    assert_eq!(held.json(), json!({"slept": 3.0}));
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.text(), r#"{"message":"Service Unavailable"}"#);
    assert!(
        busy.elapsed >= Duration::from_millis(400) && busy.elapsed < Duration::from_millis(2000),
        "503 after the 0.5 s acquire timeout, took {:?}",
        busy.elapsed
    );
    let free = up.get("/slow");
    assert_eq!(
        free.status,
        200,
        "the worker is free again: {}",
        free.text()
    );
    replies.extend([("held", held), ("busy", busy), ("free", free)]);

    let throttled = up.get("/throttled");
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.text(), r#"{"message":"Too Many Requests"}"#);
    replies.push(("throttled", throttled));

    let timed_out = up.get("/timeout?sleep=5");
    assert_eq!(timed_out.status, 502);
    assert_eq!(timed_out.text(), r#"{"message":"Internal server error"}"#);
    assert!(
        timed_out.elapsed < Duration::from_secs(4),
        "the 1 s timeout ends the request, not the 5 s sleep: {:?}",
        timed_out.elapsed
    );
    let recovered = up.get("/timeout?sleep=0.1");
    assert_eq!(recovered.status, 200, "{}", recovered.text());
    assert_eq!(recovered.json(), json!({"slept": 0.1}));
    replies.extend([("timed out", timed_out), ("recovered", recovered)]);

    // Over API Gateway's 10 MB payload limit.
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let too_large = up.send("POST", "/sink", &[("Content-Type", "text/plain")], &big);
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.text(),
        r#"{"message":"Request Entity Too Large"}"#
    );
    assert_eq!(too_large.header("content-type"), Some("application/json"));
    replies.push(("too large", too_large));

    for (what, reply) in &replies {
        assert!(
            reply
                .header("x-amzn-requestid")
                .is_some_and(|id| !id.is_empty()),
            "{what} ({}) lacks x-amzn-RequestId: {:?}",
            reply.status,
            reply.headers
        );
        assert!(
            reply
                .header("x-amzn-trace-id")
                .is_some_and(|id| id.starts_with("Root=1-")),
            "{what} ({}) lacks X-Amzn-Trace-Id: {:?}",
            reply.status,
            reply.headers
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Circuit breaker: open, half-open, closed
// ---------------------------------------------------------------------------------------------

#[test]
fn circuit_breaker_opens_then_a_probe_closes_it() {
    // The function fails while a marker file in the project exists and counts its calls in
    // another: files of the host, which only an unconfined worker sees.
    let up = Up::start(
        "gateway-breaker",
        Some("CIRCUIT_BREAKER_THRESHOLD=2\nCIRCUIT_BREAKER_RECOVERY_TIMEOUT=2\n"),
        &["--sandbox", "off"],
    );
    let marker = up.dir.path().join("fail-marker");
    let counter = up.dir.path().join("calls.txt");
    let calls = || {
        std::fs::read_to_string(&counter)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let state = |metrics: &str| {
        sample(
            metrics,
            r#"esb_circuit_breaker_state{function="FlakyFunction"}"#,
        )
    };
    let open = |metrics: &str| {
        sample(
            metrics,
            r#"esb_circuit_breaker_open{function="FlakyFunction"}"#,
        )
    };
    let internal = r#"{"message":"Internal server error"}"#;

    std::fs::write(&marker, "fail").expect("marker");
    for attempt in 1..=2 {
        let failed = up.get("/flaky");
        assert_eq!(
            (failed.status, failed.text().as_str()),
            (502, internal),
            "failure {attempt}"
        );
        assert_eq!(calls(), attempt, "the function ran");
        if attempt == 1 {
            let metrics = up.metrics();
            assert_eq!(state(&metrics).as_deref(), Some("0"), "closed: {metrics}");
        }
    }
    let metrics = up.metrics();
    assert_eq!(state(&metrics).as_deref(), Some("1"), "open: {metrics}");
    assert_eq!(open(&metrics).as_deref(), Some("1"), "{metrics}");

    // Open: refused at once, without invoking the function.
    let refused = up.get("/flaky");
    assert_eq!((refused.status, refused.text().as_str()), (502, internal));
    assert!(
        refused.elapsed < Duration::from_millis(200),
        "an open breaker answers fast: {:?}",
        refused.elapsed
    );
    assert_eq!(calls(), 2, "the open breaker did not invoke the function");

    // The function is fixed; after the recovery timeout the next request is the probe.
    std::fs::remove_file(&marker).expect("remove marker");
    std::thread::sleep(Duration::from_millis(2500));
    let metrics = up.metrics();
    assert_eq!(
        state(&metrics).as_deref(),
        Some("2"),
        "half-open: {metrics}"
    );
    assert_eq!(open(&metrics).as_deref(), Some("0"), "{metrics}");
    let probe = up.get("/flaky");
    assert_eq!(probe.status, 200, "{}", probe.text());
    assert_eq!(calls(), 3, "the probe reached the function");
    let metrics = up.metrics();
    assert_eq!(state(&metrics).as_deref(), Some("0"), "closed: {metrics}");
    for _ in 0..2 {
        assert_eq!(up.get("/flaky").status, 200);
    }
    assert_eq!(calls(), 5);

    let metrics = up.metrics();
    for (series, value) in [
        (
            r#"esb_invocation_errors_total{function="FlakyFunction",type="function_error"}"#,
            "2",
        ),
        (
            r#"esb_invocation_errors_total{function="FlakyFunction",type="circuit_open"}"#,
            "1",
        ),
        (r#"esb_invocations_total{function="FlakyFunction"}"#, "5"),
    ] {
        assert_eq!(
            sample(&metrics, series).as_deref(),
            Some(value),
            "{series}: {metrics}"
        );
    }
}
