//! CORS as API Gateway does it for an API with a CORS configuration (`Cors` on a SAM REST API,
//! `CorsConfiguration` on an HTTP API); an API without one is never touched.
//!
//! **REST APIs.** SAM adds an `OPTIONS` method with a mock integration to every path that has
//! routes (unless the template already defines `OPTIONS` there). The mock answers *any*
//! `OPTIONS` request on that path, whatever its `Origin`, with `200`, body `{}` and the
//! configured values as written: `Access-Control-Allow-Origin` (the configured string, even a
//! comma-separated list, which browsers refuse), `Access-Control-Allow-Methods` (configured, or
//! SAM's default: the path's methods plus `OPTIONS`, every method for `ANY`),
//! `Access-Control-Allow-Headers` and `Access-Control-Max-Age` when configured, and
//! `Access-Control-Allow-Credentials: true` only when enabled. Actual responses come from the
//! Lambda proxy integration untouched: the function must set its own CORS headers, so
//! [`decorate`] does nothing for REST APIs.
//!
//! **HTTP APIs.** API Gateway answers a preflight (an `OPTIONS` request with `Origin` and
//! `Access-Control-Request-Method`) itself, on any path and before routes and authorizers,
//! with `204`. For an allowed origin the response carries `Access-Control-Allow-Origin`,
//! `-Allow-Methods`, `-Allow-Headers`, `-Max-Age`, `-Allow-Credentials`, `-Expose-Headers`
//! as configured; for any other origin it carries none of them. On actual responses
//! ([`decorate`]) it drops the CORS headers the integration returned and adds
//! `Access-Control-Allow-Origin`, `-Expose-Headers` and `-Allow-Credentials` for an allowed
//! origin. Allowed origins are `*`, an exact origin (compared case-insensitively), or the
//! documented scheme wildcards `https://*` and `http://*`; a subdomain pattern such as
//! `https://*.example.com` is not an AWS wildcard and only matches itself.
//!
//! `Access-Control-Allow-Origin` is `*` when `*` is allowed and credentials are not; otherwise
//! it echoes the request's origin and `Vary: Origin` is added (AWS refuses `*` together with
//! credentials at deploy time; here the origin is echoed so the browser accepts it).

use bytes::Bytes;
use esb_model::{Api, ApiKind, Cors};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, HeaderMap, HeaderName, HeaderValue, ORIGIN, VARY,
};
use http::{Method, Request, Response, StatusCode};

use crate::response::json_response;

/// The methods SAM lists for a path with an `ANY` route.
const ALL_METHODS: &str = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT";

/// The CORS response headers an HTTP API strips from integration responses.
const CORS_RESPONSE_HEADERS: [HeaderName; 6] = [
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
];

/// The response API Gateway gives an `OPTIONS` request on `api` by itself, or `None` when the
/// request goes on to routing: the API has no CORS configuration, the method is not `OPTIONS`,
/// or (HTTP API) it is not a preflight.
///
/// For a REST API call it only for a path that has routes and no `OPTIONS` route of its own;
/// its `Access-Control-Allow-Methods` default is then every method, as for an `ANY` route.
/// Use [`preflight_for_path`] to give SAM's exact default.
pub fn preflight(api: &Api, request: &Request<Bytes>) -> Option<Response<Bytes>> {
    preflight_for_path(api, request, &["ANY"])
}

/// As [`preflight`], with the methods of the routes on the request's path (`GET`, `POST`, or
/// `ANY`), from which a REST API's default `Access-Control-Allow-Methods` is derived as SAM
/// does. HTTP APIs ignore them.
pub fn preflight_for_path(
    api: &Api,
    request: &Request<Bytes>,
    path_methods: &[&str],
) -> Option<Response<Bytes>> {
    let cors = api.cors.as_ref()?;
    if request.method() != Method::OPTIONS {
        return None;
    }
    match api.kind {
        ApiKind::Rest => Some(rest_preflight(cors, path_methods)),
        ApiKind::Http => http_preflight(cors, request),
    }
}

fn rest_preflight(cors: &Cors, path_methods: &[&str]) -> Response<Bytes> {
    let mut response = json_response(StatusCode::OK, Bytes::from_static(b"{}"));
    let headers = response.headers_mut();
    insert_list(headers, ACCESS_CONTROL_ALLOW_ORIGIN, &cors.allow_origins);
    if !cors.allow_headers.is_empty() {
        insert_list(headers, ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers);
    }
    if cors.allow_methods.is_empty() {
        insert_str(
            headers,
            ACCESS_CONTROL_ALLOW_METHODS,
            &sam_methods(path_methods),
        );
    } else {
        insert_list(headers, ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods);
    }
    if let Some(max_age) = cors.max_age {
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
    }
    if cors.allow_credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// SAM's default `AllowMethods` for a path: its methods plus `OPTIONS`, upper case, sorted,
/// de-duplicated; every method when one of them is `ANY`.
fn sam_methods(path_methods: &[&str]) -> String {
    if path_methods.is_empty() || path_methods.iter().any(|m| m.eq_ignore_ascii_case("ANY")) {
        return ALL_METHODS.to_string();
    }
    let mut methods: Vec<String> = path_methods
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .chain(std::iter::once("OPTIONS".to_string()))
        .collect();
    methods.sort();
    methods.dedup();
    methods.join(",")
}

fn http_preflight(cors: &Cors, request: &Request<Bytes>) -> Option<Response<Bytes>> {
    let headers = request.headers();
    let origin = headers.get(ORIGIN)?;
    headers.get(ACCESS_CONTROL_REQUEST_METHOD)?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let Some(allow_origin) = origin.to_str().ok().and_then(|o| allowed_origin(cors, o)) else {
        return Some(response);
    };
    let out = response.headers_mut();
    set_origin(out, allow_origin);
    if cors.allow_credentials {
        out.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if !cors.allow_methods.is_empty() {
        insert_list(out, ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods);
    }
    if !cors.allow_headers.is_empty() {
        insert_list(out, ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers);
    }
    if !cors.expose_headers.is_empty() {
        insert_list(out, ACCESS_CONTROL_EXPOSE_HEADERS, &cors.expose_headers);
    }
    if let Some(max_age) = cors.max_age {
        out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
    }
    Some(response)
}

/// Adds the CORS headers API Gateway puts on an actual (non-preflight) response of `api`.
/// HTTP APIs with CORS configured: the integration's own CORS headers are removed, then, when
/// `request_origin` is allowed, `Access-Control-Allow-Origin`, `-Expose-Headers` and
/// `-Allow-Credentials` are set. REST APIs and APIs without CORS: untouched (a REST API's
/// function sets its own CORS headers).
pub fn decorate<B>(api: &Api, request_origin: Option<&str>, response: &mut Response<B>) {
    let Some(cors) = api.cors.as_ref() else {
        return;
    };
    if api.kind != ApiKind::Http {
        return;
    }
    let headers = response.headers_mut();
    for name in &CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
    let Some(allow_origin) = request_origin.and_then(|o| allowed_origin(cors, o)) else {
        return;
    };
    set_origin(headers, allow_origin);
    if !cors.expose_headers.is_empty() {
        insert_list(headers, ACCESS_CONTROL_EXPOSE_HEADERS, &cors.expose_headers);
    }
    if cors.allow_credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// What `Access-Control-Allow-Origin` says for `origin` on an HTTP API, or `None` when the
/// origin is not allowed.
enum AllowOrigin<'o> {
    Any,
    Echo(&'o str),
}

fn allowed_origin<'o>(cors: &Cors, origin: &'o str) -> Option<AllowOrigin<'o>> {
    let mut matched = false;
    for allowed in &cors.allow_origins {
        let allowed = allowed.trim();
        if allowed == "*" {
            if !cors.allow_credentials {
                return Some(AllowOrigin::Any);
            }
            matched = true;
        } else if origin_matches(allowed, origin) {
            matched = true;
        }
    }
    matched.then_some(AllowOrigin::Echo(origin))
}

/// An exact origin, case-insensitive, or a scheme wildcard `https://*` / `http://*`.
fn origin_matches(allowed: &str, origin: &str) -> bool {
    if let Some(prefix) = allowed.strip_suffix('*').filter(|p| p.ends_with("://")) {
        return origin.len() > prefix.len()
            && origin
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    }
    allowed.eq_ignore_ascii_case(origin)
}

fn set_origin(headers: &mut HeaderMap, allow: AllowOrigin<'_>) {
    match allow {
        AllowOrigin::Any => {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        AllowOrigin::Echo(origin) => {
            if let Ok(value) = HeaderValue::from_str(origin) {
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
                add_vary_origin(headers);
            }
        }
    }
}

/// Adds `Origin` to `Vary` unless it is already listed (or `Vary: *`).
fn add_vary_origin(headers: &mut HeaderMap) {
    let listed = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin") || v.trim() == "*");
    if !listed {
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }
}

fn insert_list(headers: &mut HeaderMap, name: HeaderName, values: &[String]) {
    insert_str(headers, name, &values.join(","));
}

fn insert_str(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
