//! Lambda proxy events built from an HTTP request and its matched route: the shared context
//! and request parsing; one submodule per payload format.

pub mod http_api;
pub mod rest;

use http::{HeaderMap, Version};
use indexmap::IndexMap;
use percent_encoding::percent_decode_str;

/// The account id events carry, the same placeholder `sam local` uses.
pub const ACCOUNT_ID: &str = "123456789012";

/// What the gateway knows about a request beyond the request itself.
#[derive(Debug, Clone, PartialEq)]
pub struct EventContext {
    pub request_id: String,
    pub source_ip: String,
    pub stage: String,
    /// The API's logical id.
    pub api_id: String,
    /// The `Host` header, or `localhost`.
    pub domain_name: String,
    pub request_time_epoch_ms: u64,
    /// `requestContext.authorizer`, when an authorizer ran.
    pub authorizer: Option<serde_json::Value>,
    /// The API key a REST request was admitted with (`requestContext.identity.apiKey`).
    pub api_key: Option<crate::limits::KeyIdentity>,
}

/// Header values by lower-cased name, in first-seen order; values that are not UTF-8 are
/// decoded lossily.
pub(crate) fn header_values(headers: &HeaderMap) -> IndexMap<String, Vec<String>> {
    let mut out: IndexMap<String, Vec<String>> = IndexMap::new();
    for (name, value) in headers {
        out.entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    out
}

/// The first value of a header as text, if any.
pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Query parameters in order, names and values percent-decoded. `+` stays `+`: API Gateway
/// decodes percent escapes only. Pairs with an empty name are dropped; a name without `=` has
/// an empty value.
pub(crate) fn query_values(query: Option<&str>) -> IndexMap<String, Vec<String>> {
    let mut out: IndexMap<String, Vec<String>> = IndexMap::new();
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode_str(name).decode_utf8_lossy().into_owned();
        if name.is_empty() {
            continue;
        }
        let value = percent_decode_str(value).decode_utf8_lossy().into_owned();
        out.entry(name).or_default().push(value);
    }
    out
}

/// `HTTP/1.1` and friends.
pub(crate) fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The first label of a domain name, without any port (`localhost:8443` → `localhost`,
/// `api.example.com` → `api`).
pub(crate) fn domain_prefix(domain_name: &str) -> String {
    let host = domain_name.split(':').next().unwrap_or_default();
    host.split('.').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode_and_group() {
        let q = query_values(Some("a=1&a=2&b=x%20y&c&=skip&d=1+1&&e=%ZZ"));
        assert_eq!(q["a"], vec!["1", "2"]);
        assert_eq!(q["b"], vec!["x y"]);
        assert_eq!(q["c"], vec![""]);
        assert_eq!(q["d"], vec!["1+1"]);
        assert_eq!(q["e"], vec!["%ZZ"]);
        assert_eq!(q.len(), 5);
        assert!(query_values(None).is_empty());
        assert!(query_values(Some("")).is_empty());
    }

    #[test]
    fn domain_prefix_is_first_label() {
        assert_eq!(domain_prefix("api.example.com"), "api");
        assert_eq!(domain_prefix("localhost:8443"), "localhost");
    }
}
