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

/// Writes a raw HTTP/1.1 request head on a fresh connection.
async fn raw_stream_post(addr: SocketAddr, id: &str) -> TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: text/plain\r\n\
         lambda-runtime-function-response-mode: streaming\r\ntransfer-encoding: chunked\r\n\
         trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n",
        response_path(id)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

async fn raw_chunk(stream: &mut TcpStream, data: &str) {
    use tokio::io::AsyncWriteExt;
    let chunk = format!("{:x}\r\n{data}\r\n", data.len());
    stream.write_all(chunk.as_bytes()).await.unwrap();
}

/// Reads the status line of the reply.
async fn raw_status(stream: &mut TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn streamed_response_flows_chunk_by_chunk() {
    use tokio::io::AsyncWriteExt;
    let api = start().await;
    let addr = api.local_addr();
    let (step_tx, mut step_rx) = tokio::sync::mpsc::channel::<()>(1);
    let worker = tokio::spawn(async move {
        get_next(addr).await;
        let mut stream = raw_stream_post(addr, "req-s").await;
        raw_chunk(&mut stream, "hello ").await;
        // Wait until the reader saw the first chunk: the body is not buffered.
        step_rx.recv().await.unwrap();
        raw_chunk(&mut stream, "world").await;
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        raw_status(&mut stream).await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-s")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Streaming {
        content_type,
        mut stream,
    } = outcome
    else {
        panic!("expected a stream, got {outcome:?}");
    };
    assert_eq!(content_type.as_deref(), Some("text/plain"));
    let first = timeout(LIMIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, Bytes::from_static(b"hello "));
    step_tx.send(()).await.unwrap();
    let rest = timeout(LIMIT, stream.collect()).await.unwrap().unwrap();
    assert_eq!(rest, Bytes::from_static(b"world"));
    let status = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert!(status.contains("202"), "{status}");
    // The invocation is answered: a second answer is refused.
    let again = post(addr, &response_path("req-s"), &[], "x").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn streamed_response_with_error_trailers_ends_in_error() {
    use tokio::io::AsyncWriteExt;
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        get_next(addr).await;
        let mut stream = raw_stream_post(addr, "req-t").await;
        raw_chunk(&mut stream, "partial").await;
        // base64 of {"errorMessage":"boom"}
        stream
            .write_all(
                b"0\r\nLambda-Runtime-Function-Error-Type: Runtime.Unhandled\r\n\
                  Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=\r\n\r\n",
            )
            .await
            .unwrap();
        raw_status(&mut stream).await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-t")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Streaming { mut stream, .. } = outcome else {
        panic!("expected a stream, got {outcome:?}");
    };
    let first = timeout(LIMIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, Bytes::from_static(b"partial"));
    let error = timeout(LIMIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.error_type, "Runtime.Unhandled");
    assert_eq!(error.message, r#"{"errorMessage":"boom"}"#);
    assert!(stream.next().await.is_none());
    let status = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert!(status.contains("202"), "{status}");
}

#[tokio::test]
async fn streamed_response_cut_off_ends_in_error() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        get_next(addr).await;
        let mut stream = raw_stream_post(addr, "req-c").await;
        raw_chunk(&mut stream, "partial").await;
        // The runtime dies: the connection closes mid-body.
        drop(stream);
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-c")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Streaming { stream, .. } = outcome else {
        panic!("expected a stream, got {outcome:?}");
    };
    let error = timeout(LIMIT, stream.collect()).await.unwrap().unwrap_err();
    assert_eq!(error.error_type, "Runtime.TruncatedResponse");
    timeout(LIMIT, worker).await.unwrap().unwrap();
}

const REGISTER: &str = "/2020-01-01/extension/register";
const EVENT_NEXT: &str = "/2020-01-01/extension/event/next";

async fn register(addr: SocketAddr, name: &str, events: &'static str) -> Reply {
    post(addr, REGISTER, &[("lambda-extension-name", name)], events).await
}

#[tokio::test]
async fn extensions_register_gate_init_and_receive_invoke() {
    use super::{ExtensionEvent, FunctionInfo};
    let api = start().await;
    let addr = api.local_addr();
    api.expect_extensions(
        1,
        FunctionInfo {
            function_name: "f".into(),
            function_version: "$LATEST".into(),
            handler: "app.handler".into(),
        },
    );
    let missing = post(addr, REGISTER, &[], r#"{"events":["INVOKE"]}"#).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let reply = register(addr, "ext", r#"{"events":["INVOKE","SHUTDOWN"]}"#).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        serde_json::json!({"functionName":"f","functionVersion":"$LATEST","handler":"app.handler"})
    );
    let id = reply
        .header("lambda-extension-identifier")
        .unwrap()
        .to_owned();
    let again = register(addr, "ext", r#"{"events":["INVOKE","SHUTDOWN"]}"#).await;
    assert_eq!(
        again.header("lambda-extension-identifier"),
        Some(id.as_str())
    );
    let unknown = send(
        addr,
        "GET",
        EVENT_NEXT,
        &[("lambda-extension-identifier", "nope")],
        Bytes::new(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);

    // The runtime is ready, but init is not over until the extension waits for events.
    let runtime = tokio::spawn(async move {
        let next = get_next(addr).await;
        post(addr, &response_path("req-x"), &[], "ok").await;
        next
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        timeout(Duration::from_millis(100), api.ready())
            .await
            .is_err()
    );
    let extension = tokio::spawn({
        let id = id.clone();
        async move {
            let headers = [("lambda-extension-identifier", id.as_str())];
            send(addr, "GET", EVENT_NEXT, &headers, Bytes::new()).await
        }
    });
    timeout(LIMIT, api.ready()).await.unwrap();
    assert!(!api.init_failed());
    let late = register(addr, "late", r#"{"events":["INVOKE"]}"#).await;
    assert_eq!(late.status, StatusCode::FORBIDDEN);

    let outcome = timeout(LIMIT, api.invoke(invocation("req-x")))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, InvocationOutcome::Response { .. }));
    timeout(LIMIT, runtime).await.unwrap().unwrap();
    let event = timeout(LIMIT, extension).await.unwrap().unwrap();
    assert_eq!(event.status, StatusCode::OK);
    let event = event.json();
    assert_eq!(event["eventType"], "INVOKE");
    assert_eq!(event["requestId"], "req-x");
    assert_eq!(event["deadlineMs"], 1_700_000_000_123u64);
    assert_eq!(
        event["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:f"
    );
    assert_eq!(event["tracing"]["type"], "X-Amzn-Trace-Id");
    // Not idle until the extension asks for the next event again.
    assert!(
        timeout(
            Duration::from_millis(100),
            api.extensions_idle(ExtensionEvent::Invoke)
        )
        .await
        .is_err()
    );
    let waiting = tokio::spawn(async move {
        let headers = [("lambda-extension-identifier", id.as_str())];
        send(addr, "GET", EVENT_NEXT, &headers, Bytes::new()).await
    });
    timeout(LIMIT, api.extensions_idle(ExtensionEvent::Invoke))
        .await
        .unwrap();
    api.shutdown_extensions(super::ShutdownReason::Spindown, 42);
    let shutdown = timeout(LIMIT, waiting).await.unwrap().unwrap().json();
    assert_eq!(
        shutdown,
        serde_json::json!({"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":42})
    );
}

#[tokio::test]
async fn extension_init_error_fails_the_environment() {
    let api = start().await;
    let addr = api.local_addr();
    api.expect_extensions(1, super::FunctionInfo::default());
    let id = register(addr, "ext", r#"{"events":[]}"#)
        .await
        .header("lambda-extension-identifier")
        .unwrap()
        .to_owned();
    let reply = post(
        addr,
        "/2020-01-01/extension/init/error",
        &[
            ("lambda-extension-identifier", id.as_str()),
            ("lambda-extension-function-error-type", "Extension.Broken"),
        ],
        r#"{"errorMessage":"bad config","errorType":"Extension.Broken"}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    timeout(LIMIT, api.ready()).await.unwrap();
    assert!(api.init_failed());
    assert!(api.extension_failed());
    let outcome = timeout(LIMIT, api.invoke(invocation("req-y")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::InitError { error_type, .. } = outcome else {
        panic!("expected the init error, got {outcome:?}");
    };
    assert_eq!(error_type.as_deref(), Some("Extension.Broken"));
}

#[tokio::test]
async fn streamed_response_over_twenty_megabytes_ends_in_size_error() {
    let api = start().await;
    let addr = api.local_addr();
    let worker = tokio::spawn(async move {
        get_next(addr).await;
        // Over the 6 MB buffered limit is fine for a stream; over 20 MB is not.
        let big = Bytes::from(vec![b'a'; super::MAX_STREAM_BYTES + 1]);
        let headers = [("lambda-runtime-function-response-mode", "streaming")];
        send(addr, "POST", &response_path("req-big"), &headers, big).await
    });
    let outcome = timeout(LIMIT, api.invoke(invocation("req-big")))
        .await
        .unwrap()
        .unwrap();
    let InvocationOutcome::Streaming { mut stream, .. } = outcome else {
        panic!("expected a stream, got {outcome:?}");
    };
    let mut received = 0usize;
    let error = loop {
        match timeout(LIMIT, stream.next()).await.unwrap() {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(error)) => break error,
            None => panic!("the stream ended without an error"),
        }
    };
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    assert!(received > MAX_RESPONSE_BYTES && received <= super::MAX_STREAM_BYTES);
    let reply = timeout(LIMIT, worker).await.unwrap().unwrap();
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}
