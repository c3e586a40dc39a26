//! The original ESB's auth: `POST {login_path}` with a valid `x-api-key` and
//! `{"AuthParameters":{"USERNAME","PASSWORD"}}` returns `{"AuthenticationResult":{"IdToken"}}`,
//! an HS256 JWT with `sub`, `cognito:username`, `iat` and `exp`; afterwards every API route
//! needs `Authorization: Bearer <IdToken>`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use ring::digest;
use serde_json::{Value, json};

use super::jwt::{self, Claims, KeySet};
use super::responses;
use crate::response::json_response;

/// The header the original ESB sets once the API key is accepted.
pub const AUTHORIZED_HEADER: &str = "padma_user_authorized";

#[derive(Debug)]
pub(crate) struct EsbAuth {
    users: Vec<(String, String)>,
    keys: KeySet,
    expires: Duration,
    login_path: String,
}

impl EsbAuth {
    pub(crate) fn new(
        users: Vec<(String, String)>,
        keys: KeySet,
        expires: Duration,
        login_path: String,
    ) -> EsbAuth {
        EsbAuth {
            users,
            keys,
            expires,
            login_path,
        }
    }

    /// Handles the login request; `None` for any other request.
    pub(crate) fn login(
        &self,
        request: &Request<Bytes>,
        api_key_ok: bool,
        now: u64,
    ) -> Option<Response<Bytes>> {
        if request.method() != Method::POST || request.uri().path() != self.login_path {
            return None;
        }
        // The original ESB answers a missing or wrong key with 401, as it does wrong
        // credentials; only an accepted key earns the PADMA_USER_AUTHORIZED header.
        if !api_key_ok {
            return Some(responses::unauthorized());
        }
        let mut response = self.login_with_key(request.body(), now);
        response.headers_mut().insert(
            HeaderName::from_static(AUTHORIZED_HEADER),
            HeaderValue::from_static("true"),
        );
        Some(response)
    }

    fn login_with_key(&self, body: &[u8], now: u64) -> Response<Bytes> {
        let Some((username, password)) = credentials(body) else {
            return responses::bad_request();
        };
        let known = self
            .users
            .iter()
            .any(|(u, p)| constant_time_eq(u, &username) & constant_time_eq(p, &password));
        if !known {
            return responses::unauthorized();
        }
        let Some(key) = self.keys.hmac.as_ref() else {
            return responses::unauthorized();
        };
        let mut claims = Claims::new();
        claims.insert("sub".into(), Value::from(sub_for(&username)));
        claims.insert("cognito:username".into(), Value::from(username));
        claims.insert("token_use".into(), Value::from("id"));
        claims.insert("iat".into(), Value::from(now));
        claims.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.expires.as_secs())),
        );
        let body = json!({"AuthenticationResult": {"IdToken": jwt::sign_hs256(&claims, key)}});
        json_response(StatusCode::OK, body.to_string())
    }

    /// Checks the ESB bearer token; the token's claims the authorizer context carries.
    pub(crate) fn check(&self, token: Option<&str>, now: u64) -> Option<Claims> {
        let claims = jwt::verify(token?, &self.keys, now).ok()?;
        let username = claims.get("cognito:username").and_then(Value::as_str)?;
        let sub = claims.get("sub").and_then(Value::as_str)?;
        let mut out = Claims::new();
        out.insert("cognito:username".into(), Value::from(username));
        out.insert("username".into(), Value::from(username));
        out.insert("sub".into(), Value::from(sub));
        Some(out)
    }
}

/// `USERNAME` and `PASSWORD` from a login body.
fn credentials(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let params = value.get("AuthParameters")?;
    let username = params.get("USERNAME")?.as_str()?;
    let password = params.get("PASSWORD")?.as_str()?;
    Some((username.to_owned(), password.to_owned()))
}

/// A stable UUID-shaped id for a username (SHA-256 based, version 8 / RFC 4122 variant bits).
pub fn sub_for(username: &str) -> String {
    let hash = digest::digest(&digest::SHA256, format!("esb-user:{username}").as_bytes());
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(hash.as_ref()) {
        *dst = *src;
    }
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// Whether `key` is one of `keys`, every one compared in full so the time does not say which.
pub(crate) fn is_one_of(keys: &[String], key: &str) -> bool {
    keys.iter()
        .fold(false, |found, k| found | constant_time_eq(k, key))
}

/// Equality whose time does not depend on where the inputs differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_is_stable_and_uuid_shaped() {
        let a = sub_for("alice");
        assert_eq!(a, sub_for("alice"));
        assert_ne!(a, sub_for("bob"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.chars().filter(|c| *c == '-').count(), 4);
        assert_eq!(a.get(14..15), Some("8"));
    }

    #[test]
    fn credentials_need_both_fields() {
        assert_eq!(
            credentials(br#"{"AuthParameters":{"USERNAME":"u","PASSWORD":"p"}}"#),
            Some(("u".into(), "p".into()))
        );
        assert_eq!(credentials(br#"{"AuthParameters":{"USERNAME":"u"}}"#), None);
        assert_eq!(credentials(b"nope"), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(constant_time_eq("", ""));
    }
}
