//! Identity sources: where an authorizer finds its token or identity values in a request
//! (`$request.header.X`, `method.request.querystring.y`, SAM's `Identity.Headers` …), and the
//! optional `Bearer` prefix on tokens.

use bytes::Bytes;
use http::Request;
use serde_json::Value;

use crate::events::{header_str, query_values};

/// One place an identity value is read from. Stage variables and `$context` values are not
/// modelled (the box has neither) and are left out when parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdentitySource {
    /// Lower-cased header name.
    Header(String),
    Query(String),
}

impl IdentitySource {
    /// Parses `$request.header.X`, `$request.querystring.x`, `method.request.header.X` or
    /// `method.request.querystring.x`.
    pub(crate) fn parse(expression: &str) -> Option<IdentitySource> {
        let rest = expression
            .strip_prefix("$request.")
            .or_else(|| expression.strip_prefix("method.request."))?;
        if let Some(name) = rest.strip_prefix("header.") {
            return Some(IdentitySource::Header(name.to_ascii_lowercase()));
        }
        rest.strip_prefix("querystring.")
            .map(|name| IdentitySource::Query(name.to_owned()))
    }

    /// The value in `request`; `None` when absent or empty, which API Gateway treats as missing.
    pub(crate) fn value(&self, request: &Request<Bytes>) -> Option<String> {
        let value = match self {
            IdentitySource::Header(name) => header_str(request.headers(), name),
            IdentitySource::Query(name) => query_values(request.uri().query())
                .get(name)
                .and_then(|values| values.first().cloned()),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

/// SAM's `Identity` object (`Header`, `Headers`, `QueryStrings`) as identity sources.
pub(crate) fn from_sam_identity(identity: Option<&Value>) -> Vec<IdentitySource> {
    let mut out = Vec::new();
    let Some(identity) = identity else {
        return out;
    };
    if let Some(header) = identity.get("Header").and_then(Value::as_str) {
        out.push(IdentitySource::Header(header.to_ascii_lowercase()));
    }
    for name in strings(identity.get("Headers")) {
        out.push(IdentitySource::Header(name.to_ascii_lowercase()));
    }
    for name in strings(identity.get("QueryStrings")) {
        out.push(IdentitySource::Query(name));
    }
    out
}

/// A string or list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The token with any `Bearer ` prefix (any case) removed and surrounding blanks trimmed.
pub(crate) fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => {
            value.get(7..).unwrap_or_default().trim()
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_expressions() {
        assert_eq!(
            IdentitySource::parse("$request.header.Authorization"),
            Some(IdentitySource::Header("authorization".into()))
        );
        assert_eq!(
            IdentitySource::parse("method.request.querystring.token"),
            Some(IdentitySource::Query("token".into()))
        );
        assert_eq!(IdentitySource::parse("$context.routeKey"), None);
    }

    #[test]
    fn sam_identity_and_bearer() {
        let sources = from_sam_identity(Some(&json!({"Headers":["X-A"],"QueryStrings":"q"})));
        assert_eq!(
            sources,
            vec![
                IdentitySource::Header("x-a".into()),
                IdentitySource::Query("q".into())
            ]
        );
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("bearer  abc "), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Bé"), "Bé");
    }

    #[test]
    fn empty_values_are_missing() {
        let request = Request::builder()
            .uri("/x?q=&r=1")
            .header("x-a", " ")
            .body(Bytes::new())
            .unwrap_or_default();
        assert_eq!(IdentitySource::Header("x-a".into()).value(&request), None);
        assert_eq!(IdentitySource::Query("q".into()).value(&request), None);
        assert_eq!(
            IdentitySource::Query("r".into()).value(&request),
            Some("1".into())
        );
    }
}
