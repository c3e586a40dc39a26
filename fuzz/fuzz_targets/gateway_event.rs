//! A client's HTTP request (the first request of the input, see `esb_fuzz::requests`) through
//! what the gateway does with it before a function runs: the Invoke API's path and function
//! name parsing, routing on a REST API and an HTTP API (stages, base paths, `{proxy+}`,
//! `$default`), CORS preflight, request validation against a model, and the REST (1.0) and
//! HTTP API (2.0) proxy events, which must serialize. Any answer is fine; a panic is a bug.

#![no_main]

use std::sync::OnceLock;

use esb_gateway::lambda_api::{FunctionName, operation};
use esb_gateway::limits::Validators;
use esb_gateway::{EventContext, RouteMatch, Router, cors, http_api_event, rest_event};
use esb_model::artifacts::RoutingFile;
use esb_model::{
    Api, ApiAuth, ApiKind, Cors, ParameterLocation, RequestParameter, RequestValidation, Route,
    RouteAuth, RouteKind,
};
use libfuzzer_sys::fuzz_target;

const REST: &str = "ServerlessRestApi";
const HTTP: &str = "ServerlessHttpApi";

fn api(id: &str, kind: ApiKind, stage: &str) -> Api {
    Api {
        logical_id: id.to_owned(),
        kind,
        implicit: true,
        stage_name: stage.to_owned(),
        cors: Some(Cors {
            allow_origins: vec!["https://example.com".to_owned(), "*".to_owned()],
            allow_methods: vec!["GET".to_owned(), "POST".to_owned()],
            allow_headers: vec!["content-type".to_owned(), "x-api-key".to_owned()],
            expose_headers: vec!["x-request-id".to_owned()],
            allow_credentials: true,
            max_age: Some(600),
        }),
        auth: ApiAuth::default(),
        binary_media_types: vec!["image/*".to_owned(), "application~1octet-stream".to_owned()],
        base_paths: vec!["/v1".to_owned(), "/orders/v2".to_owned()],
        models: Default::default(),
        throttling: Vec::new(),
    }
}

fn route(api: &str, kind: RouteKind, method: &str, path: &str) -> Route {
    Route {
        api: api.to_owned(),
        kind,
        method: method.to_owned(),
        path: path.to_owned(),
        function: "F".to_owned(),
        event: "E".to_owned(),
        auth: RouteAuth::default(),
        validation: None,
    }
}

/// The routes of the gateway's own tests, plus a validated POST and an HTTP API `$default`.
fn routing() -> RoutingFile {
    use RouteKind::{Http, Rest};
    let mut rest = api(REST, ApiKind::Rest, "Prod");
    rest.models.insert(
        "Item".to_owned(),
        serde_json::json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": "^[a-z]+$"},
                "count": {"type": "integer", "minimum": 0, "maximum": 10},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "kind": {"enum": ["a", "b"]}
            },
            "additionalProperties": false
        }),
    );
    let mut validated = route(REST, Rest, "POST", "/items");
    validated.validation = Some(RequestValidation {
        validate_body: true,
        validate_parameters: true,
        model: Some("Item".to_owned()),
        required_parameters: vec![
            RequestParameter {
                location: ParameterLocation::Header,
                name: "x-token".to_owned(),
            },
            RequestParameter {
                location: ParameterLocation::Querystring,
                name: "q".to_owned(),
            },
        ],
    });
    RoutingFile {
        apis: vec![rest, api(HTTP, ApiKind::Http, "$default")],
        routes: vec![
            route(REST, Rest, "GET", "/"),
            route(REST, Rest, "GET", "/items"),
            validated,
            route(REST, Rest, "ANY", "/items/{id}"),
            route(REST, Rest, "GET", "/items/special"),
            route(REST, Rest, "ANY", "/files/{proxy+}"),
            route(REST, Rest, "GET", "/users/{userId}/orders/{orderId}"),
            route(HTTP, Http, "GET", "/hello/{name}"),
            route(HTTP, Http, "POST", "/hello/{name}"),
            route(HTTP, Http, "ANY", "$default"),
        ],
        ..RoutingFile::default()
    }
}

struct Gateway {
    router: Router,
    validators: Validators,
}

fn gateway() -> &'static Gateway {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let routing = routing();
        Gateway {
            router: Router::new(&routing),
            validators: Validators::new(&routing).expect("the model compiles"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = esb_fuzz::requests(data).into_iter().next() else {
        return;
    };
    let path = request.uri().path();

    if let Some((_, encoded)) = operation(path) {
        let _ = FunctionName::parse(encoded, request.uri().query());
    }

    let gateway = gateway();
    let RouteMatch::Matched(matched) = gateway.router.route(request.method(), path) else {
        return;
    };
    let _ = cors::preflight(matched.api, &request);
    let _ = gateway.validators.check(&request, &matched);
    let context = |stage: &str| EventContext {
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".to_owned(),
        source_ip: "192.0.2.7".to_owned(),
        stage: stage.to_owned(),
        api_id: matched.api.logical_id.clone(),
        domain_name: request
            .headers()
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost")
            .to_owned(),
        request_time_epoch_ms: 1_428_582_896_789,
        authorizer: None,
        api_key: None,
    };
    let rest = rest_event(&request, &matched, &context("Prod"));
    let http = http_api_event(&request, &matched, &context("$default"));
    assert!(serde_json::to_vec(&rest).is_ok());
    assert!(serde_json::to_vec(&http).is_ok());
});
