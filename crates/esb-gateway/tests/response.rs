//! Function output → HTTP response: payload format 1.0 (REST) and 2.0 (HTTP API), including
//! every malformed output, which must become API Gateway's 502.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use esb_gateway::{ResponseError, http_api_response, rest_response};
use http::{Response, StatusCode};

fn values(response: &Response<Bytes>, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn assert_bad_gateway(error: &ResponseError) {
    let response = error.response();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(values(&response, "content-type"), ["application/json"]);
    assert_eq!(
        response.body().as_ref(),
        br#"{"message":"Internal server error"}"#
    );
}

#[test]
fn rest_maps_status_headers_and_body() {
    let response = rest_response(
        br#"{"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Count": 3, "X-On": true},
            "body": "created", "isBase64Encoded": false}"#,
        true,
    )
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(values(&response, "content-type"), ["text/plain"]);
    assert_eq!(values(&response, "x-count"), ["3"]);
    assert_eq!(values(&response, "x-on"), ["true"]);
    assert_eq!(response.body().as_ref(), b"created");
}

#[test]
fn rest_merges_multi_value_headers() {
    let response = rest_response(
        br#"{"statusCode": 200,
            "headers": {"X-A": "1", "X-B": "solo", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"x-a": ["1", "2"], "Set-Cookie": ["b=2", "c=3"]}}"#,
        true,
    )
    .unwrap();
    // A pair given in both appears once; other values are merged.
    assert_eq!(values(&response, "x-a"), ["1", "2"]);
    assert_eq!(values(&response, "x-b"), ["solo"]);
    assert_eq!(values(&response, "set-cookie"), ["b=2", "c=3", "a=1"]);
    // No content type given: application/json, as API Gateway does.
    assert_eq!(values(&response, "content-type"), ["application/json"]);
    assert!(response.body().is_empty());
}

#[test]
fn rest_decodes_base64_bodies() {
    let response = rest_response(
        br#"{"statusCode": 200, "body": "iVBORwD/", "isBase64Encoded": true}"#,
        true,
    )
    .unwrap();
    assert_eq!(response.body().as_ref(), [0x89, b'P', b'N', b'G', 0, 0xff]);
    // Unpadded and line-wrapped base64 (Python's encodebytes) are accepted too.
    let response = rest_response(
        b"{\"statusCode\": 200, \"body\": \"aGVs\\nbG8\", \"isBase64Encoded\": true}",
        true,
    )
    .unwrap();
    assert_eq!(response.body().as_ref(), b"hello");
}

#[test]
fn rest_treats_null_fields_as_absent() {
    let response = rest_response(
        br#"{"statusCode": 404, "headers": null, "multiValueHeaders": null, "body": null,
            "isBase64Encoded": null, "extra": [1]}"#,
        true,
    )
    .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.body().is_empty());
}

const MALFORMED: &[&[u8]] = &[
    b"",
    b"not json",
    b"\xff\xfe",
    br#""a string""#,
    b"42",
    b"null",
    b"[1,2]",
    br#"{}"#,
    br#"{"body": "no status"}"#,
    br#"{"statusCode": "200"}"#,
    br#"{"statusCode": 200.5}"#,
    br#"{"statusCode": -1}"#,
    br#"{"statusCode": 99}"#,
    br#"{"statusCode": 600}"#,
    br#"{"statusCode": 70000}"#,
    br#"{"statusCode": null}"#,
    br#"{"statusCode": 200, "headers": []}"#,
    br#"{"statusCode": 200, "headers": "x"}"#,
    br#"{"statusCode": 200, "headers": {"X-A": {"nested": 1}}}"#,
    br#"{"statusCode": 200, "headers": {"X-A": ["1"]}}"#,
    br#"{"statusCode": 200, "headers": {"X-A": null}}"#,
    br#"{"statusCode": 200, "headers": {"bad name": "1"}}"#,
    br#"{"statusCode": 200, "headers": {"": "1"}}"#,
    br#"{"statusCode": 200, "headers": {"X-A": "line\nbreak"}}"#,
    br#"{"statusCode": 200, "multiValueHeaders": {"X-A": "1"}}"#,
    br#"{"statusCode": 200, "multiValueHeaders": {"X-A": [{}]}}"#,
    br#"{"statusCode": 200, "multiValueHeaders": []}"#,
    br#"{"statusCode": 200, "body": 5}"#,
    br#"{"statusCode": 200, "body": {"a": 1}}"#,
    br#"{"statusCode": 200, "isBase64Encoded": "true"}"#,
    br#"{"statusCode": 200, "body": "not base64!", "isBase64Encoded": true}"#,
];

#[test]
fn rest_malformed_output_is_a_502() {
    for output in MALFORMED {
        let error = rest_response(output, true).expect_err(&String::from_utf8_lossy(output));
        assert_bad_gateway(&error);
    }
}

#[test]
fn http_api_malformed_structured_output_is_a_502() {
    for output in MALFORMED {
        // Valid JSON without statusCode is the simplified form, not an error.
        let simplified = serde_json::from_slice::<serde_json::Value>(output)
            .is_ok_and(|v| v.get("statusCode").is_none());
        // Format 2.0 ignores multiValueHeaders.
        let multi = String::from_utf8_lossy(output).contains("multiValueHeaders");
        if simplified || multi {
            continue;
        }
        let error = http_api_response(output).expect_err(&String::from_utf8_lossy(output));
        assert_bad_gateway(&error);
    }
    for output in [
        &br#"{"statusCode": 200, "cookies": "a=1"}"#[..],
        br#"{"statusCode": 200, "cookies": [1]}"#,
        br#"{"statusCode": 200, "cookies": ["a=\u0001"]}"#,
    ] {
        let error = http_api_response(output).expect_err(&String::from_utf8_lossy(output));
        assert_bad_gateway(&error);
    }
}

#[test]
fn http_api_maps_cookies_to_set_cookie() {
    let response = http_api_response(
        br#"{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"],
            "headers": {"content-type": "text/html", "x-a": "1,2"}, "body": "<p>hi</p>"}"#,
    )
    .unwrap();
    assert_eq!(values(&response, "set-cookie"), ["a=1; Path=/", "b=2"]);
    assert_eq!(values(&response, "content-type"), ["text/html"]);
    assert_eq!(values(&response, "x-a"), ["1,2"]);
    assert_eq!(response.body().as_ref(), b"<p>hi</p>");
}

#[test]
fn http_api_decodes_base64_and_ignores_multi_value_headers() {
    let response = http_api_response(
        br#"{"statusCode": 202, "body": "aGk=", "isBase64Encoded": true,
            "multiValueHeaders": {"x-a": ["1"]}}"#,
    )
    .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.body().as_ref(), b"hi");
    assert!(response.headers().get("x-a").is_none());
}

#[test]
fn http_api_infers_the_simplified_form() {
    for output in [
        &br#""hello""#[..],
        b"42",
        b"true",
        b"null",
        b"[1, 2]",
        br#"{"message": "hi", "body": "not used"}"#,
        b" { } ",
    ] {
        let response = http_api_response(output).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(values(&response, "content-type"), ["application/json"]);
        assert_eq!(response.body().as_ref(), output);
    }
}

#[test]
fn http_api_non_json_output_is_a_502() {
    for output in [&b""[..], b"hello", b"{", b"\xff"] {
        assert!(matches!(
            http_api_response(output),
            Err(ResponseError::NotJson(_))
        ));
    }
}

#[test]
fn rest_keeps_base64_text_when_the_client_did_not_accept_binary() {
    let output = br#"{"statusCode": 200, "body": "aGVsbG8=", "isBase64Encoded": true}"#;
    let response = rest_response(output, false).unwrap();
    assert_eq!(response.body().as_ref(), b"aGVsbG8=");
    let response = rest_response(output, true).unwrap();
    assert_eq!(response.body().as_ref(), b"hello");
}

/// A function's own framing and connection headers would cut or hang the response (a short
/// `Content-Length` starts the next keep-alive response inside this body): REST APIs remap
/// them to `x-amzn-Remapped-*`, HTTP APIs drop them, and the server frames the body itself.
#[test]
fn connection_and_framing_headers_from_the_function_never_pass_through() {
    let output = br#"{"statusCode": 200, "body": "hello world",
        "headers": {"Content-Length": "5", "Transfer-Encoding": "chunked", "Connection": "close",
                    "Keep-Alive": "timeout=1", "Upgrade": "h2c", "X-Kept": "yes"},
        "multiValueHeaders": {"content-length": ["5"], "TE": ["trailers"]}}"#;
    let rest = rest_response(output, true).unwrap();
    let http = http_api_response(output).unwrap();
    for hop in [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
    ] {
        assert!(values(&rest, hop).is_empty(), "REST passed {hop}");
        assert!(values(&http, hop).is_empty(), "HTTP API passed {hop}");
    }
    assert_eq!(values(&rest, "x-amzn-remapped-content-length"), ["5"]);
    assert_eq!(values(&rest, "x-amzn-remapped-connection"), ["close"]);
    assert_eq!(values(&rest, "x-amzn-remapped-te"), ["trailers"]);
    for response in [&rest, &http] {
        assert_eq!(values(response, "x-kept"), ["yes"]);
        assert_eq!(response.body().as_ref(), b"hello world");
    }
}
