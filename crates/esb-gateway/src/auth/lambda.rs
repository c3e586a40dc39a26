//! Lambda authorizers: builds the TOKEN or REQUEST event API Gateway sends (REST, HTTP API
//! payload format 1.0 or 2.0), invokes the authorizer through an [`AuthorizerInvoker`], caches
//! its output per identity for `ReauthorizeEvery` seconds, and turns the output — an IAM policy
//! or, with `EnableSimpleResponses`, `{"isAuthorized", "context"}` — into a decision.
//!
//! Status codes follow API Gateway: a missing identity source or a token failing
//! `ValidationExpression` is 401 without invoking; an authorizer failing with the message
//! `Unauthorized` is 401; a denying policy or `isAuthorized: false` is 403; any other authorizer
//! failure or an unusable output is 500.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use esb_model::{Api, ApiKind, Authorizer};
use http::Request;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::cache::Cache;
use super::error::AuthError;
use super::identity::{IdentitySource, from_sam_identity};
use super::policy::{self, PolicyOutcome};
use super::responses::Refusal;
use crate::{ACCOUNT_ID, EventContext, Matched, http_api_event, rest_event};

/// The future an [`AuthorizerInvoker`] returns.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send + 'a>>;

/// Invokes an authorizer function synchronously (`RequestResponse`).
pub trait AuthorizerInvoker: Send + Sync {
    /// The function's output; `Err` with the function's `errorMessage` when it failed (or the
    /// reason it could not be invoked). An error message `Unauthorized` becomes a 401.
    fn invoke<'a>(&'a self, function: &'a str, payload: Bytes) -> InvokeFuture<'a>;
}

/// Cache TTL when `ReauthorizeEvery` is not set.
const DEFAULT_TTL_SECS: u64 = 300;

#[derive(Debug)]
enum Mode {
    Token {
        source: IdentitySource,
        validation: Option<Regex>,
    },
    Request {
        sources: Vec<IdentitySource>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rest,
    HttpV1,
    HttpV2,
}

#[derive(Debug)]
pub(crate) struct LambdaAuthorizer {
    cache_key: String,
    function: String,
    mode: Mode,
    format: Format,
    simple_responses: bool,
    ttl: Duration,
}

/// What the gateway needs besides the request to run an authorizer.
pub(crate) struct Call<'a> {
    pub(crate) request: &'a Request<Bytes>,
    pub(crate) matched: &'a Matched<'a>,
    pub(crate) context: &'a EventContext,
    pub(crate) region: &'a str,
    pub(crate) invoker: &'a dyn AuthorizerInvoker,
    pub(crate) cache: &'a Cache,
    pub(crate) now: SystemTime,
}

impl LambdaAuthorizer {
    pub(crate) fn new(api: &Api, authorizer: &Authorizer) -> Result<LambdaAuthorizer, AuthError> {
        let props = &authorizer.properties;
        let fail = |reason: String| AuthError::Authorizer {
            api: api.logical_id.clone(),
            authorizer: authorizer.name.clone(),
            reason,
        };
        let arn = props
            .get("FunctionArn")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("FunctionArn is missing or not resolved to a string".into()))?;
        let identity = props.get("Identity");
        let ttl = identity
            .and_then(|i| i.get("ReauthorizeEvery"))
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(DEFAULT_TTL_SECS);
        let format = match api.kind {
            ApiKind::Rest => Format::Rest,
            ApiKind::Http => {
                let version = props.get("AuthorizerPayloadFormatVersion");
                let v1 = version.and_then(Value::as_str) == Some("1.0")
                    || version.and_then(Value::as_f64) == Some(1.0);
                if v1 { Format::HttpV1 } else { Format::HttpV2 }
            }
        };
        let mode = if authorizer.kind == "lambda-token" && format == Format::Rest {
            let header = identity
                .and_then(|i| i.get("Header"))
                .and_then(Value::as_str)
                .unwrap_or("Authorization");
            let validation = identity
                .and_then(|i| i.get("ValidationExpression"))
                .and_then(Value::as_str)
                .map(|pattern| Regex::new(&format!("^(?:{pattern})$")))
                .transpose()
                .map_err(|e| fail(format!("ValidationExpression is not a valid regex: {e}")))?;
            Mode::Token {
                source: IdentitySource::Header(header.to_ascii_lowercase()),
                validation,
            }
        } else {
            Mode::Request {
                sources: from_sam_identity(identity),
            }
        };
        Ok(LambdaAuthorizer {
            cache_key: format!("{}/{}", api.logical_id, authorizer.name),
            function: function_name(arn).to_owned(),
            mode,
            format,
            simple_responses: props
                .get("EnableSimpleResponses")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ttl: Duration::from_secs(ttl),
        })
    }

    /// The authorizer context on success; the refusal otherwise.
    pub(crate) async fn authorize(&self, call: Call<'_>) -> Result<Value, Refusal> {
        let identity = self.identity(call.request)?;
        let arn = method_arn(&call);
        let key = (self.cache_key.clone(), identity.join("\n"));
        let cacheable = !identity.is_empty();
        let cached = if cacheable {
            call.cache.get(&key, call.now)
        } else {
            None
        };
        let output = match cached {
            Some(output) => output,
            None => {
                let event = self.event(&call, &identity, &arn);
                let payload = Bytes::from(event.to_string());
                let bytes = match call.invoker.invoke(&self.function, payload).await {
                    Ok(bytes) => bytes,
                    Err(message) if is_unauthorized(&message) => {
                        return Err(Refusal::Unauthorized);
                    }
                    Err(message) => {
                        tracing::warn!(function = %self.function, error = %message, "Lambda authorizer failed");
                        return Err(Refusal::AuthorizerFailure);
                    }
                };
                let output: Value = serde_json::from_slice(&bytes).map_err(|_| {
                    tracing::warn!(function = %self.function, "Lambda authorizer output is not JSON");
                    Refusal::AuthorizerFailure
                })?;
                if cacheable {
                    call.cache.insert(key, output.clone(), self.ttl, call.now);
                }
                output
            }
        };
        self.interpret(&output, &arn).inspect_err(|refusal| {
            if *refusal == Refusal::AuthorizerFailure {
                tracing::warn!(function = %self.function, %output, "unusable Lambda authorizer output");
            }
        })
    }

    /// The identity values, or 401 when one is missing or fails validation.
    fn identity(&self, request: &Request<Bytes>) -> Result<Vec<String>, Refusal> {
        match &self.mode {
            Mode::Token { source, validation } => {
                let token = source.value(request).ok_or(Refusal::Unauthorized)?;
                if validation.as_ref().is_some_and(|re| !re.is_match(&token)) {
                    return Err(Refusal::Unauthorized);
                }
                Ok(vec![token])
            }
            Mode::Request { sources } => sources
                .iter()
                .map(|s| s.value(request).ok_or(Refusal::Unauthorized))
                .collect(),
        }
    }

    fn event(&self, call: &Call<'_>, identity: &[String], arn: &str) -> Value {
        if let Mode::Token { .. } = self.mode {
            let token = identity.first().cloned().unwrap_or_default();
            return json!({"type": "TOKEN", "authorizationToken": token, "methodArn": arn});
        }
        let mut head = Map::new();
        let base = match self.format {
            Format::HttpV2 => {
                head.insert("version".into(), json!("2.0"));
                head.insert("type".into(), json!("REQUEST"));
                head.insert("routeArn".into(), json!(arn));
                head.insert("identitySource".into(), json!(identity));
                serde_json::to_value(http_api_event(call.request, call.matched, call.context))
            }
            Format::HttpV1 | Format::Rest => {
                if self.format == Format::HttpV1 {
                    head.insert("version".into(), json!("1.0"));
                }
                head.insert("type".into(), json!("REQUEST"));
                head.insert("methodArn".into(), json!(arn));
                if self.format == Format::HttpV1 {
                    head.insert("identitySource".into(), json!(identity.join(",")));
                    head.insert("authorizationToken".into(), json!(identity.join(",")));
                }
                serde_json::to_value(rest_event(call.request, call.matched, call.context))
            }
        };
        if let Ok(Value::Object(fields)) = base {
            for (name, value) in fields {
                if name != "body" && name != "isBase64Encoded" && !head.contains_key(&name) {
                    head.insert(name, value);
                }
            }
        }
        Value::Object(head)
    }

    fn interpret(&self, output: &Value, arn: &str) -> Result<Value, Refusal> {
        let failure = || Refusal::AuthorizerFailure;
        let context = output.get("context").cloned().unwrap_or_else(|| json!({}));
        let Value::Object(context) = context else {
            return Err(failure());
        };
        if self.format == Format::HttpV2 && self.simple_responses {
            return match output.get("isAuthorized").and_then(Value::as_bool) {
                Some(true) => Ok(json!({ "lambda": context })),
                Some(false) => Err(Refusal::Forbidden),
                None => Err(failure()),
            };
        }
        let document = output.get("policyDocument").ok_or_else(failure)?;
        let principal = output.get("principalId").and_then(Value::as_str);
        if self.format == Format::Rest && principal.is_none() {
            return Err(failure());
        }
        match policy::evaluate(document, arn).map_err(|_| failure())? {
            PolicyOutcome::ExplicitDeny => Err(Refusal::PolicyDenied { explicit: true }),
            PolicyOutcome::ImplicitDeny => Err(Refusal::PolicyDenied { explicit: false }),
            PolicyOutcome::Allow if self.format == Format::Rest => {
                if context.values().any(|v| v.is_object() || v.is_array()) {
                    return Err(failure());
                }
                let mut out = Map::new();
                out.insert("principalId".into(), json!(principal.unwrap_or_default()));
                out.extend(context);
                Ok(Value::Object(out))
            }
            PolicyOutcome::Allow => Ok(json!({ "lambda": context })),
        }
    }
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`.
fn method_arn(call: &Call<'_>) -> String {
    let path = call
        .matched
        .path
        .strip_prefix('/')
        .unwrap_or(&call.matched.path);
    format!(
        "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
        call.region,
        ACCOUNT_ID,
        call.matched.api.logical_id,
        call.matched.api.stage_name,
        call.request.method().as_str(),
        path
    )
}

/// The function name in a Lambda ARN (`…:function:name[:qualifier]`), or the text as is.
pub(crate) fn function_name(arn: &str) -> &str {
    match arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => arn,
    }
}

/// An authorizer failing with `Unauthorized` (plain, or as `errorMessage` in an error payload).
fn is_unauthorized(message: &str) -> bool {
    if message.trim() == "Unauthorized" {
        return true;
    }
    serde_json::from_str::<Value>(message)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(|m| m == "Unauthorized")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:auth"),
            "auth"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:auth:live"),
            "auth"
        );
        assert_eq!(function_name("auth"), "auth");
    }

    #[test]
    fn unauthorized_messages() {
        assert!(is_unauthorized("Unauthorized"));
        assert!(is_unauthorized(
            r#"{"errorMessage":"Unauthorized","errorType":"Error"}"#
        ));
        assert!(!is_unauthorized("boom"));
    }
}
