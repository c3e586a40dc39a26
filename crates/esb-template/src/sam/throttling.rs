//! Stage throttling an API declares: a REST API's `MethodSettings`, an HTTP API's
//! `DefaultRouteSettings` and `RouteSettings`. Settings that are not throttling (logging,
//! metrics, data traces) change nothing a client sees and are dropped; response caching would,
//! so it is reported as not served.

use esb_model::{ApiKind, MethodThrottling, Throttle};
use serde_json::{Map, Value};

use super::properties::{Props, as_bool, as_string, as_u32};
use crate::TemplateError;

/// The API's throttling settings, most specific first, so the first that covers a route is the
/// one API Gateway applies to it.
pub(crate) fn stage_throttling(
    props: &Props,
    kind: ApiKind,
) -> Result<Vec<MethodThrottling>, TemplateError> {
    let mut settings = match kind {
        ApiKind::Rest => method_settings(props)?,
        ApiKind::Http => route_settings(props)?,
    };
    settings.sort_by_key(|s| (s.path == "/*", s.method == "*"));
    Ok(settings)
}

/// `MethodSettings: [{ResourcePath, HttpMethod, ThrottlingRateLimit, ThrottlingBurstLimit}]`.
fn method_settings(props: &Props) -> Result<Vec<MethodThrottling>, TemplateError> {
    let Some(value) = props.value("MethodSettings")? else {
        return Ok(Vec::new());
    };
    let Value::Array(entries) = value else {
        return Err(props.error("MethodSettings", "must be a list"));
    };
    let mut settings = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("MethodSettings[{i}]");
        let Value::Object(entry) = entry else {
            return Err(props.error(&at, "must be a mapping"));
        };
        if let Some(caching) = entry.get("CachingEnabled")
            && as_bool(props, &format!("{at}.CachingEnabled"), caching)?
        {
            props.resolver.warn(
                props.logical_id,
                format!("{at}.CachingEnabled is not served: responses are not cached"),
            );
        }
        let Some(limits) = limits(props, &at, entry)? else {
            continue;
        };
        let path = match entry.get("ResourcePath") {
            Some(path) => resource_path(&as_string(props, &format!("{at}.ResourcePath"), path)?),
            None => "/*".to_string(),
        };
        let method = match entry.get("HttpMethod") {
            Some(method) => {
                as_string(props, &format!("{at}.HttpMethod"), method)?.to_ascii_uppercase()
            }
            None => "*".to_string(),
        };
        settings.push(MethodThrottling {
            path,
            method,
            limits,
        });
    }
    Ok(settings)
}

/// `DefaultRouteSettings` covers every route; `RouteSettings` is keyed by route key
/// (`GET /items`, `$default`).
fn route_settings(props: &Props) -> Result<Vec<MethodThrottling>, TemplateError> {
    let mut settings = Vec::new();
    if let Some(default) = props.object("DefaultRouteSettings")?
        && let Some(limits) = limits(props, "DefaultRouteSettings", &default)?
    {
        settings.push(MethodThrottling {
            path: "/*".into(),
            method: "*".into(),
            limits,
        });
    }
    for (route_key, entry) in props.object("RouteSettings")?.unwrap_or_default() {
        let at = format!("RouteSettings.{route_key}");
        let Value::Object(entry) = entry else {
            return Err(props.error(&at, "must be a mapping"));
        };
        let Some(limits) = limits(props, &at, &entry)? else {
            continue;
        };
        let (method, path) = match route_key.split_once(' ') {
            Some((method, path)) => (method.to_ascii_uppercase(), path.to_string()),
            None => ("*".to_string(), route_key.clone()),
        };
        let method = if method == "ANY" { "*".into() } else { method };
        settings.push(MethodThrottling {
            path,
            method,
            limits,
        });
    }
    Ok(settings)
}

/// `ThrottlingRateLimit` and `ThrottlingBurstLimit`; `None` when the entry sets neither.
fn limits(
    props: &Props,
    at: &str,
    entry: &Map<String, Value>,
) -> Result<Option<Throttle>, TemplateError> {
    let rate_limit = entry
        .get("ThrottlingRateLimit")
        .map(|v| rate(props, &format!("{at}.ThrottlingRateLimit"), v))
        .transpose()?;
    let burst_limit = entry
        .get("ThrottlingBurstLimit")
        .map(|v| as_u32(props, &format!("{at}.ThrottlingBurstLimit"), v))
        .transpose()?;
    Ok(
        (rate_limit.is_some() || burst_limit.is_some()).then_some(Throttle {
            rate_limit,
            burst_limit,
        }),
    )
}

/// A non-negative number of requests a second.
pub(crate) fn rate(props: &Props, at: &str, value: &Value) -> Result<f64, TemplateError> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed
        .filter(|r: &f64| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| {
            props.error(
                at,
                format!("must be a number of requests a second, got {value}"),
            )
        })
}

/// `/~1items~1{id}` (slashes escaped, as `MethodSettings` writes them) → `/items/{id}`; `/*`
/// and `/` as they are.
fn resource_path(written: &str) -> String {
    if written == "/*" || written == "/" {
        return written.to_string();
    }
    let unescaped = written.replace("~1", "/").replace("~0", "~");
    if unescaped.starts_with("//") {
        unescaped[1..].to_string()
    } else if unescaped.starts_with('/') {
        unescaped
    } else {
        format!("/{unescaped}")
    }
}

#[cfg(test)]
mod tests {
    use super::resource_path;

    #[test]
    fn resource_paths_are_unescaped() {
        assert_eq!(resource_path("/*"), "/*");
        assert_eq!(resource_path("/"), "/");
        assert_eq!(resource_path("/~1items~1{id}"), "/items/{id}");
        assert_eq!(resource_path("/items"), "/items");
    }
}
