//! Shared fixtures: a `routing.yml` with a REST API and an HTTP API, and request builders.

#![allow(dead_code, clippy::unwrap_used)]

use bytes::Bytes;
use esb_gateway::EventContext;
use esb_model::artifacts::RoutingFile;
use esb_model::{Api, ApiAuth, ApiKind, Route, RouteAuth, RouteKind};

pub const REST: &str = "ServerlessRestApi";
pub const HTTP: &str = "ServerlessHttpApi";

pub fn api(id: &str, kind: ApiKind, stage: &str, binary: &[&str]) -> Api {
    Api {
        logical_id: id.to_owned(),
        kind,
        implicit: true,
        stage_name: stage.to_owned(),
        cors: None,
        auth: ApiAuth::default(),
        binary_media_types: binary.iter().map(|s| (*s).to_owned()).collect(),
        base_paths: Vec::new(),
        models: Default::default(),
        throttling: Vec::new(),
    }
}

pub fn route(api: &str, kind: RouteKind, method: &str, path: &str, function: &str) -> Route {
    Route {
        api: api.to_owned(),
        kind,
        method: method.to_owned(),
        path: path.to_owned(),
        function: function.to_owned(),
        event: format!("{function}Event"),
        auth: RouteAuth::default(),
        validation: None,
    }
}

/// REST routes (stage `Prod`, binary `image/*`) and HTTP routes, without a `$default`.
pub fn routing() -> RoutingFile {
    use RouteKind::{Http, Rest, Url};
    RoutingFile {
        apis: vec![
            api(
                REST,
                ApiKind::Rest,
                "Prod",
                &["image/*", "application~1octet-stream"],
            ),
            api(HTTP, ApiKind::Http, "$default", &[]),
        ],
        routes: vec![
            route(REST, Rest, "GET", "/", "Root"),
            route(REST, Rest, "GET", "/items", "ListItems"),
            route(REST, Rest, "POST", "/items", "CreateItem"),
            route(REST, Rest, "ANY", "/items/{id}", "AnyItem"),
            route(REST, Rest, "GET", "/items/{id}", "GetItem"),
            route(REST, Rest, "GET", "/items/special", "Special"),
            route(REST, Rest, "ANY", "/files/{proxy+}", "Files"),
            route(REST, Rest, "GET", "/files/readme", "Readme"),
            route(
                REST,
                Rest,
                "GET",
                "/users/{userId}/orders/{orderId}",
                "Orders",
            ),
            route(HTTP, Http, "GET", "/hello/{name}", "Hello"),
            route(HTTP, Http, "POST", "/hello/{name}", "HelloPost"),
            route("UrlFn", Url, "ANY", "/url", "UrlFn"),
        ],
        ..RoutingFile::default()
    }
}

/// [`routing`] plus an HTTP API `$default` route.
pub fn routing_with_default() -> RoutingFile {
    let mut routing = routing();
    routing
        .routes
        .push(route(HTTP, RouteKind::Http, "ANY", "$default", "Fallback"));
    routing
}

pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::copy_from_slice(body)).unwrap()
}

pub fn context(api_id: &str, stage: &str) -> EventContext {
    EventContext {
        request_id: "req-1".to_owned(),
        source_ip: "192.0.2.7".to_owned(),
        stage: stage.to_owned(),
        api_id: api_id.to_owned(),
        domain_name: "localhost".to_owned(),
        request_time_epoch_ms: 1_428_582_896_789,
        authorizer: None,
        api_key: None,
    }
}
