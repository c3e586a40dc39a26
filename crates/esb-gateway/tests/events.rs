//! The events we build, read back with the `aws_lambda_events` crate the way a Rust function
//! would: REST payload format 1.0 and HTTP API payload format 2.0.

#![allow(clippy::unwrap_used)]

mod common;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use esb_gateway::{RouteMatch, Router, http_api_event, rest_event};
use serde_json::{Value, json};

fn rest_json(request: &http::Request<bytes::Bytes>, router: &Router) -> Value {
    let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
        panic!("no route for {}", request.uri());
    };
    let event = rest_event(request, &hit, &common::context(common::REST, "Prod"));
    serde_json::to_value(&event).unwrap()
}

fn http_json(request: &http::Request<bytes::Bytes>, router: &Router) -> Value {
    let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
        panic!("no route for {}", request.uri());
    };
    let event = http_api_event(request, &hit, &common::context(common::HTTP, "$default"));
    serde_json::to_value(&event).unwrap()
}

#[test]
fn rest_event_carries_headers_query_and_path_parameters() {
    let router = Router::new(&common::routing());
    let request = common::request(
        "GET",
        "/Prod/users/u%201/orders/o2?a=1&a=2&b=x%20y&flag",
        &[
            ("Host", "localhost:8443"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
        ],
        b"",
    );
    let json = rest_json(&request, &router);
    let event: ApiGatewayProxyRequest = serde_json::from_value(json.clone()).unwrap();

    assert_eq!(
        event.resource.as_deref(),
        Some("/users/{userId}/orders/{orderId}")
    );
    assert_eq!(event.path.as_deref(), Some("/users/u%201/orders/o2"));
    assert_eq!(event.http_method, http::Method::GET);
    assert_eq!(event.headers["x-multi"], "two");
    let multi: Vec<_> = event
        .multi_value_headers
        .get_all("x-multi")
        .iter()
        .collect();
    assert_eq!(multi, ["one", "two"]);
    assert_eq!(event.query_string_parameters.first("a"), Some("2"));
    assert_eq!(
        event.multi_value_query_string_parameters.all("a"),
        Some(vec!["1", "2"])
    );
    assert_eq!(event.query_string_parameters.first("b"), Some("x y"));
    assert_eq!(event.query_string_parameters.first("flag"), Some(""));
    assert_eq!(event.path_parameters["userId"], "u 1");
    assert_eq!(event.path_parameters["orderId"], "o2");
    assert!(event.body.is_none());
    assert!(!event.is_base64_encoded);

    let ctx = &event.request_context;
    assert_eq!(ctx.account_id.as_deref(), Some("123456789012"));
    assert_eq!(ctx.apiid.as_deref(), Some(common::REST));
    assert_eq!(ctx.stage.as_deref(), Some("Prod"));
    assert_eq!(ctx.path.as_deref(), Some("/Prod/users/u%201/orders/o2"));
    assert_eq!(
        ctx.resource_path.as_deref(),
        Some("/users/{userId}/orders/{orderId}")
    );
    assert_eq!(ctx.request_id.as_deref(), Some("req-1"));
    assert_eq!(ctx.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(
        ctx.request_time.as_deref(),
        Some("09/Apr/2015:12:34:56 +0000")
    );
    assert_eq!(ctx.request_time_epoch, 1_428_582_896_789);
    assert_eq!(ctx.identity.source_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(ctx.identity.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(ctx.http_method, http::Method::GET);

    // Absent values are explicit nulls in format 1.0.
    assert_eq!(json["stageVariables"], Value::Null);
    assert_eq!(json["body"], Value::Null);
    assert_eq!(json["requestContext"]["identity"]["caller"], Value::Null);
    assert!(json["requestContext"].get("authorizer").is_none());
    assert_eq!(json["requestContext"]["domainPrefix"], "localhost");
}

#[test]
fn rest_event_nulls_when_no_query_or_path_parameters() {
    let router = Router::new(&common::routing());
    let json = rest_json(&common::request("GET", "/items", &[], b""), &router);
    assert_eq!(json["queryStringParameters"], Value::Null);
    assert_eq!(json["multiValueQueryStringParameters"], Value::Null);
    assert_eq!(json["pathParameters"], Value::Null);
    assert_eq!(json["requestContext"]["path"], "/Prod/items");
    let event: ApiGatewayProxyRequest = serde_json::from_value(json).unwrap();
    assert!(event.path_parameters.is_empty());
}

#[test]
fn rest_event_base64_encodes_binary_media_types_only() {
    let router = Router::new(&common::routing());
    let png = [0x89, b'P', b'N', b'G', 0, 0xff];
    let json = rest_json(
        &common::request("POST", "/items", &[("Content-Type", "image/png")], &png),
        &router,
    );
    let event: ApiGatewayProxyRequest = serde_json::from_value(json).unwrap();
    assert!(event.is_base64_encoded);
    assert_eq!(event.body.as_deref(), Some("iVBORwD/"));

    // `application~1octet-stream` in the template means application/octet-stream.
    let json = rest_json(
        &common::request(
            "POST",
            "/items",
            &[("Content-Type", "application/octet-stream")],
            b"abc",
        ),
        &router,
    );
    assert_eq!(json["body"], "YWJj");
    assert_eq!(json["isBase64Encoded"], true);

    let json = rest_json(
        &common::request(
            "POST",
            "/items",
            &[("Content-Type", "application/json")],
            br#"{"a":1}"#,
        ),
        &router,
    );
    assert_eq!(json["body"], r#"{"a":1}"#);
    assert_eq!(json["isBase64Encoded"], false);

    // Not a binary media type, but not UTF-8 either: base64 all the same.
    let json = rest_json(
        &common::request(
            "POST",
            "/items",
            &[("Content-Type", "text/plain")],
            &[0xc3, 0x28],
        ),
        &router,
    );
    assert_eq!(json["body"], "wyg=");
    assert_eq!(json["isBase64Encoded"], true);
}

#[test]
fn rest_event_carries_the_authorizer() {
    let router = Router::new(&common::routing());
    let request = common::request("GET", "/items", &[], b"");
    let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
        panic!("no route");
    };
    let mut ctx = common::context(common::REST, "Prod");
    ctx.authorizer = Some(json!({"claims": {"sub": "u1"}, "principalId": "u1"}));
    let json = serde_json::to_value(rest_event(&request, &hit, &ctx)).unwrap();
    assert_eq!(json["requestContext"]["authorizer"]["claims"]["sub"], "u1");
    let event: ApiGatewayProxyRequest = serde_json::from_value(json).unwrap();
    assert_eq!(event.request_context.authorizer.fields["principalId"], "u1");
}

#[test]
fn http_api_event_joins_headers_and_query_and_splits_cookies() {
    let router = Router::new(&common::routing());
    let request = common::request(
        "GET",
        "/hello/w%C3%B6rld?a=1&a=2&b=x%20y",
        &[
            ("Host", "api.example.com"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("Cookie", "c1=v1; c2=v2"),
            ("Cookie", "c3=v3"),
        ],
        b"",
    );
    let json = http_json(&request, &router);
    let event: ApiGatewayV2httpRequest = serde_json::from_value(json.clone()).unwrap();

    assert_eq!(event.version.as_deref(), Some("2.0"));
    assert_eq!(event.route_key.as_deref(), Some("GET /hello/{name}"));
    assert_eq!(event.raw_path.as_deref(), Some("/hello/w%C3%B6rld"));
    assert_eq!(event.raw_query_string.as_deref(), Some("a=1&a=2&b=x%20y"));
    assert_eq!(
        event.cookies,
        Some(vec![
            "c1=v1".to_owned(),
            "c2=v2".to_owned(),
            "c3=v3".to_owned()
        ])
    );
    assert_eq!(event.headers["x-multi"], "one,two");
    assert!(event.headers.get("cookie").is_none());
    // On the wire repeated values are comma-joined; aws_lambda_events splits them again.
    assert_eq!(json["queryStringParameters"]["a"], "1,2");
    assert_eq!(event.query_string_parameters.all("a"), Some(vec!["1", "2"]));
    assert_eq!(event.query_string_parameters.first("b"), Some("x y"));
    assert_eq!(event.path_parameters["name"], "wörld");
    assert!(event.body.is_none());
    assert!(!event.is_base64_encoded);

    let ctx = &event.request_context;
    assert_eq!(ctx.route_key.as_deref(), Some("GET /hello/{name}"));
    assert_eq!(ctx.stage.as_deref(), Some("$default"));
    assert_eq!(ctx.apiid.as_deref(), Some(common::HTTP));
    assert_eq!(ctx.domain_name.as_deref(), Some("localhost"));
    assert_eq!(ctx.time.as_deref(), Some("09/Apr/2015:12:34:56 +0000"));
    assert_eq!(ctx.time_epoch, 1_428_582_896_789);
    assert_eq!(ctx.http.method, http::Method::GET);
    assert_eq!(ctx.http.path.as_deref(), Some("/hello/w%C3%B6rld"));
    assert_eq!(ctx.http.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(ctx.http.source_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(ctx.http.user_agent.as_deref(), Some("curl/8"));

    assert!(json.get("body").is_none());
    assert!(json.get("stageVariables").is_none());
    assert!(json["requestContext"].get("authorizer").is_none());
}

#[test]
fn http_api_event_leaves_out_what_is_absent() {
    let router = Router::new(&common::routing_with_default());
    let json = http_json(
        &common::request("DELETE", "/anything/else", &[], b""),
        &router,
    );
    assert_eq!(json["routeKey"], "$default");
    assert_eq!(json["requestContext"]["routeKey"], "$default");
    assert_eq!(json["rawQueryString"], "");
    for absent in ["cookies", "queryStringParameters", "pathParameters", "body"] {
        assert!(json.get(absent).is_none(), "{absent}");
    }
    let event: ApiGatewayV2httpRequest = serde_json::from_value(json).unwrap();
    assert!(event.cookies.is_none());
    assert!(event.path_parameters.is_empty());
}

#[test]
fn http_api_event_base64_encodes_non_textual_bodies() {
    let router = Router::new(&common::routing());
    let cases: &[(Option<&str>, &[u8], &str, bool)] = &[
        (Some("application/json"), br#"{"a":1}"#, r#"{"a":1}"#, false),
        (Some("text/plain; charset=utf-8"), b"hi", "hi", false),
        (Some("application/vnd.api+json"), b"{}", "{}", false),
        (Some("application/octet-stream"), b"hi", "aGk=", true),
        (
            Some("application/x-www-form-urlencoded"),
            b"a=1",
            "YT0x",
            true,
        ),
        (None, b"hi", "aGk=", true),
        (Some("text/plain"), &[0xff], "/w==", true),
    ];
    for (content_type, body, expected, base64) in cases {
        let headers: Vec<(&str, &str)> = content_type
            .iter()
            .map(|ct| ("Content-Type", *ct))
            .collect();
        let request = common::request("POST", "/hello/x", &headers, body);
        let event: ApiGatewayV2httpRequest =
            serde_json::from_value(http_json(&request, &router)).unwrap();
        assert_eq!(event.body.as_deref(), Some(*expected), "{content_type:?}");
        assert_eq!(event.is_base64_encoded, *base64, "{content_type:?}");
    }
}

#[test]
fn http_api_event_carries_the_authorizer() {
    let router = Router::new(&common::routing());
    let request = common::request("GET", "/hello/x", &[], b"");
    let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
        panic!("no route");
    };
    let mut ctx = common::context(common::HTTP, "$default");
    ctx.authorizer = Some(json!({"jwt": {"claims": {"sub": "u1"}, "scopes": ["read"]}}));
    let json = serde_json::to_value(http_api_event(&request, &hit, &ctx)).unwrap();
    let event: ApiGatewayV2httpRequest = serde_json::from_value(json).unwrap();
    let jwt = event.request_context.authorizer.unwrap().jwt.unwrap();
    assert_eq!(jwt.claims["sub"], "u1");
    assert_eq!(jwt.scopes, Some(vec!["read".to_owned()]));
}

/// The event JSON for `request` on a one-API routing file: REST or HTTP by `api`'s kind.
fn event_on(api: esb_model::Api, routes: &[&str], request: &http::Request<bytes::Bytes>) -> Value {
    let kind = match api.kind {
        esb_model::ApiKind::Rest => esb_model::RouteKind::Rest,
        esb_model::ApiKind::Http => esb_model::RouteKind::Http,
    };
    let ctx = common::context(&api.logical_id, &api.stage_name);
    let routing = esb_model::artifacts::RoutingFile {
        routes: routes
            .iter()
            .map(|path| common::route(&api.logical_id, kind, "GET", path, "Fn"))
            .collect(),
        apis: vec![api],
        ..Default::default()
    };
    let router = Router::new(&routing);
    let RouteMatch::Matched(hit) = router.route(request.method(), request.uri().path()) else {
        panic!("no route for {}", request.uri());
    };
    let event = match kind {
        esb_model::RouteKind::Rest => serde_json::to_value(rest_event(request, &hit, &ctx)),
        _ => serde_json::to_value(http_api_event(request, &hit, &ctx)),
    };
    event.unwrap()
}

fn get(path: &str) -> http::Request<bytes::Bytes> {
    common::request("GET", path, &[], b"")
}

#[test]
fn http_api_event_under_a_named_stage_keeps_the_stage_in_the_path() {
    let api = common::api(common::HTTP, esb_model::ApiKind::Http, "dev", &[]);
    let json = event_on(api.clone(), &["/hello/{name}"], &get("/dev/hello/x"));
    let event: ApiGatewayV2httpRequest = serde_json::from_value(json).unwrap();
    assert_eq!(event.raw_path.as_deref(), Some("/dev/hello/x"));
    assert_eq!(
        event.request_context.http.path.as_deref(),
        Some("/dev/hello/x")
    );
    assert_eq!(event.request_context.stage.as_deref(), Some("dev"));
    assert_eq!(event.route_key.as_deref(), Some("GET /hello/{name}"));
    assert_eq!(event.path_parameters["name"], "x");

    // at the root form the event is what it always was
    let json = event_on(api, &["/hello/{name}"], &get("/hello/x"));
    assert_eq!(json["rawPath"], "/hello/x");
    assert_eq!(json["requestContext"]["http"]["path"], "/hello/x");
    assert_eq!(json["requestContext"]["stage"], "dev");
}

#[test]
fn events_keep_a_trailing_slash_as_received() {
    let router = Router::new(&common::routing());
    let json = rest_json(&get("/items/"), &router);
    assert_eq!(json["resource"], "/items");
    assert_eq!(json["path"], "/items/");
    assert_eq!(json["requestContext"]["path"], "/Prod/items/");
    assert_eq!(json["requestContext"]["resourcePath"], "/items");

    let json = rest_json(&get("/Prod/items/7/"), &router);
    assert_eq!(json["path"], "/items/7/");
    assert_eq!(json["requestContext"]["path"], "/Prod/items/7/");
    assert_eq!(json["pathParameters"]["id"], "7");

    let json = http_json(&get("/hello/x/"), &router);
    assert_eq!(json["rawPath"], "/hello/x/");
    assert_eq!(json["requestContext"]["http"]["path"], "/hello/x/");
    assert_eq!(json["routeKey"], "GET /hello/{name}");
    assert_eq!(json["pathParameters"]["name"], "x");

    // a template declared as `/hello/` is deployed, and reported, as `/hello`
    let api = common::api(common::REST, esb_model::ApiKind::Rest, "Prod", &[]);
    let json = event_on(api, &["/hello/"], &get("/hello/"));
    assert_eq!(json["resource"], "/hello");
    assert_eq!(json["path"], "/hello/");
}

#[test]
fn rest_event_through_a_base_path_keeps_it_in_both_paths() {
    let mut api = common::api(common::REST, esb_model::ApiKind::Rest, "Prod", &[]);
    api.base_paths = vec!["/v1".to_owned()];
    let json = event_on(api, &["/items/{id}"], &get("/v1/items/7"));
    let event: ApiGatewayProxyRequest = serde_json::from_value(json).unwrap();
    assert_eq!(event.resource.as_deref(), Some("/items/{id}"));
    assert_eq!(event.path.as_deref(), Some("/v1/items/7"));
    assert_eq!(event.request_context.path.as_deref(), Some("/v1/items/7"));
    assert_eq!(event.request_context.stage.as_deref(), Some("Prod"));
    assert_eq!(event.path_parameters["id"], "7");
}

#[test]
fn http_api_event_through_a_base_path_leaves_it_out_of_raw_path() {
    let mut api = common::api(common::HTTP, esb_model::ApiKind::Http, "$default", &[]);
    api.base_paths = vec!["/v1".to_owned()];
    let json = event_on(api, &["/hello/{name}"], &get("/v1/hello/x"));
    let event: ApiGatewayV2httpRequest = serde_json::from_value(json).unwrap();
    assert_eq!(event.raw_path.as_deref(), Some("/hello/x"));
    assert_eq!(event.request_context.http.path.as_deref(), Some("/hello/x"));
    assert_eq!(event.request_context.stage.as_deref(), Some("$default"));
}
