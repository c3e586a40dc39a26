//! Response bodies: whole (text, JSON) or streamed from a channel. Errors are `text/plain`
//! with a message, as VictoriaLogs answers them.

use std::convert::Infallible;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

/// The body of every response. A streamed body ends with an error frame (the connection is
/// cut) when its producer fails midway, so a client never takes a partial answer for a
/// whole one.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// Chunks of a streamed body.
pub type Chunks = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// A whole body.
pub fn full(
    status: StatusCode,
    content_type: &'static str,
    bytes: impl Into<Bytes>,
) -> Response<Body> {
    let body = Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A text message (errors, `OK`).
pub fn text(status: StatusCode, message: impl std::fmt::Display) -> Response<Body> {
    full(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

/// A 400 with a message.
pub fn bad_request(message: impl std::fmt::Display) -> Response<Body> {
    text(StatusCode::BAD_REQUEST, message)
}

/// A JSON document.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    full(status, "application/json", value.to_string())
}

/// An empty body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = full(status, "text/plain; charset=utf-8", Bytes::new());
    response.headers_mut().remove(header::CONTENT_TYPE);
    response
}

/// A 200 whose body is `first` followed by whatever arrives on `rest`.
pub fn streamed(content_type: &'static str, first: Option<Bytes>, rest: Chunks) -> Response<Body> {
    let head = futures::stream::iter(first.map(Ok));
    let tail = futures::stream::unfold(rest, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let frames = head.chain(tail).map(|chunk| chunk.map(Frame::data));
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
