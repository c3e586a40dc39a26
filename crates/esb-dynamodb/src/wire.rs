//! DynamoDB's wire shapes for answers the front gives itself: error bodies (`__type` and
//! `message`) and the response headers every answer carries (`x-amzn-RequestId`, `x-amz-crc32`).
//! The one place where our own refusals are mapped to an AWS error code and HTTP status.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::sigv4::{MAX_SKEW_SECS, SigError, format_amz_date};

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

/// The body DynamoDB sends for a refused signature, worded as DynamoDB words it.
fn auth_error_body(e: &SigError) -> String {
    const INVALID: &str = "com.amazon.coral.service#InvalidSignatureException";
    match e {
        SigError::UnknownAccessKey => error_body(
            "com.amazon.coral.service#UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        SigError::Malformed(what) => error_body(
            "com.amazon.coral.service#IncompleteSignatureException",
            &format!("The request signature is malformed: {what}."),
        ),
        SigError::Expired { signed_at, now } => error_body(
            INVALID,
            &format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                format_amz_date(*signed_at),
                format_amz_date(now - MAX_SKEW_SECS),
                format_amz_date(*now),
            ),
        ),
        SigError::NotYetCurrent { signed_at, now } => error_body(
            INVALID,
            &format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                format_amz_date(*signed_at),
                format_amz_date(now + MAX_SKEW_SECS),
                format_amz_date(*now),
            ),
        ),
        SigError::PresignExpired {
            signed_at,
            expires,
            now,
        } => error_body(
            INVALID,
            &format!(
                "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                format_amz_date(*signed_at),
                format_amz_date(now - expires),
                format_amz_date(*now),
            ),
        ),
        SigError::ScopeDate {
            scope_date,
            amz_date,
        } => error_body(
            INVALID,
            &format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        ),
        SigError::WrongService { expected } => error_body(
            INVALID,
            &format!("Credential should be scoped to correct service: '{expected}'. "),
        ),
        SigError::Mismatch => error_body(
            INVALID,
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
    fn signature_errors_are_worded_as_dynamodb() {
        let (status, body) = FrontError::Auth(SigError::Expired {
            signed_at: 1_440_938_160,
            now: 1_440_938_160 + 3600,
        })
        .status_and_body();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            error_body(
                "com.amazon.coral.service#InvalidSignatureException",
                "Signature expired: 20150830T123600Z is now earlier than 20150830T132100Z \
                 (20150830T133600Z - 15 min.)"
            )
        );
        let (_, body) = FrontError::Auth(SigError::UnknownAccessKey).status_and_body();
        assert!(body.contains("#UnrecognizedClientException"), "{body}");
        assert!(body.contains("The security token included in the request is invalid."));
        let (_, body) = FrontError::Auth(SigError::Mismatch).status_and_body();
        assert!(body.contains("#InvalidSignatureException"), "{body}");
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
