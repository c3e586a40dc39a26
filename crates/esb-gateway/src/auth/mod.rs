//! Authentication and authorization in front of API routes.
//!
//! Two layers, both optional:
//! - **ESB mode** (the original ESB's auth; on when users and an API key are configured, or
//!   forced): `POST {login_path}` issues HS256 ID tokens ([`Auth::login`]), and every API route
//!   then needs `Authorization: Bearer <IdToken>`. The token stands in for the route's own
//!   authorizer (Cognito-like claims in `requestContext.authorizer`), so template-declared
//!   JWT, Cognito and Lambda authorizers are not run in ESB mode.
//! - **Template-declared auth** per route: HTTP API JWT and REST Cognito authorizers checked
//!   in process, and Lambda authorizers invoked through an [`AuthorizerInvoker`]. `AWS_IAM`
//!   routes are let through unchecked (requests are not SigV4-verified locally).
//!
//! `ApiKeyRequired` is checked after auth, with usage plans, in [`crate::limits`].
//!
//! The gateway calls [`Auth::login`] before routing and [`Auth::authorize`] after matching,
//! before building the event; [`AuthDecision::Allow`] carries `requestContext.authorizer`.

mod cache;
mod config;
mod error;
mod esb;
mod identity;
mod jwks;
mod jwt;
mod jwt_authorizer;
mod lambda;
mod policy;
mod responses;

use std::time::UNIX_EPOCH;

use bytes::Bytes;
use esb_model::artifacts::RoutingFile;
use esb_model::{Api, Authorizer};
use http::{Request, Response};
use indexmap::IndexMap;
use serde_json::Value;

pub use config::{AuthConfig, Clock, DEFAULT_LOGIN_PATH, JwksSource, MIN_SECRET_LEN};
pub use error::AuthError;
pub use esb::{AUTHORIZED_HEADER, sub_for};
pub use lambda::{AuthorizerInvoker, InvokeFuture};

use cache::Cache;
use esb::EsbAuth;
pub(crate) use esb::{constant_time_eq, is_one_of};
use jwt::KeySet;
use jwt_authorizer::JwtAuthorizer;
use lambda::{Call, LambdaAuthorizer};
use responses::Refusal;

use crate::{EventContext, Matched};

/// The outcome of [`Auth::authorize`].
#[derive(Debug)]
pub enum AuthDecision {
    /// Go on; `context` becomes `requestContext.authorizer` when present.
    Allow { context: Option<Value> },
    /// Answer with this response instead of invoking the function.
    Deny(Response<Bytes>),
}

/// One template authorizer, ready to run.
#[derive(Debug)]
enum Check {
    Token(JwtAuthorizer),
    Lambda(LambdaAuthorizer),
    /// `AWS_IAM` / `iam`: not verified locally.
    Iam,
}

/// Auth for every API of one `routing.yml`.
pub struct Auth {
    api_keys: Vec<String>,
    esb: Option<EsbAuth>,
    /// By (API logical id, authorizer name).
    checks: IndexMap<(String, String), Check>,
    cache: Cache,
    region: String,
    clock: Clock,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("esb_mode", &self.esb.is_some())
            .field("authorizers", &self.checks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Validates the configuration and prepares every authorizer the routes use: JWKS files are
    /// read now, so a bad path or document fails `esb up` rather than a request.
    pub fn new(config: AuthConfig, routing: &RoutingFile) -> Result<Auth, AuthError> {
        let hmac = match &config.jwt_secret {
            Some(secret) if secret.len() < MIN_SECRET_LEN => {
                return Err(AuthError::SecretTooShort {
                    len: secret.len(),
                    min: MIN_SECRET_LEN,
                });
            }
            Some(secret) => KeySet::hs256(secret.as_bytes()),
            None => KeySet::default(),
        };
        let esb = if config.esb_mode() {
            if hmac.hmac.is_none() {
                return Err(AuthError::MissingSecret);
            }
            Some(EsbAuth::new(
                config.esb_users.clone(),
                hmac.clone(),
                config.jwt_expires,
                config.login_path.clone(),
            ))
        } else {
            None
        };
        let mut checks = IndexMap::new();
        for route in &routing.routes {
            let Some(name) = &route.auth.authorizer else {
                continue;
            };
            let key = (route.api.clone(), name.clone());
            if checks.contains_key(&key) {
                continue;
            }
            let Some(api) = routing.apis.iter().find(|a| a.logical_id == route.api) else {
                continue;
            };
            checks.insert(key, compile(api, name, &config, &hmac)?);
        }
        Ok(Auth {
            api_keys: config.api_keys,
            esb,
            checks,
            cache: Cache::new(config.cache_capacity),
            region: config.region,
            clock: config.clock,
        })
    }

    /// Whether the original ESB's auth is on.
    pub fn esb_mode(&self) -> bool {
        self.esb.is_some()
    }

    /// Answers the ESB login request (`POST {login_path}` in ESB mode); `None` for any other
    /// request, which then goes on to routing.
    pub fn login(&self, request: &Request<Bytes>) -> Option<Response<Bytes>> {
        let esb = self.esb.as_ref()?;
        esb.login(request, self.api_key_ok(request), self.now_secs())
    }

    /// Why a request for the box's own endpoints (metrics, status) is refused: in ESB mode they
    /// need the same token as the routes; otherwise nothing.
    pub fn builtin_refusal(&self, request: &Request<Bytes>) -> Option<Response<Bytes>> {
        let esb = self.esb.as_ref()?;
        let token = identity::IdentitySource::Header("authorization".into())
            .value(request)
            .map(|v| identity::strip_bearer(&v).to_owned());
        esb.check(token.as_deref(), self.now_secs())
            .is_none()
            .then(responses::unauthorized)
    }

    /// Decides whether a matched request may reach its function. `context` is the event
    /// context the gateway is about to use (its `authorizer` is ignored); Lambda authorizer
    /// events are built from it.
    pub async fn authorize(
        &self,
        request: &Request<Bytes>,
        matched: &Matched<'_>,
        context: &EventContext,
        invoker: &dyn AuthorizerInvoker,
    ) -> AuthDecision {
        match self.check(request, matched, context, invoker).await {
            Ok(context) => AuthDecision::Allow { context },
            Err(refusal) => AuthDecision::Deny(refusal.response(matched.api.kind)),
        }
    }

    async fn check(
        &self,
        request: &Request<Bytes>,
        matched: &Matched<'_>,
        context: &EventContext,
        invoker: &dyn AuthorizerInvoker,
    ) -> Result<Option<Value>, Refusal> {
        let route = matched.route;
        let authorizer_context = if let Some(esb) = &self.esb {
            let token = identity::IdentitySource::Header("authorization".into())
                .value(request)
                .map(|v| identity::strip_bearer(&v).to_owned());
            let claims = esb
                .check(token.as_deref(), self.now_secs())
                .ok_or(Refusal::Unauthorized)?;
            Some(jwt_authorizer::context(&claims, &[], route.kind))
        } else {
            match self.route_check(matched) {
                None => None,
                Some(Check::Iam) => None,
                Some(Check::Token(check)) => Some(check.authorize(
                    request,
                    &route.auth.authorization_scopes,
                    route.kind,
                    self.now_secs(),
                )?),
                Some(Check::Lambda(check)) => Some(
                    check
                        .authorize(Call {
                            request,
                            matched,
                            context,
                            region: &self.region,
                            invoker,
                            cache: &self.cache,
                            now: (self.clock)(),
                        })
                        .await?,
                ),
            }
        };
        Ok(authorizer_context)
    }

    fn route_check(&self, matched: &Matched<'_>) -> Option<&Check> {
        let name = matched.route.auth.authorizer.as_ref()?;
        if name.eq_ignore_ascii_case("NONE") {
            return None;
        }
        if name == "AWS_IAM" {
            return Some(&Check::Iam);
        }
        self.checks.get(&(matched.route.api.clone(), name.clone()))
    }

    fn api_key_ok(&self, request: &Request<Bytes>) -> bool {
        let Some(key) = request.headers().get("x-api-key") else {
            return false;
        };
        is_one_of(&self.api_keys, &String::from_utf8_lossy(key.as_bytes()))
    }

    fn now_secs(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Prepares one authorizer of `api`.
fn compile(api: &Api, name: &str, config: &AuthConfig, hmac: &KeySet) -> Result<Check, AuthError> {
    if name == "AWS_IAM" {
        return Ok(Check::Iam);
    }
    let Some(authorizer) = api.auth.authorizers.iter().find(|a| a.name == name) else {
        return Err(AuthError::Authorizer {
            api: api.logical_id.clone(),
            authorizer: name.to_owned(),
            reason: "a route uses it but the API does not declare it under Auth.Authorizers".into(),
        });
    };
    match authorizer.kind.as_str() {
        "jwt" => Ok(Check::Token(JwtAuthorizer::jwt(
            &authorizer.properties,
            keys(authorizer, config, hmac)?,
        ))),
        "cognito" => Ok(Check::Token(JwtAuthorizer::cognito(
            &authorizer.properties,
            keys(authorizer, config, hmac)?,
        ))),
        "lambda-token" | "lambda-request" => {
            Ok(Check::Lambda(LambdaAuthorizer::new(api, authorizer)?))
        }
        "iam" => Ok(Check::Iam),
        other => Err(AuthError::Authorizer {
            api: api.logical_id.clone(),
            authorizer: name.to_owned(),
            reason: format!("unknown authorizer kind {other:?}"),
        }),
    }
}

/// The keys a token authorizer accepts: the ESB secret (HS256) plus the JWKS from the
/// configured override, else from a `file://` issuer.
fn keys(authorizer: &Authorizer, config: &AuthConfig, hmac: &KeySet) -> Result<KeySet, AuthError> {
    let issuer = authorizer
        .properties
        .get("JwtConfiguration")
        .and_then(|c| c.get("issuer").or_else(|| c.get("Issuer")))
        .and_then(Value::as_str);
    let source = config
        .jwks
        .get(&authorizer.name)
        .cloned()
        .or_else(|| issuer.and_then(jwks::issuer_source));
    let mut keys = hmac.clone();
    if let Some(source) = source {
        keys.public = jwks::load(&authorizer.name, &source)?;
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_is_shareable_across_tasks() {
        fn is<T: Send + Sync>() {}
        is::<Auth>();
    }

    #[test]
    fn short_secret_is_a_config_error() {
        let config = AuthConfig {
            jwt_secret: Some("short".into()),
            ..AuthConfig::default()
        };
        assert!(matches!(
            Auth::new(config, &RoutingFile::default()),
            Err(AuthError::SecretTooShort { len: 5, .. })
        ));
    }
}
