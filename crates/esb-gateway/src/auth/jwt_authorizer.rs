//! Template-declared token authorizers checked in process: HTTP API JWT authorizers
//! (`JwtConfiguration {issuer, audience}`) and REST Cognito user pool authorizers. A valid token
//! has a good signature (HS256 with the ESB secret; RS256/ES256 with the authorizer's JWKS),
//! `exp`/`nbf` in range, and for JWT authorizers the configured `iss` and one of the audiences
//! in `aud` (or in `client_id` when there is no `aud`), as API Gateway checks.
//! A route's `AuthorizationScopes` pass when the token's `scope`/`scp` holds at least one.

use bytes::Bytes;
use esb_model::RouteKind;
use http::Request;
use serde_json::{Map, Value, json};

use super::identity::{IdentitySource, strings, strip_bearer};
use super::jwt::{self, Claims, KeySet};
use super::responses::Refusal;

#[derive(Debug)]
pub(crate) struct JwtAuthorizer {
    /// `None` for Cognito authorizers, which check neither issuer nor audience here.
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Vec<String>,
    pub(crate) source: IdentitySource,
    pub(crate) keys: KeySet,
}

impl JwtAuthorizer {
    /// From an HTTP API JWT authorizer's properties.
    pub(crate) fn jwt(properties: &Value, keys: KeySet) -> JwtAuthorizer {
        let config = properties.get("JwtConfiguration");
        let field = |name: &str| {
            config.and_then(|c| c.get(name).or_else(|| c.get(capitalize(name).as_str())))
        };
        JwtAuthorizer {
            issuer: field("issuer").and_then(Value::as_str).map(str::to_owned),
            audience: strings(field("audience")),
            source: identity_source(properties.get("IdentitySource"))
                .unwrap_or_else(|| IdentitySource::Header("authorization".into())),
            keys,
        }
    }

    /// From a REST Cognito authorizer's properties (`Identity.Header`, default Authorization).
    pub(crate) fn cognito(properties: &Value, keys: KeySet) -> JwtAuthorizer {
        let header = properties
            .get("Identity")
            .and_then(|i| i.get("Header"))
            .and_then(Value::as_str)
            .unwrap_or("Authorization");
        JwtAuthorizer {
            issuer: None,
            audience: Vec::new(),
            source: IdentitySource::Header(header.to_ascii_lowercase()),
            keys,
        }
    }

    /// The authorizer context on success; why not otherwise.
    pub(crate) fn authorize(
        &self,
        request: &Request<Bytes>,
        scopes: &[String],
        kind: RouteKind,
        now: u64,
    ) -> Result<Value, Refusal> {
        let value = self.source.value(request).ok_or(Refusal::Unauthorized)?;
        let claims = jwt::verify(strip_bearer(&value), &self.keys, now)
            .map_err(|_| Refusal::Unauthorized)?;
        if !self.issuer_ok(&claims) || !self.audience_ok(&claims) {
            return Err(Refusal::Unauthorized);
        }
        let token_scopes = token_scopes(&claims);
        if !scopes.is_empty() && !scopes.iter().any(|s| token_scopes.contains(s)) {
            return Err(Refusal::Forbidden);
        }
        Ok(context(&claims, &token_scopes, kind))
    }

    fn issuer_ok(&self, claims: &Claims) -> bool {
        match &self.issuer {
            None => true,
            Some(issuer) => claims.get("iss").and_then(Value::as_str) == Some(issuer.as_str()),
        }
    }

    fn audience_ok(&self, claims: &Claims) -> bool {
        if self.audience.is_empty() {
            return true;
        }
        let presented = match claims.get("aud") {
            Some(aud) => strings(Some(aud)),
            None => strings(claims.get("client_id")),
        };
        presented.iter().any(|a| self.audience.contains(a))
    }
}

/// `$request.header.Authorization`, or the first of a list of such expressions.
fn identity_source(value: Option<&Value>) -> Option<IdentitySource> {
    strings(value)
        .first()
        .and_then(|e| IdentitySource::parse(e))
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The token's scopes: `scope` (space-separated) or `scp` (a list or a string).
pub(crate) fn token_scopes(claims: &Claims) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        for value in strings(claims.get(name)) {
            out.extend(value.split_whitespace().map(str::to_owned));
        }
    }
    out
}

/// The authorizer context: claims as strings, as API Gateway passes them. HTTP API routes get
/// `{"jwt":{"claims","scopes"}}`, REST routes `{"claims"}`.
pub(crate) fn context(claims: &Claims, scopes: &[String], kind: RouteKind) -> Value {
    let claims: Map<String, Value> = claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(claim_string(v))))
        .collect();
    match kind {
        RouteKind::Rest => json!({ "claims": claims }),
        _ => {
            let scopes = if scopes.is_empty() {
                Value::Null
            } else {
                Value::from(scopes.to_vec())
            };
            json!({ "jwt": { "claims": claims, "scopes": scopes } })
        }
    }
}

/// A claim as API Gateway renders it: strings as is, lists as `[a b]`, others as JSON.
fn claim_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(claim_string).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sam_properties() {
        let a = JwtAuthorizer::jwt(
            &json!({"IdentitySource":"$request.header.X-Token",
                    "JwtConfiguration":{"issuer":"https://i","audience":["a","b"]}}),
            KeySet::default(),
        );
        assert_eq!(a.issuer.as_deref(), Some("https://i"));
        assert_eq!(a.audience, vec!["a", "b"]);
        assert_eq!(a.source, IdentitySource::Header("x-token".into()));
    }

    #[test]
    fn scopes_and_claim_strings() {
        let mut claims = Claims::new();
        claims.insert("scope".into(), json!("read write"));
        claims.insert("scp".into(), json!(["admin"]));
        claims.insert("groups".into(), json!(["g1", "g2"]));
        claims.insert("exp".into(), json!(5));
        assert_eq!(token_scopes(&claims), vec!["read", "write", "admin"]);
        let ctx = context(&claims, &[], RouteKind::Rest);
        assert_eq!(ctx["claims"]["groups"], "[g1 g2]");
        assert_eq!(ctx["claims"]["exp"], "5");
        let ctx = context(&claims, &["read".into()], RouteKind::Http);
        assert_eq!(ctx["jwt"]["scopes"], json!(["read"]));
    }
}
