//! Round-trip tests over a real socket with a small hyper HTTP/1.1 client.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{Invocation, InvocationOutcome, MAX_RESPONSE_BYTES, RuntimeApi};

const LIMIT: Duration = Duration::from_secs(20);
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

async fn start() -> RuntimeApi {
    RuntimeApi::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn invocation(id: &str) -> Invocation {
    Invocation {
        request_id: id.to_owned(),
        payload: Bytes::from_static(br#"{"hello":"world"}"#),
        deadline_ms: 1_700_000_000_123,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
        trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned()),
        client_context: None,
        cognito_identity: None,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sender
        .send_request(builder.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get_next(addr: SocketAddr) -> Reply {
    send(addr, "GET", NEXT, &[], Bytes::new()).await
}

async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &'static str) -> Reply {
    send(
        addr,
        "POST",
        path,
        headers,
        Bytes::from_static(body.as_bytes()),
    )
    .await
}

fn response_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/response")
}

fn error_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/error")
}

#[tokio::test]
async fn success_round_trip_sets_every_header() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        let next = get_next(addr).await;
        let reply = post(
            addr,
            &response_path("req-1"),
            &[("content-type", "text/plain")],
            "done",
        )
        .await;
        (next, reply)
    });
    let mut inv = invocation("req-1");
    inv.client_context = Some(r#"{"custom":{"a":1}}"#.to_owned());
    inv.cognito_identity = Some(r#"{"cognitoIdentityId":"id"}"#.to_owned());
    let outcome = timeout(LIMIT, api.invoke(inv)).await.unwrap().unwrap();
    assert_eq!(
        outcome,
        InvocationOutcome::Response {
            body: Bytes::from_static(b"done"),
            content_type: Some("text/plain".to_owned()),
        }
    );
    let (next, reply) = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(next.body, Bytes::from_static(br#"{"hello":"world"}"#));
    assert_eq!(next.header("lambda-runtime-aws-request-id"), Some("req-1"));
    assert_eq!(
        next.header("lambda-runtime-deadline-ms"),
        Some("1700000000123")
    );
    assert_eq!(
        next.header("lambda-runtime-invoked-function-arn"),
        Some("arn:aws:lambda:us-east-1:000000000000:function:f")
    );
    assert_eq!(
        next.header("lambda-runtime-trace-id"),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    );
    assert_eq!(
        next.header("lambda-runtime-client-context"),
        Some(r#"{"custom":{"a":1}}"#)
    );
    assert_eq!(
        next.header("lambda-runtime-cognito-identity"),
        Some(r#"{"cognitoIdentityId":"id"}"#)
    );
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json(), serde_json::json!({"status": "OK"}));
    api.shutdown().await;
}

#[tokio::test]
async fn error_round_trip_carries_error_type() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        let next = get_next(addr).await;
        assert_eq!(next.status, StatusCode::OK);
        post(
            addr,
            &error_path("req-e"),
            &[("lambda-runtime-function-error-type", "Runtime.Unhandled")],
            r#"{"errorMessage":"boom","errorType":"Error"}"#,
        )
        .await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-e")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        InvocationOutcome::Error {
            error_type: Some("Runtime.Unhandled".to_owned()),
            body: Bytes::from_static(br#"{"errorMessage":"boom","errorType":"Error"}"#),
        }
    );
    let reply = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn wrong_id_is_400_and_second_answer_is_403() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        let next = get_next(addr).await;
        assert_eq!(next.status, StatusCode::OK);
        let wrong = post(addr, &response_path("nope"), &[], "x").await;
        let first = post(addr, &response_path("req-2"), &[], "ok").await;
        let second = post(addr, &response_path("req-2"), &[], "again").await;
        let second_error = post(addr, &error_path("req-2"), &[], "{}").await;
        (wrong, first, second, second_error)
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-2")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        InvocationOutcome::Response {
            body: Bytes::from_static(b"ok"),
            content_type: None,
        }
    );
    let (wrong, first, second, second_error) = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json()["errorType"], "InvalidRequestID");
    assert!(wrong.json()["errorMessage"].is_string());
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(second.status, StatusCode::FORBIDDEN);
    assert_eq!(second.json()["errorType"], "InvalidStateTransition");
    assert_eq!(second_error.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn client_context_and_identity_only_when_valid_json() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        let next = get_next(addr).await;
        post(addr, &response_path("req-3"), &[], "ok").await;
        next
    });
    let mut inv = invocation("req-3");
    inv.client_context = Some("not json".to_owned());
    inv.cognito_identity = Some("{broken".to_owned());
    inv.trace_id = None;
    timeout(LIMIT, api.invoke(inv)).await.unwrap().unwrap();
    let next = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(next.header("lambda-runtime-aws-request-id"), Some("req-3"));
    assert_eq!(next.header("lambda-runtime-client-context"), None);
    assert_eq!(next.header("lambda-runtime-cognito-identity"), None);
    assert_eq!(next.header("lambda-runtime-trace-id"), None);
}

#[tokio::test]
async fn oversize_response_is_413_and_completes_as_size_error() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        let next = get_next(addr).await;
        assert_eq!(next.status, StatusCode::OK);
        let big = Bytes::from(vec![b'a'; MAX_RESPONSE_BYTES + 1]);
        send(addr, "POST", &response_path("req-4"), &[], big).await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-4")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Error { error_type, body } = outcome else {
        panic!("expected an error outcome, got {outcome:?}");
    };
    assert_eq!(error_type.as_deref(), Some("Function.ResponseSizeTooLarge"));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errorType"], "Function.ResponseSizeTooLarge");
    let reply = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["errorType"], "RequestEntityTooLarge");
    assert!(reply.json()["errorMessage"].is_string());
}

#[tokio::test]
async fn response_at_exact_limit_is_accepted() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        get_next(addr).await;
        let body = Bytes::from(vec![b'a'; MAX_RESPONSE_BYTES]);
        send(addr, "POST", &response_path("req-5"), &[], body).await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-5")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Response { body, .. } = outcome else {
        panic!("expected a response outcome, got {outcome:?}");
    };
    assert_eq!(body.len(), MAX_RESPONSE_BYTES);
    let reply = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn init_error_completes_pending_and_later_invocations() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        // Let the invocation queue up first, as when the runtime dies during init.
        tokio::time::sleep(Duration::from_millis(100)).await;
        post(
            addr,
            "/2018-06-01/runtime/init/error",
            &[(
                "lambda-runtime-function-error-type",
                "Runtime.ImportModuleError",
            )],
            r#"{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}"#,
        )
        .await
    });
    let expected = InvocationOutcome::InitError {
        error_type: Some("Runtime.ImportModuleError".to_owned()),
        body: Bytes::from_static(
            br#"{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}"#,
        ),
    };
    let outcome = timeout(LIMIT, api.invoke(invocation("req-6")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, expected);
    let reply = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json(), serde_json::json!({"status": "OK"}));
    let later = timeout(LIMIT, api.invoke(invocation("req-7")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later, expected);
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let api = start().await;
    let addr = api.local_addr();
    for (method, path) in [
        ("GET", "/2018-06-01/runtime/invocation/x/response"),
        ("POST", "/2018-06-01/runtime/invocation/x/other"),
        ("GET", "/nope"),
        ("POST", NEXT),
    ] {
        let reply = timeout(LIMIT, send(addr, method, path, &[], Bytes::new()))
            .await
            .unwrap();
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(reply.json()["errorType"], "NotFound");
    }
}

#[tokio::test]
async fn sequential_invocations_reuse_the_worker() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        for _ in 0..3 {
            let next = get_next(addr).await;
            let id = next
                .header("lambda-runtime-aws-request-id")
                .unwrap()
                .to_owned();
            let reply = send(addr, "POST", &response_path(&id), &[], next.body.clone()).await;
            assert_eq!(reply.status, StatusCode::ACCEPTED);
        }
    });
    for i in 0..3 {
        let mut inv = invocation(&format!("seq-{i}"));
        inv.payload = Bytes::from(format!("{i}"));
        let outcome = timeout(LIMIT, api.invoke(inv)).await.unwrap().unwrap();
        assert_eq!(
            outcome,
            InvocationOutcome::Response {
                body: Bytes::from(format!("{i}")),
                content_type: None,
            }
        );
    }
    timeout(LIMIT, worker).await.unwrap().unwrap();
}

#[tokio::test]
async fn invalid_request_id_is_refused_without_panicking() {
    let api = start().await;
    let mut inv = invocation("bad\nid");
    inv.request_id = "bad\nid".to_owned();
    let result = timeout(LIMIT, api.invoke(inv)).await.unwrap();
    assert!(result.is_err());
}

#[tokio::test]
async fn shutdown_closes_the_listener_and_pending_next() {
    let api = start().await;
    let addr = api.local_addr();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = Request::get(NEXT)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let pending = tokio::spawn(sender.send_request(request));
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeout(LIMIT, api.shutdown()).await.unwrap();
    // The blocked GET /next ends with a closed connection, not a hang.
    assert!(timeout(LIMIT, pending).await.unwrap().unwrap().is_err());
    assert!(TcpStream::connect(addr).await.is_err());
}
