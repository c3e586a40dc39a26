//! DynamoDB's wire shapes for answers the front gives itself: error bodies (`__type` and
//! `message`) and the response headers every answer carries (`x-amzn-RequestId`, `x-amz-crc32`).
//! The one place where our own refusals are mapped to an AWS error code and HTTP status.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::sigv4::SigError;

/// Content type of the DynamoDB JSON 1.0 protocol.
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// Errors the front answers before a request reaches the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrontError {
    /// No or unknown `X-Amz-Target`.
    UnknownOperation,
    /// The body is larger than the request limit.
    TooLarge { limit: usize },
    /// The body could not be read from the connection.
    UnreadableBody,
    /// The engine is not running.
    EngineUnavailable,
    /// The SigV4 signature was refused.
    Auth(SigError),
}

impl FrontError {
    /// The HTTP status and JSON body DynamoDB would send for this error.
    pub(crate) fn status_and_body(&self) -> (StatusCode, String) {
        match self {
            Self::UnknownOperation => (
                StatusCode::BAD_REQUEST,
                r#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#.to_owned(),
            ),
            Self::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                error_body(
                    "com.amazon.coral.service#RequestEntityTooLarge",
                    &format!("Request size exceeds {limit} bytes"),
                ),
            ),
            Self::UnreadableBody => (
                StatusCode::BAD_REQUEST,
                r#"{"__type":"com.amazon.coral.service#SerializationException"}"#.to_owned(),
            ),
            Self::Auth(e) => (StatusCode::BAD_REQUEST, auth_error_body(e)),
            Self::EngineUnavailable => (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body(
                    "com.amazonaws.dynamodb.v20120810#InternalServerError",
                    "The DynamoDB engine is not running",
                ),
            ),
        }
    }
}

fn auth_error_body(e: &SigError) -> String {
    match e {
        SigError::UnknownAccessKey => error_body(
            "com.amazon.coral.service#UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        SigError::Malformed(what) => error_body(
            "com.amazon.coral.service#IncompleteSignatureException",
            &format!("The request signature is malformed: {what}."),
        ),
        SigError::Expired => error_body(
            "com.amazon.coral.service#InvalidSignatureException",
            "Signature expired: the request time is more than 15 minutes from the server time.",
        ),
        SigError::Mismatch => error_body(
            "com.amazon.coral.service#InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ),
    }
}

/// `{"__type":…,"message":…}` with both strings JSON-escaped.
pub(crate) fn error_body(error_type: &str, message: &str) -> String {
    format!(
        r#"{{"__type":"{}","message":"{}"}}"#,
        escape(error_type),
        escape(message)
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A DynamoDB-style request id: 52 characters of `[0-9A-Z]`.
pub(crate) fn request_id() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    let mut id: String = a.chars().chain(b.chars()).take(52).collect();
    id.make_ascii_uppercase();
    id
}

/// A response with DynamoDB's headers: request id, CRC32 of the body, content type.
pub(crate) fn response(
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Bytes,
) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::new());
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", v);
    }
    headers.insert("x-amz-crc32", HeaderValue::from(crc32fast::hash(&body)));
    if let Some(ct) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    *resp.body_mut() = body;
    resp
}

/// The response for a front error.
pub(crate) fn front_error(err: &FrontError, content_type: &'static str) -> Response<Bytes> {
    let (status, body) = err.status_and_body();
    response(status, Some(content_type), Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_escapes() {
        assert_eq!(
            error_body("T", "a \"b\"\n"),
            r#"{"__type":"T","message":"a \"b\"\u000a"}"#
        );
    }

    #[test]
    fn request_id_shape() {
        let id = request_id();
        assert_eq!(id.len(), 52);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
