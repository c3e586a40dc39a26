//! Routing precedence as API Gateway applies it: literal over `{param}` over `{proxy+}`,
//! specific method over `ANY`, `$default` last, 405 with `Allow`, 404, percent-decoding; and
//! the URL forms: stage prefixes (REST, and HTTP APIs with a named stage), custom-domain base
//! paths, trailing and doubled slashes.

#![allow(clippy::unwrap_used)]

mod common;

use esb_gateway::{Matched, RouteMatch, Router, UrlForm};
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
        // a dropped empty segment is not a value: no `/users/{userId}/orders` route
        "/users/u1/orders/",
        "/users/u1/orders//",
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
    assert_eq!(hit.form, UrlForm::Stage);
    assert_eq!(hit.path_parameters["id"], "7");

    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/Prod") else {
        panic!("no match");
    };
    assert_eq!(hit.route.function, "Root");
    assert_eq!(hit.path, "/");

    let RouteMatch::Matched(hit) = router.route(&Method::GET, "/items/7") else {
        panic!("no match");
    };
    assert_eq!(hit.form, UrlForm::Root);
    assert_eq!(hit.path, "/items/7");

    // An HTTP API whose stage is `$default` has no stage prefix, and stage names are
    // case-sensitive.
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
    // a trailing slash is dropped before matching, so `/q/` is `/q`
    assert_eq!(matched(&router, "GET", "/q/").0, "A");
    // `/{proxy+}` does not cover the root: its value must not be empty.
    assert_eq!(router.route(&Method::GET, "/"), RouteMatch::NotFound);
}

/// The match for a request, or a panic describing what came back.
fn hit<'r>(router: &'r Router, m: &str, path: &str) -> Matched<'r> {
    match router.route(&method(m), path) {
        RouteMatch::Matched(hit) => hit,
        other => panic!("{m} {path}: expected a match, got {other:?}"),
    }
}

/// One API of `kind` with stage `stage`, base paths `base_paths` and GET routes.
fn one_api(
    kind: esb_model::ApiKind,
    stage: &str,
    base_paths: &[&str],
    routes: &[(&str, &str)],
) -> RoutingFile {
    let route_kind = match kind {
        esb_model::ApiKind::Rest => RouteKind::Rest,
        esb_model::ApiKind::Http => RouteKind::Http,
    };
    let mut api = common::api("Api", kind, stage, &[]);
    api.base_paths = base_paths.iter().map(|p| (*p).to_owned()).collect();
    RoutingFile {
        apis: vec![api],
        routes: routes
            .iter()
            .map(|(path, function)| common::route("Api", route_kind, "GET", path, function))
            .collect(),
        ..RoutingFile::default()
    }
}

#[test]
fn http_api_named_stage_is_a_prefix_too() {
    let router = Router::new(&one_api(
        esb_model::ApiKind::Http,
        "dev",
        &[],
        &[("/hello/{name}", "Hello")],
    ));
    let staged = hit(&router, "GET", "/dev/hello/x");
    assert_eq!(staged.route.function, "Hello");
    assert_eq!(staged.form, UrlForm::Stage);
    assert_eq!(staged.path, "/hello/x");
    assert_eq!(staged.path_parameters["name"], "x");
    assert_eq!(staged.route_key(), "GET /hello/{name}");

    // the root form keeps working
    let root = hit(&router, "GET", "/hello/x");
    assert_eq!(root.form, UrlForm::Root);
    assert_eq!(root.path, "/hello/x");

    // `$default` is no path segment
    let router = Router::new(&one_api(
        esb_model::ApiKind::Http,
        "$default",
        &[],
        &[("/hello/{name}", "Hello")],
    ));
    assert_eq!(
        router.route(&Method::GET, "/$default/hello/x"),
        RouteMatch::NotFound
    );
}

#[test]
fn trailing_slash_reaches_the_route_on_rest_and_http_apis() {
    let router = Router::new(&common::routing());
    for (path, function, kept) in [
        ("/items/", "ListItems", "/items/"),
        ("/items/42/", "GetItem", "/items/42/"),
        ("/hello/x/", "Hello", "/hello/x/"),
        ("/", "Root", "/"),
        ("/Prod/items/", "ListItems", "/items/"),
        ("/Prod/", "Root", "/"),
    ] {
        let got = hit(&router, "GET", path);
        assert_eq!(got.route.function, function, "{path}");
        // the path is kept as received (minus the stage)
        assert_eq!(got.path, kept, "{path}");
    }
    assert_eq!(
        hit(&router, "GET", "/items/42/").path_parameters["id"],
        "42"
    );
    // a greedy value leaves the trailing slash out, as on AWS
    assert_eq!(
        matched(&router, "GET", "/files/a/b/").2,
        vec![("proxy".to_owned(), "a/b".to_owned())]
    );
    // 405 applies to the slash form too
    assert_eq!(
        router.route(&Method::DELETE, "/items/"),
        RouteMatch::MethodNotAllowed {
            allow: vec![Method::GET, Method::POST]
        }
    );
}

#[test]
fn a_trailing_slash_is_no_empty_parameter() {
    let router = Router::new(&one_api(
        esb_model::ApiKind::Rest,
        "Prod",
        &[],
        &[("/items/{id}", "GetItem"), ("/{proxy+}", "Proxy")],
    ));
    // `/items/` is `/items`, which only the greedy route covers: `{id}` is never empty
    assert_eq!(
        matched(&router, "GET", "/items/"),
        (
            "Proxy".to_owned(),
            "/{proxy+}".to_owned(),
            vec![("proxy".to_owned(), "items".to_owned())]
        )
    );
    // and `{proxy+}` is never empty either
    assert_eq!(router.route(&Method::GET, "/"), RouteMatch::NotFound);
    assert_eq!(router.route(&Method::GET, "//"), RouteMatch::NotFound);

    let router = Router::new(&one_api(
        esb_model::ApiKind::Http,
        "$default",
        &[],
        &[("/items/{id}", "GetItem")],
    ));
    for path in ["/items/", "/items//", "//items/"] {
        assert_eq!(
            router.route(&Method::GET, path),
            RouteMatch::NotFound,
            "{path}"
        );
    }
}

#[test]
fn doubled_slashes_match_the_collapsed_path() {
    let router = Router::new(&common::routing());
    for (path, function, kept) in [
        ("//items", "ListItems", "//items"),
        ("/items//", "ListItems", "/items//"),
        ("/users//u1//orders/o2", "Orders", "/users//u1//orders/o2"),
        ("//hello//x", "Hello", "//hello//x"),
        ("/Prod//items", "ListItems", "//items"),
        ("//Prod/items", "ListItems", "/items"),
    ] {
        let got = hit(&router, "GET", path);
        assert_eq!(got.route.function, function, "{path}");
        assert_eq!(got.path, kept, "{path}");
    }
    assert_eq!(
        matched(&router, "GET", "/files//a//b").2,
        vec![("proxy".to_owned(), "a/b".to_owned())]
    );
}

#[test]
fn a_template_declared_with_a_trailing_slash_is_deployed_without_it() {
    let router = Router::new(&one_api(
        esb_model::ApiKind::Http,
        "$default",
        &[],
        &[("/hello/", "Hello"), ("/a//{b}/", "AB")],
    ));
    for path in ["/hello", "/hello/"] {
        let got = hit(&router, "GET", path);
        assert_eq!(got.route.function, "Hello", "{path}");
        assert_eq!(got.resource, "/hello");
        assert_eq!(got.route_key(), "GET /hello");
    }
    let got = hit(&router, "GET", "/a/1");
    assert_eq!(got.resource, "/a/{b}");
    assert_eq!(got.path_parameters["b"], "1");
}

#[test]
fn custom_domain_base_paths_lead_to_their_api() {
    let router = Router::new(&one_api(
        esb_model::ApiKind::Rest,
        "Prod",
        &["/v1", "/orders/v2"],
        &[("/", "Root"), ("/items/{id}", "GetItem")],
    ));
    let got = hit(&router, "GET", "/v1/items/7");
    assert_eq!(got.route.function, "GetItem");
    assert_eq!(got.form, UrlForm::BasePath);
    assert_eq!(got.path, "/items/7");
    assert_eq!(got.path_parameters["id"], "7");

    let got = hit(&router, "GET", "/orders/v2/items/8/");
    assert_eq!(
        (got.form, got.path.as_str()),
        (UrlForm::BasePath, "/items/8/")
    );
    for path in ["/v1", "/v1/"] {
        let got = hit(&router, "GET", path);
        assert_eq!(
            (got.route.function.as_str(), got.path.as_str()),
            ("Root", "/")
        );
    }
    // the stage and the root forms still work; a base path is not a stage
    assert_eq!(hit(&router, "GET", "/Prod/items/7").form, UrlForm::Stage);
    assert_eq!(hit(&router, "GET", "/items/7").form, UrlForm::Root);
    assert_eq!(
        router.route(&Method::GET, "/v1/Prod/items/7"),
        RouteMatch::NotFound
    );
    assert_eq!(
        router.route(&Method::GET, "/orders/items/7"),
        RouteMatch::NotFound
    );
}

#[test]
fn the_longest_base_path_wins() {
    let mut routing = one_api(esb_model::ApiKind::Http, "$default", &["/a"], &[]);
    let mut deeper = common::api("Deeper", esb_model::ApiKind::Http, "$default", &[]);
    deeper.base_paths = vec!["/a/b".to_owned()];
    routing.apis.push(deeper);
    routing.routes.push(common::route(
        "Api",
        RouteKind::Http,
        "GET",
        "/{x}/{y}",
        "Shallow",
    ));
    routing.routes.push(common::route(
        "Deeper",
        RouteKind::Http,
        "GET",
        "/{y}",
        "Deep",
    ));
    let router = Router::new(&routing);
    // `/a/b/c` is `/b/c` on Api and `/c` on Deeper; API Gateway picks the longer mapping
    let got = hit(&router, "GET", "/a/b/c");
    assert_eq!(
        (got.route.function.as_str(), got.path.as_str()),
        ("Deep", "/c")
    );
    assert_eq!(hit(&router, "GET", "/a/x/c").route.function, "Shallow");
}

#[test]
fn a_prefix_beats_a_greedy_match_at_the_root() {
    let router = Router::new(&one_api(
        esb_model::ApiKind::Rest,
        "Prod",
        &["/v1"],
        &[("/{proxy+}", "Proxy"), ("/Prod/literal", "Literal")],
    ));
    let proxy = |path: &str| hit(&router, "GET", path).path_parameters["proxy"].clone();
    // as on AWS, where only the prefixed form exists
    assert_eq!(proxy("/Prod/items/1"), "items/1");
    assert_eq!(proxy("/v1/items/1"), "items/1");
    assert_eq!(proxy("/items/1"), "items/1");
    // a full match at the root still comes first
    assert_eq!(
        hit(&router, "GET", "/Prod/literal").route.function,
        "Literal"
    );
    // the prefix alone leaves nothing for `{proxy+}`: the root form takes it
    assert_eq!(proxy("/Prod"), "Prod");
}
