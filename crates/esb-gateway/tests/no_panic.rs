//! Property: no method, path, header, body, routing table or function output panics the
//! router, the event builders or the response mappers.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use esb_gateway::{
    RouteMatch, Router, http_api_event, http_api_response, rest_event, rest_response,
};
use esb_model::RouteKind;
use http::Method;
use proptest::prelude::*;
use serde_json::{Value, json};

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::DELETE),
        "[A-Za-z!#$%&'*+.^_|~-]{1,12}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("items".to_owned()),
        Just("Prod".to_owned()),
        Just("..".to_owned()),
        Just("{id}".to_owned()),
        Just("{proxy+}".to_owned()),
        "[A-Za-z0-9%._~{}+-]{0,8}",
        "%[0-9A-Fa-f]{0,2}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..6).prop_map(|segments| format!("/{}", segments.join("/")))
}

fn any_text_path() -> impl Strategy<Value = String> {
    prop_oneof![path(), any::<String>()]
}

fn template() -> impl Strategy<Value = String> {
    prop_oneof![Just("$default".to_owned()), path(), any::<String>()]
}

fn routes() -> impl Strategy<Value = Vec<(String, String, u8)>> {
    prop::collection::vec(
        (
            prop_oneof![Just("ANY".to_owned()), Just("GET".to_owned()), "[ -~]{0,6}"],
            template(),
            0u8..3,
        ),
        0..8,
    )
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("content-type".to_owned()),
        Just("cookie".to_owned()),
        Just("user-agent".to_owned()),
        Just("host".to_owned()),
        "[a-z][a-z0-9-]{0,10}",
    ];
    let value = prop_oneof![
        Just(b"image/png".to_vec()),
        Just(b"application/json; charset=utf-8".to_vec()),
        Just(b"a=1; b=2;; ;c".to_vec()),
        prop::collection::vec(any::<u8>(), 0..20),
    ];
    prop::collection::vec((name, value), 0..6)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Outputs shaped like proxy responses, with every field possibly wrong.
fn proxy_output() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![scalar(), (0u16..1000).prop_map(|n| json!(n))],
        prop::collection::btree_map("[ -~]{0,8}", json_value(), 0..4),
        prop::collection::btree_map("[ -~]{0,8}", json_value(), 0..3),
        json_value(),
        json_value(),
        json_value(),
    )
        .prop_map(|(status, headers, multi, cookies, body, base64)| {
            let value = json!({
                "statusCode": status,
                "headers": headers,
                "multiValueHeaders": multi,
                "cookies": cookies,
                "body": body,
                "isBase64Encoded": base64,
            });
            serde_json::to_vec(&value).unwrap()
        })
}

fn function_output() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        proxy_output(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn router_never_panics(extra in routes(), m in method(), p in any_text_path()) {
        let mut routing = common::routing_with_default();
        for (method, path, kind) in extra {
            let kind = match kind { 0 => RouteKind::Rest, 1 => RouteKind::Http, _ => RouteKind::Url };
            let api = if kind == RouteKind::Rest { common::REST } else { common::HTTP };
            routing.routes.push(common::route(api, kind, &method, &path, "F"));
        }
        let router = Router::new(&routing);
        let _ = router.route(&m, &p);
    }

    #[test]
    fn event_builders_never_panic(
        m in method(),
        p in path(),
        query in "[A-Za-z0-9%=&+;,]{0,20}",
        hs in headers(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let uri = if query.is_empty() { p.clone() } else { format!("{p}?{query}") };
        let mut builder = http::Request::builder().method(m.clone()).uri(uri);
        for (name, value) in &hs {
            if let Ok(value) = http::HeaderValue::from_bytes(value) {
                builder = builder.header(name.as_str(), value);
            }
        }
        let Ok(request) = builder.body(Bytes::from(body)) else {
            return Ok(());
        };
        let router = Router::new(&common::routing_with_default());
        let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
            return Err(TestCaseError::fail("$default should catch everything"));
        };
        let rest = rest_event(&request, &hit, &common::context(common::REST, "Prod"));
        let http = http_api_event(&request, &hit, &common::context(common::HTTP, "$default"));
        prop_assert!(serde_json::to_vec(&rest).is_ok());
        prop_assert!(serde_json::to_vec(&http).is_ok());
    }

    #[test]
    fn response_mappers_never_panic(output in function_output()) {
        for result in [rest_response(&output, true), rest_response(&output, false), http_api_response(&output)] {
            if let Err(error) = result {
                prop_assert_eq!(error.response().status(), http::StatusCode::BAD_GATEWAY);
            }
        }
    }
}
