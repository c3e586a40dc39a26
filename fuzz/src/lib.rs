//! What the fuzz targets share: the text format their HTTP inputs use, and a runtime for the
//! async entry points. Harness code only: nothing here parses what a user sends the box.

use bytes::Bytes;

/// The line that separates two requests of one input.
pub const SEPARATOR: &[u8] = b"\n###\n";

/// The requests of one fuzz input, in order: each is an HTTP/1.1 head (request line and
/// headers, `\r\n` or `\n` line ends) and a body that runs to the next [`SEPARATOR`] line or
/// the end of the input. A `Content-Length` in the head is passed on as written, not used to
/// frame the body, so the fuzzer can make the two disagree. A head too malformed for an
/// `http::Request` is skipped.
pub fn requests(data: &[u8]) -> Vec<http::Request<Bytes>> {
    split(data).filter_map(request).collect()
}

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let chunk = rest?;
        match find(chunk, SEPARATOR) {
            Some(at) => {
                rest = Some(&chunk[at + SEPARATOR.len()..]);
                Some(&chunk[..at])
            }
            None => {
                rest = None;
                Some(chunk)
            }
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn request(chunk: &[u8]) -> Option<http::Request<Bytes>> {
    match parse(chunk) {
        Parsed::Request(request) => request,
        // A head without its blank line: the whole chunk is the head.
        Parsed::Partial => match parse(&[chunk, b"\r\n\r\n"].concat()) {
            Parsed::Request(request) => request,
            Parsed::Partial => None,
        },
    }
}

enum Parsed {
    Request(Option<http::Request<Bytes>>),
    Partial,
}

fn parse(chunk: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Request::new(&mut headers);
    let body = match head.parse(chunk) {
        Ok(httparse::Status::Complete(len)) => &chunk[len..],
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Request(None),
    };
    let (Some(method), Some(path)) = (head.method, head.path) else {
        return Parsed::Request(None);
    };
    let mut builder = http::Request::builder().method(method).uri(path);
    for header in head.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    Parsed::Request(builder.body(Bytes::copy_from_slice(body)).ok())
}

/// `data` with every `from` replaced by `to`: how a target puts values only known at run time
/// (an upload id, an extension identifier) where its input has a placeholder.
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A single-threaded runtime with paused time: a task that waits on a timer or on nothing
/// lets virtual time jump ahead, so a request that would wait forever times out at once.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_requests_and_keeps_bodies() {
        let input = b"PUT /b/k HTTP/1.1\nHost: x\n\nhello\n###\nGET /b HTTP/1.1\n\n";
        let requests = requests(input);
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].uri().path(), "/b/k");
        assert_eq!(requests[0].headers()["host"], "x");
        assert_eq!(requests[0].body().as_ref(), b"hello");
        assert_eq!(requests[1].method(), http::Method::GET);
        assert!(requests[1].body().is_empty());
    }

    #[test]
    fn a_head_without_its_blank_line_is_a_request() {
        let requests = requests(b"GET /x?a=1 HTTP/1.1\nHost: y");
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].uri().query(), Some("a=1"));
    }
}
