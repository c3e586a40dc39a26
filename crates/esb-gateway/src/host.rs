//! RFC 9112's rules for the request's host (section 3.2): an HTTP/1.1 request without a `Host`
//! header, or any request with two, is refused with 400; an absolute-form target
//! (`GET http://example.com/x`) names the host, whatever `Host` says. Function URLs route by
//! host and events carry it, so it is settled once, before anything reads it.

use http::header::HOST;
use http::{HeaderValue, Version};

/// Settles the request's `Host` header; `Err` when the request must be refused with 400.
pub fn settle(parts: &mut http::request::Parts) -> Result<(), InvalidHost> {
    let count = parts.headers.get_all(HOST).iter().count();
    if count > 1 {
        return Err(InvalidHost::Repeated);
    }
    if count == 0 && parts.version == Version::HTTP_11 {
        return Err(InvalidHost::Missing);
    }
    // HTTP/2's `:authority` arrives the same way; it names the host too.
    if let Some(authority) = parts.uri.authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(HOST, value);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidHost {
    Missing,
    Repeated,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: Version, uri: &str, hosts: &[&str]) -> http::request::Parts {
        let mut builder = http::Request::builder().version(version).uri(uri);
        for host in hosts {
            builder = builder.header(HOST, *host);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn http_1_1_needs_exactly_one_host() {
        let mut missing = parts(Version::HTTP_11, "/x", &[]);
        assert_eq!(settle(&mut missing), Err(InvalidHost::Missing));
        let mut twice = parts(Version::HTTP_11, "/x", &["a", "b"]);
        assert_eq!(settle(&mut twice), Err(InvalidHost::Repeated));
        let mut once = parts(Version::HTTP_11, "/x", &["a"]);
        assert_eq!(settle(&mut once), Ok(()));
        assert_eq!(once.headers[HOST], "a");
    }

    #[test]
    fn http_1_0_and_http_2_may_leave_host_out_but_never_repeat_it() {
        assert_eq!(settle(&mut parts(Version::HTTP_10, "/x", &[])), Ok(()));
        let mut h2 = parts(Version::HTTP_2, "https://fn.example:8443/x", &[]);
        assert_eq!(settle(&mut h2), Ok(()));
        assert_eq!(h2.headers[HOST], "fn.example:8443");
        let mut twice = parts(Version::HTTP_10, "/x", &["a", "a"]);
        assert_eq!(settle(&mut twice), Err(InvalidHost::Repeated));
    }

    #[test]
    fn an_absolute_form_target_wins_over_host() {
        let mut absolute = parts(
            Version::HTTP_11,
            "http://right.example/x",
            &["wrong.example"],
        );
        assert_eq!(settle(&mut absolute), Ok(()));
        assert_eq!(absolute.headers[HOST], "right.example");
        assert_eq!(absolute.uri.path(), "/x");
    }
}
