//! Which request bodies travel base64-encoded inside an event, and how a body becomes the
//! event's `body` / `isBase64Encoded` pair.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The media type of a `Content-Type` value: the part before any `;` parameters, trimmed and
/// lower-cased (`Text/HTML; charset=utf-8` → `text/html`).
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// True when `content_type` matches one of a REST API's `BinaryMediaTypes`.
///
/// Patterns are `type/subtype` where either half may be `*` (`image/*`, `*/*`); SAM templates
/// may write the slash as `~1` (`image~1png`), which is accepted too. Matching ignores case and
/// parameters. A request without a `Content-Type` matches only `*/*`.
pub fn matches_media_types(content_type: Option<&str>, patterns: &[String]) -> bool {
    let media = content_type.map(media_type).unwrap_or_default();
    let (ty, sub) = media.split_once('/').unwrap_or((media.as_str(), ""));
    patterns.iter().any(|pattern| {
        let pattern = pattern.replace("~1", "/").to_ascii_lowercase();
        let pattern = media_type(&pattern);
        let (pty, psub) = pattern.split_once('/').unwrap_or((pattern.as_str(), ""));
        if pty == "*" && psub == "*" {
            return true;
        }
        !media.is_empty() && (pty == "*" || pty == ty) && (psub == "*" || psub == sub)
    })
}

/// True when an HTTP API passes a body of this content type to Lambda as plain text.
///
/// HTTP APIs have no binary media type setting: API Gateway infers the encoding from the
/// request's `Content-Type`, sending textual types as they are and base64-encoding everything
/// else, including requests without a content type (AWS Compute Blog, "Handling binary data
/// using Amazon API Gateway HTTP APIs"; the same rule as Lambda function URLs). We count as
/// textual: `text/*`, JSON, JavaScript and XML (`application/json`, `application/javascript`,
/// `application/xml`, and any `+json` / `+xml` structured suffix). Form posts
/// (`application/x-www-form-urlencoded`) arrive base64-encoded on AWS, so they do here too.
pub fn is_textual_media_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let media = media_type(content_type);
    let Some((ty, sub)) = media.split_once('/') else {
        return false;
    };
    match ty {
        "text" => true,
        "application" => {
            matches!(
                sub,
                "json" | "javascript" | "ecmascript" | "x-javascript" | "xml"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml")
        }
        _ => false,
    }
}

/// The event's `body` and `isBase64Encoded` for a request body: `None` when empty, base64 when
/// `binary` or when the bytes are not valid UTF-8 (text fields must hold text), else the text.
pub(crate) fn event_body(body: &[u8], binary: bool) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    if !binary && let Ok(text) = std::str::from_utf8(body) {
        return (Some(text.to_owned()), false);
    }
    (Some(STANDARD.encode(body)), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn binary_media_types_match_exact_wildcard_and_tilde_forms() {
        let t = types(&["image/png", "application/*", "audio~1mpeg"]);
        assert!(matches_media_types(Some("image/png"), &t));
        assert!(matches_media_types(Some("IMAGE/PNG; q=1"), &t));
        assert!(matches_media_types(Some("application/octet-stream"), &t));
        assert!(matches_media_types(Some("audio/mpeg"), &t));
        assert!(!matches_media_types(Some("image/jpeg"), &t));
        assert!(!matches_media_types(None, &t));
        assert!(!matches_media_types(Some("garbage"), &t));
        let all = types(&["*/*"]);
        assert!(matches_media_types(Some("text/plain"), &all));
        assert!(matches_media_types(None, &all));
        assert!(!matches_media_types(Some("text/plain"), &[]));
    }

    #[test]
    fn textual_types_follow_the_http_api_rule() {
        for t in [
            "text/plain",
            "text/html; charset=utf-8",
            "application/json",
            "application/problem+json",
            "application/xml",
            "application/atom+xml",
            "application/javascript",
        ] {
            assert!(is_textual_media_type(Some(t)), "{t}");
        }
        for t in [
            "application/octet-stream",
            "image/png",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
            "json",
        ] {
            assert!(!is_textual_media_type(Some(t)), "{t}");
        }
        assert!(!is_textual_media_type(None));
    }

    #[test]
    fn event_body_encodes_binary_and_invalid_utf8() {
        assert_eq!(event_body(b"", true), (None, false));
        assert_eq!(event_body(b"hi", false), (Some("hi".into()), false));
        assert_eq!(event_body(b"hi", true), (Some("aGk=".into()), true));
        assert_eq!(
            event_body(&[0xff, 0xfe], false),
            (Some("//4=".into()), true)
        );
    }
}
