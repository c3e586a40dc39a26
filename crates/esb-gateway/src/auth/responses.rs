//! The responses API Gateway sends when a request is refused before it reaches a function:
//! [`Refusal`], the typed reason, and the one place it becomes a status code and body.

use bytes::Bytes;
use esb_model::ApiKind;
use http::{HeaderValue, Response, StatusCode};

use crate::response::json_response;

/// Why auth refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Missing or invalid credentials: 401.
    Unauthorized,
    /// Missing scopes, or an HTTP API authorizer's `isAuthorized: false`: 403.
    Forbidden,
    /// A Lambda authorizer's policy does not allow the method: 403.
    PolicyDenied { explicit: bool },
    /// A Lambda authorizer failed or answered something unusable: 500.
    AuthorizerFailure,
}

impl Refusal {
    /// The response for a route of an API of `kind`.
    pub(crate) fn response(self, kind: ApiKind) -> Response<Bytes> {
        match self {
            Refusal::Unauthorized => unauthorized(),
            Refusal::Forbidden => forbidden(),
            Refusal::PolicyDenied { explicit } => policy_denied(kind, explicit),
            Refusal::AuthorizerFailure => authorizer_failure(kind),
        }
    }
}

/// 401: missing or invalid credentials (token, identity source).
pub(crate) fn unauthorized() -> Response<Bytes> {
    json_response(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#)
}

/// 403: missing scopes, or an HTTP API authorizer's refusal.
pub(crate) fn forbidden() -> Response<Bytes> {
    json_response(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#)
}

/// 400: a login request whose body is not `{"AuthParameters":{"USERNAME","PASSWORD"}}`.
pub(crate) fn bad_request() -> Response<Bytes> {
    json_response(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#)
}

/// 403 for a REST API whose Lambda authorizer's policy does not allow the method.
fn policy_denied(kind: ApiKind, explicit: bool) -> Response<Bytes> {
    match (kind, explicit) {
        (ApiKind::Http, _) => forbidden(),
        (ApiKind::Rest, true) => json_response(
            StatusCode::FORBIDDEN,
            r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#,
        ),
        (ApiKind::Rest, false) => json_response(
            StatusCode::FORBIDDEN,
            r#"{"Message":"User is not authorized to access this resource"}"#,
        ),
    }
}

/// 500 when a Lambda authorizer fails or answers something unusable: on REST APIs
/// `{"message": null}` with `x-amzn-ErrorType: AuthorizerConfigurationException`, on HTTP APIs
/// `{"message":"Internal Server Error"}`.
fn authorizer_failure(kind: ApiKind) -> Response<Bytes> {
    match kind {
        ApiKind::Rest => {
            let mut response =
                json_response(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":null}"#);
            response.headers_mut().insert(
                "x-amzn-errortype",
                HeaderValue::from_static("AuthorizerConfigurationException"),
            );
            response
        }
        ApiKind::Http => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        ),
    }
}
