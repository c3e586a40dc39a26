//! A function URL's streamed response (`InvokeMode: RESPONSE_STREAM`), as Lambda sends it: the
//! function's bytes go to the client as they come. A Node.js function that wraps its stream
//! with `awslambda.HttpResponseStream.from(stream, { statusCode, headers, cookies })` starts it
//! with that JSON prelude and eight NUL bytes, under the content type
//! `application/vnd.awslambda.http-integration-response`: the prelude becomes the response's
//! status and headers, the rest its body. Any other streamed response is 200 with the
//! function's content type.

use bytes::{Bytes, BytesMut};
use esb_agent::BodyStream;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};

use crate::body::GatewayBody;
use crate::response::{ResponseError, http_api_response};

/// The content type of a stream that starts with a prelude.
pub const HTTP_INTEGRATION_RESPONSE: &str = "application/vnd.awslambda.http-integration-response";
/// What ends the prelude.
const DELIMITER: [u8; 8] = [0; 8];
/// The most read while looking for the end of the prelude.
const MAX_PRELUDE: usize = 64 * 1024;

/// Why a streamed response cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum StreamedError {
    #[error("the stream ended before the end of its prelude (eight NUL bytes)")]
    NoDelimiter,
    #[error("the prelude is longer than {MAX_PRELUDE} bytes")]
    PreludeTooLong,
    #[error("the stream failed before its prelude ended: {0}")]
    Stream(String),
    #[error("the prelude is not a valid response head: {0}")]
    Prelude(#[from] ResponseError),
}

/// The response for a streamed result with `content_type`: its head now, its body as it comes.
pub async fn response(
    content_type: Option<&str>,
    mut stream: BodyStream,
) -> Result<Response<GatewayBody>, StreamedError> {
    if content_type != Some(HTTP_INTEGRATION_RESPONSE) {
        let mut response = Response::new(GatewayBody::stream(Bytes::new(), stream));
        let content_type = content_type.unwrap_or("application/octet-stream");
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        return Ok(response);
    }
    let mut read = BytesMut::new();
    let end = loop {
        if let Some(at) = read.windows(DELIMITER.len()).position(|w| w == DELIMITER) {
            break at;
        }
        if read.len() > MAX_PRELUDE {
            return Err(StreamedError::PreludeTooLong);
        }
        match stream.next().await {
            Some(Ok(chunk)) => read.extend_from_slice(&chunk),
            Some(Err(error)) => return Err(StreamedError::Stream(error.to_string())),
            None => return Err(StreamedError::NoDelimiter),
        }
    };
    let rest = read.split_off(end + DELIMITER.len()).freeze();
    let head = head(&read[..end])?;
    let (parts, _) = head.into_parts();
    Ok(Response::from_parts(
        parts,
        GatewayBody::stream(rest, stream),
    ))
}

/// The prelude as a response head: `{statusCode, headers, cookies}` read as an HTTP API
/// response is (payload format 2.0), an empty prelude as 200.
fn head(prelude: &[u8]) -> Result<Response<Bytes>, ResponseError> {
    if prelude.iter().all(u8::is_ascii_whitespace) {
        return http_api_response(br#"{"statusCode": 200}"#);
    }
    http_api_response(prelude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prelude_is_a_status_headers_and_cookies() {
        let parsed =
            head(br#"{"statusCode": 201, "headers": {"x-kind": "stream"}, "cookies": ["a=1"]}"#)
                .expect("a valid prelude");
        assert_eq!(parsed.status(), 201);
        assert_eq!(parsed.headers()["x-kind"], "stream");
        assert_eq!(parsed.headers()["set-cookie"], "a=1");
        assert_eq!(head(b"").expect("empty").status(), 200);
        assert!(head(br#"{"statusCode": "teapot"}"#).is_err());
    }
}
