//! CORS as API Gateway applies it: the SAM mock `OPTIONS` of a REST API, the automatic preflight
//! of an HTTP API (allowed and refused origins, scheme wildcards, credentials, max age), CORS
//! headers on HTTP API responses but not REST ones, and APIs without CORS left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use esb_gateway::cors::{decorate, preflight, preflight_for_path};
use esb_model::{Api, ApiAuth, ApiKind, Cors};
use http::{Method, Request, Response, StatusCode};

fn api(kind: ApiKind, cors: Option<Cors>) -> Api {
    Api {
        logical_id: "Api".into(),
        kind,
        implicit: false,
        stage_name: "Prod".into(),
        cors,
        auth: ApiAuth::default(),
        binary_media_types: Vec::new(),
        base_paths: Vec::new(),
        models: Default::default(),
        throttling: Vec::new(),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn http_cors() -> Cors {
    Cors {
        allow_origins: strings(&["https://app.example.com", "http://localhost:3000"]),
        allow_methods: strings(&["GET", "POST"]),
        allow_headers: strings(&["authorization", "content-type"]),
        expose_headers: strings(&["x-request-id"]),
        allow_credentials: false,
        max_age: Some(600),
    }
}

fn options(origin: Option<&str>, request_method: Option<&str>) -> Request<Bytes> {
    let mut builder = Request::builder().method(Method::OPTIONS).uri("/items");
    if let Some(origin) = origin {
        builder = builder.header("Origin", origin);
    }
    if let Some(method) = request_method {
        builder = builder.header("Access-Control-Request-Method", method);
    }
    builder.body(Bytes::new()).unwrap()
}

fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Each named header has the given value (`None`: absent).
fn assert_headers(response: &Response<Bytes>, expected: &[(&str, Option<&str>)]) {
    for (name, value) in expected {
        assert_eq!(header(response, name), *value, "header {name}");
    }
}

fn cors_headers(response: &Response<Bytes>) -> Vec<String> {
    let mut names: Vec<String> = response
        .headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect();
    names.sort();
    names
}

// ---- HTTP APIs ----

#[test]
fn http_preflight_from_an_allowed_origin() {
    let api = api(ApiKind::Http, Some(http_cors()));
    let response = preflight(
        &api,
        &options(Some("https://app.example.com"), Some("POST")),
    )
    .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.body().is_empty());
    assert_headers(
        &response,
        &[
            (
                "access-control-allow-origin",
                Some("https://app.example.com"),
            ),
            ("access-control-allow-methods", Some("GET,POST")),
            (
                "access-control-allow-headers",
                Some("authorization,content-type"),
            ),
            ("access-control-expose-headers", Some("x-request-id")),
            ("access-control-max-age", Some("600")),
            ("access-control-allow-credentials", None),
            ("vary", Some("Origin")),
        ],
    );
}

#[test]
fn http_preflight_origin_compares_case_insensitively() {
    let api = api(ApiKind::Http, Some(http_cors()));
    let response = preflight(&api, &options(Some("HTTPS://App.Example.com"), Some("GET"))).unwrap();
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("HTTPS://App.Example.com")
    );
}

#[test]
fn http_preflight_from_another_origin_has_no_cors_headers() {
    let api = api(ApiKind::Http, Some(http_cors()));
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil.com",
        "http://app.example.com",
        "null",
    ] {
        let response = preflight(&api, &options(Some(origin), Some("GET"))).unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{origin}");
        assert!(
            cors_headers(&response).is_empty(),
            "{origin}: {:?}",
            response.headers()
        );
    }
}

#[test]
fn http_options_that_is_not_a_preflight_goes_to_routing() {
    let api = api(ApiKind::Http, Some(http_cors()));
    assert!(preflight(&api, &options(None, None)).is_none());
    assert!(preflight(&api, &options(Some("https://app.example.com"), None)).is_none());
    assert!(preflight(&api, &options(None, Some("GET"))).is_none());
    let get = Request::builder()
        .method(Method::GET)
        .uri("/items")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .body(Bytes::new())
        .unwrap();
    assert!(preflight(&api, &get).is_none());
}

#[test]
fn http_star_without_credentials_answers_star() {
    // `CorsConfiguration: true`.
    let cors = Cors {
        allow_origins: strings(&["*"]),
        allow_methods: strings(&["*"]),
        allow_headers: strings(&["*"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Http, Some(cors));
    let response = preflight(
        &api,
        &options(Some("https://anywhere.test"), Some("DELETE")),
    )
    .unwrap();
    assert_headers(
        &response,
        &[
            ("access-control-allow-origin", Some("*")),
            ("access-control-allow-methods", Some("*")),
            ("access-control-allow-headers", Some("*")),
            ("access-control-max-age", None),
            ("vary", None),
        ],
    );
}

#[test]
fn http_star_with_credentials_echoes_the_origin() {
    let cors = Cors {
        allow_origins: strings(&["*"]),
        allow_credentials: true,
        ..Cors::default()
    };
    let api = api(ApiKind::Http, Some(cors));
    let response = preflight(&api, &options(Some("https://anywhere.test"), Some("GET"))).unwrap();
    assert_headers(
        &response,
        &[
            ("access-control-allow-origin", Some("https://anywhere.test")),
            ("access-control-allow-credentials", Some("true")),
            ("vary", Some("Origin")),
        ],
    );
}

#[test]
fn http_scheme_wildcards() {
    let cors = Cors {
        allow_origins: strings(&["https://*"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Http, Some(cors));
    let allowed = preflight(&api, &options(Some("https://a.example.com"), Some("GET"))).unwrap();
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://a.example.com")
    );
    let refused = preflight(&api, &options(Some("http://a.example.com"), Some("GET"))).unwrap();
    assert!(cors_headers(&refused).is_empty());
    let bare = preflight(&api, &options(Some("https://"), Some("GET"))).unwrap();
    assert!(cors_headers(&bare).is_empty());
}

#[test]
fn http_subdomain_patterns_are_not_wildcards() {
    let cors = Cors {
        allow_origins: strings(&["https://*.example.com"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Http, Some(cors));
    let response = preflight(&api, &options(Some("https://a.example.com"), Some("GET"))).unwrap();
    assert!(cors_headers(&response).is_empty());
}

#[test]
fn http_max_age_zero_is_sent() {
    let cors = Cors {
        max_age: Some(0),
        ..http_cors()
    };
    let api = api(ApiKind::Http, Some(cors));
    let response = preflight(&api, &options(Some("http://localhost:3000"), Some("GET"))).unwrap();
    assert_eq!(header(&response, "access-control-max-age"), Some("0"));
}

#[test]
fn http_decorate_replaces_the_functions_cors_headers() {
    let cors = Cors {
        allow_credentials: true,
        ..http_cors()
    };
    let api = api(ApiKind::Http, Some(cors));
    let mut response = Response::builder()
        .header("Access-Control-Allow-Origin", "*")
        .header("access-control-allow-methods", "PUT")
        .header("vary", "Accept-Encoding")
        .header("content-type", "text/plain")
        .body(Bytes::from_static(b"hi"))
        .unwrap();
    decorate(&api, Some("https://app.example.com"), &mut response);
    assert_headers(
        &response,
        &[
            (
                "access-control-allow-origin",
                Some("https://app.example.com"),
            ),
            ("access-control-allow-credentials", Some("true")),
            ("access-control-expose-headers", Some("x-request-id")),
            ("access-control-allow-methods", None),
        ],
    );
    let vary: Vec<&str> = response
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(vary, ["Accept-Encoding", "Origin"]);
    assert_eq!(header(&response, "content-type"), Some("text/plain"));
    assert_eq!(response.body(), &Bytes::from_static(b"hi"));
}

#[test]
fn http_decorate_does_not_repeat_vary_origin() {
    let api = api(ApiKind::Http, Some(http_cors()));
    let mut response = Response::builder()
        .header("Vary", "origin, Accept")
        .body(Bytes::new())
        .unwrap();
    decorate(&api, Some("http://localhost:3000"), &mut response);
    assert_eq!(response.headers().get_all("vary").iter().count(), 1);
}

#[test]
fn http_decorate_without_an_allowed_origin_only_strips() {
    let api = api(ApiKind::Http, Some(http_cors()));
    for origin in [None, Some("https://evil.example.com")] {
        let mut response = Response::builder()
            .header("access-control-allow-origin", "*")
            .body(Bytes::new())
            .unwrap();
        decorate(&api, origin, &mut response);
        assert!(cors_headers(&response).is_empty(), "{origin:?}");
    }
}

// ---- REST APIs ----

#[test]
fn rest_preflight_is_the_sam_mock() {
    let cors = Cors {
        allow_origins: strings(&["https://app.example.com"]),
        allow_methods: strings(&["GET", "POST", "OPTIONS"]),
        allow_headers: strings(&["Content-Type", "X-Api-Key"]),
        expose_headers: Vec::new(),
        allow_credentials: true,
        max_age: Some(300),
    };
    let api = api(ApiKind::Rest, Some(cors));
    let response = preflight(&api, &options(Some("https://app.example.com"), Some("GET"))).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &Bytes::from_static(b"{}"));
    assert_headers(
        &response,
        &[
            ("content-type", Some("application/json")),
            (
                "access-control-allow-origin",
                Some("https://app.example.com"),
            ),
            ("access-control-allow-methods", Some("GET,POST,OPTIONS")),
            (
                "access-control-allow-headers",
                Some("Content-Type,X-Api-Key"),
            ),
            ("access-control-max-age", Some("300")),
            ("access-control-allow-credentials", Some("true")),
        ],
    );
}

#[test]
fn rest_mock_answers_any_options_with_the_configured_values() {
    // `Cors: "'https://app.example.com'"`: the mock does not look at the request at all.
    let cors = Cors {
        allow_origins: strings(&["https://app.example.com"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Rest, Some(cors));
    for request in [
        options(Some("https://evil.example.com"), Some("DELETE")),
        options(None, None),
    ] {
        let response = preflight_for_path(&api, &request, &["GET", "post"]).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("GET,OPTIONS,POST")
        );
        assert_eq!(
            cors_headers(&response),
            [
                "access-control-allow-methods",
                "access-control-allow-origin"
            ]
        );
        assert_eq!(header(&response, "vary"), None);
    }
}

#[test]
fn rest_default_methods_for_any_are_every_method() {
    let cors = Cors {
        allow_origins: strings(&["*"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Rest, Some(cors));
    let expected = Some("DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT");
    let any = preflight_for_path(&api, &options(None, None), &["GET", "ANY"]).unwrap();
    assert_eq!(header(&any, "access-control-allow-methods"), expected);
    let default = preflight(&api, &options(None, None)).unwrap();
    assert_eq!(header(&default, "access-control-allow-methods"), expected);
    assert_eq!(header(&default, "access-control-allow-origin"), Some("*"));
}

#[test]
fn rest_multiple_origins_are_returned_as_written() {
    let cors = Cors {
        allow_origins: strings(&["https://a.example.com", "https://b.example.com"]),
        ..Cors::default()
    };
    let api = api(ApiKind::Rest, Some(cors));
    let response = preflight(&api, &options(Some("https://a.example.com"), Some("GET"))).unwrap();
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("https://a.example.com,https://b.example.com")
    );
}

#[test]
fn rest_non_options_goes_to_routing() {
    let api = api(ApiKind::Rest, Some(http_cors()));
    let get = Request::builder().uri("/items").body(Bytes::new()).unwrap();
    assert!(preflight(&api, &get).is_none());
}

#[test]
fn rest_responses_are_not_decorated() {
    let api = api(ApiKind::Rest, Some(http_cors()));
    let mut response = Response::builder()
        .header("access-control-allow-origin", "https://set.by.function")
        .body(Bytes::new())
        .unwrap();
    let before = response.headers().clone();
    decorate(&api, Some("https://app.example.com"), &mut response);
    assert_eq!(response.headers(), &before);
}

// ---- No CORS ----

#[test]
fn apis_without_cors_are_untouched() {
    for kind in [ApiKind::Rest, ApiKind::Http] {
        let api = api(kind, None);
        assert!(preflight(&api, &options(Some("https://app.example.com"), Some("GET"))).is_none());
        let mut response = Response::builder()
            .header("access-control-allow-origin", "https://set.by.function")
            .body(Bytes::new())
            .unwrap();
        let before = response.headers().clone();
        decorate(&api, Some("https://app.example.com"), &mut response);
        assert_eq!(response.headers(), &before, "{kind:?}");
    }
}
