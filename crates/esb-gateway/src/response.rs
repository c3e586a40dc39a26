//! Turns a function's output into the HTTP response API Gateway would send.
//!
//! Payload format 1.0 (REST APIs) needs `{statusCode, headers, multiValueHeaders, body,
//! isBase64Encoded}`; anything else is a malformed Lambda proxy response, which API Gateway
//! answers with 502 `{"message": "Internal server error"}`. Payload format 2.0 (HTTP APIs)
//! reads the same fields plus `cookies` (each becomes a `Set-Cookie` header) but not
//! `multiValueHeaders`, and when the output is valid JSON but not an object with `statusCode`
//! it infers a response: 200, `content-type: application/json`, the output as the body.
//! In both formats a response without a content type gets `application/json`, as on API
//! Gateway. Header values may be strings, numbers or booleans.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

const INTERNAL_SERVER_ERROR: &str = r#"{"message":"Internal server error"}"#;

/// Standard base64, padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a function's output is not a valid Lambda proxy response.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("the function's output is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the function's output is not a JSON object")]
    NotObject,
    #[error("the function's output has no statusCode")]
    MissingStatusCode,
    #[error("statusCode {0} is not an HTTP status code")]
    BadStatusCode(String),
    #[error("`{field}` must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("{0:?} is not a valid header name")]
    BadHeaderName(String),
    #[error("the value of header {0:?} is not a valid header value")]
    BadHeaderValue(String),
    #[error("body is marked isBase64Encoded but is not valid base64: {0}")]
    BadBase64(#[source] base64::DecodeError),
}

impl ResponseError {
    /// The response API Gateway gives for a malformed function output.
    pub fn response(&self) -> Response<Bytes> {
        internal_server_error()
    }
}

/// 502 `{"message":"Internal server error"}` with `Content-Type: application/json`.
pub fn internal_server_error() -> Response<Bytes> {
    json_response(StatusCode::BAD_GATEWAY, INTERNAL_SERVER_ERROR)
}

/// 413: a request body over API Gateway's limit, or an event over Lambda's.
pub(crate) fn payload_too_large() -> Response<Bytes> {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        r#"{"message":"Request Entity Too Large"}"#,
    )
}

/// 400 for a request HTTP itself forbids (RFC 9112): a broken chunked body, no `Host`.
pub(crate) fn bad_request() -> Response<Bytes> {
    json_response(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#)
}

/// A JSON body the gateway itself answers with (`Content-Type: application/json`).
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Maps a REST API function's output (payload format 1.0). On error, log it and send
/// [`ResponseError::response`]. An `isBase64Encoded` body becomes bytes only when
/// `binary_accepted` — the request's first `Accept` type is one of the API's
/// `BinaryMediaTypes`; otherwise the client gets the base64 text, as API Gateway sends it.
pub fn rest_response(
    output: &[u8],
    binary_accepted: bool,
) -> Result<Response<Bytes>, ResponseError> {
    let value: Value = serde_json::from_slice(output).map_err(ResponseError::NotJson)?;
    let Value::Object(object) = value else {
        return Err(ResponseError::NotObject);
    };
    structured(&object, true, binary_accepted)
}

/// Maps an HTTP API function's output (payload format 2.0). On error, log it and send
/// [`ResponseError::response`].
pub fn http_api_response(output: &[u8]) -> Result<Response<Bytes>, ResponseError> {
    let value: Value = serde_json::from_slice(output).map_err(ResponseError::NotJson)?;
    match value {
        // HTTP APIs always decode a base64 body.
        Value::Object(object) if object.contains_key("statusCode") => {
            structured(&object, false, true)
        }
        _ => {
            let mut response = Response::new(Bytes::copy_from_slice(output));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
    }
}

/// Maps `{statusCode, headers, ..}`; `rest` selects payload format 1.0 (`multiValueHeaders`)
/// over 2.0 (`cookies`); `decode` turns an `isBase64Encoded` body into bytes.
fn structured(
    object: &Map<String, Value>,
    rest: bool,
    decode: bool,
) -> Result<Response<Bytes>, ResponseError> {
    let status = status_code(object.get("statusCode"))?;
    let mut headers = HeaderMap::new();

    if rest {
        for (name, values) in object_field(object, "multiValueHeaders")? {
            let Value::Array(values) = values else {
                if values.is_null() {
                    continue;
                }
                return Err(wrong_type(format!("multiValueHeaders.{name}"), "an array"));
            };
            let Some(name) = function_header(name, rest)? else {
                continue;
            };
            for value in values {
                let value = header_value(&name, value, "multiValueHeaders")?;
                headers.append(name.clone(), value);
            }
        }
    }
    for (name, value) in object_field(object, "headers")? {
        let Some(name) = function_header(name, rest)? else {
            continue;
        };
        let value = header_value(&name, value, "headers")?;
        // A value already given by multiValueHeaders is not repeated.
        if !headers.get_all(&name).iter().any(|v| v == value) {
            headers.append(name, value);
        }
    }
    if !rest {
        match object.get("cookies") {
            None | Some(Value::Null) => {}
            Some(Value::Array(cookies)) => {
                for cookie in cookies {
                    let Value::String(cookie) = cookie else {
                        return Err(wrong_type("cookies".to_owned(), "an array of strings"));
                    };
                    let value = HeaderValue::from_str(cookie)
                        .map_err(|_| ResponseError::BadHeaderValue(SET_COOKIE.to_string()))?;
                    headers.append(SET_COOKIE, value);
                }
            }
            Some(_) => return Err(wrong_type("cookies".to_owned(), "an array of strings")),
        }
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }

    let base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong_type("isBase64Encoded".to_owned(), "a boolean")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if base64 && decode => {
            let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            Bytes::from(BASE64.decode(compact).map_err(ResponseError::BadBase64)?)
        }
        Some(Value::String(text)) => Bytes::from(text.clone().into_bytes()),
        Some(_) => return Err(wrong_type("body".to_owned(), "a string")),
    };

    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

fn status_code(value: Option<&Value>) -> Result<StatusCode, ResponseError> {
    let value = value.ok_or(ResponseError::MissingStatusCode)?;
    value
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| (100..=599).contains(n))
        .and_then(|n| StatusCode::from_u16(n).ok())
        .ok_or_else(|| ResponseError::BadStatusCode(value.to_string()))
}

/// An optional object field; `null` counts as absent.
fn object_field<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Box<dyn Iterator<Item = (&'a String, &'a Value)> + 'a>, ResponseError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Box::new(std::iter::empty())),
        Some(Value::Object(map)) => Ok(Box::new(map.iter())),
        Some(_) => Err(wrong_type(field.to_owned(), "an object")),
    }
}

/// Headers that frame the message or belong to one connection: the gateway sets its own, so
/// a function's could cut the body, hang the client, or break HTTP/2 (RFC 9110 §7.6.1).
const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The name a function's response header is sent under: a REST API remaps the connection and
/// framing headers to `x-amzn-Remapped-<name>`, as API Gateway does; an HTTP API drops them.
fn function_header(name: &str, rest: bool) -> Result<Option<HeaderName>, ResponseError> {
    let name = header_name(name)?;
    if !CONNECTION_HEADERS.contains(&name.as_str()) {
        return Ok(Some(name));
    }
    rest.then(|| header_name(&format!("x-amzn-remapped-{name}")))
        .transpose()
}

fn header_name(name: &str) -> Result<HeaderName, ResponseError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ResponseError::BadHeaderName(name.to_owned()))
}

fn header_value(
    name: &HeaderName,
    value: &Value,
    field: &str,
) -> Result<HeaderValue, ResponseError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(wrong_type(
                format!("{field}.{name}"),
                "a string, number or boolean",
            ));
        }
    };
    HeaderValue::from_str(&text).map_err(|_| ResponseError::BadHeaderValue(name.to_string()))
}

fn wrong_type(field: String, expected: &'static str) -> ResponseError {
    ResponseError::WrongType { field, expected }
}
