//! Routing precedence as API Gateway applies it: literal over `{param}` over `{proxy+}`,
//! specific method over `ANY`, `$default` last, 405 with `Allow`, 404, percent-decoding and
//! the REST stage prefix.

#![allow(clippy::unwrap_used)]

mod common;

use esb_gateway::{RouteMatch, Router};
use esb_model::RouteKind;
use esb_model::artifacts::RoutingFile;
use http::Method;

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

/// (function, resource, params) of a match, or a panic describing what came back.
fn matched(router: &Router, m: &str, path: &str) -> (String, String, Vec<(String, String)>) {
    match router.route(&method(m), path) {
        RouteMatch::Matched(hit) => (
            hit.route.function.clone(),
            hit.resource.clone(),
            hit.path_parameters
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => panic!("{m} {path}: expected a match, got {other:?}"),
    }
}

/// (method, path, function, resource, path parameters)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, String)>,
);

#[test]
fn precedence_table() {
    let router = Router::new(&common::routing());
    let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let cases: &[Case] = &[
        ("GET", "/", "Root", "/", p(&[])),
        ("GET", "/items", "ListItems", "/items", p(&[])),
        ("POST", "/items", "CreateItem", "/items", p(&[])),
        // literal beats {param}
        ("GET", "/items/special", "Special", "/items/special", p(&[])),
        // specific method beats ANY on the same template
        (
            "GET",
            "/items/42",
            "GetItem",
            "/items/{id}",
            p(&[("id", "42")]),
        ),
        (
            "DELETE",
            "/items/42",
            "AnyItem",
            "/items/{id}",
            p(&[("id", "42")]),
        ),
        // a literal route's method does not apply; ANY on the {param} template takes it
        (
            "POST",
            "/items/special",
            "AnyItem",
            "/items/{id}",
            p(&[("id", "special")]),
        ),
        // literal beats greedy
        ("GET", "/files/readme", "Readme", "/files/readme", p(&[])),
        (
            "POST",
            "/files/readme",
            "Files",
            "/files/{proxy+}",
            p(&[("proxy", "readme")]),
        ),
        (
            "GET",
            "/files/a/b/c.txt",
            "Files",
            "/files/{proxy+}",
            p(&[("proxy", "a/b/c.txt")]),
        ),
        (
            "GET",
            "/users/u1/orders/o2",
            "Orders",
            "/users/{userId}/orders/{orderId}",
            p(&[("userId", "u1"), ("orderId", "o2")]),
        ),
        // percent-decoding per segment: %2F stays inside the segment
        (
            "GET",
            "/items/a%20b",
            "GetItem",
            "/items/{id}",
            p(&[("id", "a b")]),
        ),
        (
            "GET",
            "/items/a%2Fb",
            "GetItem",
            "/items/{id}",
            p(&[("id", "a/b")]),
        ),
        ("GET", "/it%65ms", "ListItems", "/items", p(&[])),
        (
            "GET",
            "/files/x%20y/z",
            "Files",
            "/files/{proxy+}",
            p(&[("proxy", "x y/z")]),
        ),
        // HTTP API routes are served at the root too
        (
            "GET",
            "/hello/w%C3%B6rld",
            "Hello",
            "/hello/{name}",
            p(&[("name", "wörld")]),
        ),
        (
            "POST",
            "/hello/x",
            "HelloPost",
            "/hello/{name}",
            p(&[("name", "x")]),
        ),
    ];
    for (m, path, function, resource, params) in cases {
        let got = matched(&router, m, path);
        assert_eq!(
            got,
            (
                (*function).to_owned(),
                (*resource).to_owned(),
                params.clone()
            ),
            "{m} {path}"
        );
    }
}

#[test]
fn method_not_allowed_lists_the_allowed_methods() {
    let router = Router::new(&common::routing());
    assert_eq!(
        router.route(&Method::DELETE, "/items"),
        RouteMatch::MethodNotAllowed {
            allow: vec![Method::GET, Method::POST]
        }
    );
    assert_eq!(
        router.route(&Method::PUT, "/hello/x"),
        RouteMatch::MethodNotAllowed {
            allow: vec![Method::GET, Method::POST]
        }
    );
}

#[test]
fn unknown_paths_are_not_found() {
    let router = Router::new(&common::routing());
    for path in [
        "/nothing",
        "/items/1/extra",
        // a greedy variable needs at least one character
        "/files",
        "/files/",
        // trailing slashes and empty segments are significant
        "/items/",
        "/items//",
        "//items",
        "/users/u1/orders/",
        // function URL routes are served elsewhere
        "/url",
        // dot segments are not resolved
        "/files/../items",
    ] {
        let result = router.route(&Method::GET, path);
        if path == "/files/../items" {
            // ... so they are just text a greedy variable takes
            assert!(
                matches!(result, RouteMatch::Matched(_)),
                "{path}: {result:?}"
            );
        } else {
            assert_eq!(result, RouteMatch::NotFound, "{path}");
        }
    }
}

#[test]
fn rest_stage_prefix_is_stripped() {
    let router = Router::new(&common::routing());
    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/Prod/items/7") else {
        panic!("no match");
    };
    assert_eq!(hit.route.function, "GetItem");
    assert_eq!(hit.path, "/items/7");
    assert!(hit.stage_prefixed);
    assert_eq!(hit.path_parameters["id"], "7");

    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/Prod") else {
        panic!("no match");
    };
    assert_eq!(hit.route.function, "Root");
    assert_eq!(hit.path, "/");

    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/items/7") else {
        panic!("no match");
    };
    assert!(!hit.stage_prefixed);
    assert_eq!(hit.path, "/items/7");

    // HTTP API routes have no stage prefix, and stage names are case-sensitive.
    assert_eq!(
        router.route(&Method::GET, "/Prod/hello/x"),
        RouteMatch::NotFound
    );
    assert_eq!(
        router.route(&Method::GET, "/prod/items"),
        RouteMatch::NotFound
    );
    assert_eq!(
        router.route(&Method::PATCH, "/Prod/items"),
        RouteMatch::MethodNotAllowed {
            allow: vec![Method::GET, Method::POST]
        }
    );
}

#[test]
fn default_route_catches_what_nothing_else_matched() {
    let router = Router::new(&common::routing_with_default());
    assert_eq!(
        matched(&router, "GET", "/nothing/here"),
        ("Fallback".into(), "$default".into(), vec![])
    );
    // $default comes before 405
    assert_eq!(matched(&router, "DELETE", "/items").0, "Fallback");
    // but never before a real match
    assert_eq!(matched(&router, "GET", "/items").0, "ListItems");
    assert_eq!(matched(&router, "GET", "/Prod/items").0, "ListItems");
    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/x?y") else {
        panic!("no match");
    };
    assert_eq!(hit.route_key(), "$default");
}

#[test]
fn greedy_routes_lose_to_any_full_match() {
    let mut routing = RoutingFile::default();
    routing.apis.push(common::api(
        common::HTTP,
        esb_model::ApiKind::Http,
        "$default",
        &[],
    ));
    for (method, path, function) in [
        ("ANY", "/{proxy+}", "Proxy"),
        ("GET", "/x/{proxy+}", "XProxy"),
        ("GET", "/{a}/b", "AB"),
        ("GET", "/{a}", "A"),
    ] {
        routing.routes.push(common::route(
            common::HTTP,
            RouteKind::Http,
            method,
            path,
            function,
        ));
    }
    let router = Router::new(&routing);
    assert_eq!(matched(&router, "GET", "/x/b").0, "AB");
    assert_eq!(matched(&router, "GET", "/x/c").0, "XProxy");
    assert_eq!(matched(&router, "GET", "/q").0, "A");
    assert_eq!(matched(&router, "POST", "/q").0, "Proxy");
    assert_eq!(matched(&router, "GET", "/q/").0, "Proxy");
    // `/{proxy+}` does not cover the root: its value must not be empty.
    assert_eq!(router.route(&Method::GET, "/"), RouteMatch::NotFound);
}
