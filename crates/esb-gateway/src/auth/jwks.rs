//! JSON Web Key Sets: parsing `{"keys":[…]}` into [`PublicKey`]s (RSA, and EC on P-256) and
//! resolving where a JWT authorizer's set lives — a configured override, or the issuer's
//! `/.well-known/jwks.json` when the issuer is a `file://` URL. Nothing is fetched over the
//! network.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::config::JwksSource;
use super::error::AuthError;
use super::jwt::PublicKey;

/// The path of a `file://` URL with the scheme already stripped (`/dir/x` or `localhost/dir/x`).
pub(crate) fn file_url_path(rest: &str) -> Option<PathBuf> {
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    Some(PathBuf::from(decoded.into_owned()))
}

/// The issuer's JWKS location, when the issuer is a `file://` URL.
pub(crate) fn issuer_source(issuer: &str) -> Option<JwksSource> {
    let rest = issuer.strip_prefix("file://")?;
    let dir = file_url_path(rest.trim_end_matches('/'))?;
    Some(JwksSource::File(dir.join(".well-known").join("jwks.json")))
}

/// Reads and parses a JWKS.
pub(crate) fn load(authorizer: &str, source: &JwksSource) -> Result<Vec<PublicKey>, AuthError> {
    let text = match source {
        JwksSource::Inline(text) => text.clone(),
        JwksSource::File(path) => {
            std::fs::read_to_string(path).map_err(|source| AuthError::JwksRead {
                authorizer: authorizer.to_owned(),
                path: path.clone(),
                source,
            })?
        }
    };
    parse(&text).map_err(|reason| AuthError::JwksInvalid {
        authorizer: authorizer.to_owned(),
        reason,
    })
}

/// Parses a JWKS; keys of other types or curves are skipped, malformed ones are an error.
pub fn parse(text: &str) -> Result<Vec<PublicKey>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_owned);
        let field = |name: &str| -> Result<Vec<u8>, String> {
            let text = key
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("key {i} has no \"{name}\""))?;
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|e| format!("key {i}: \"{name}\" is not base64url: {e}"))
        };
        match key.get("kty").and_then(Value::as_str) {
            Some("RSA") => out.push(PublicKey::Rsa {
                kid,
                n: field("n")?,
                e: field("e")?,
            }),
            Some("EC") if key.get("crv").and_then(Value::as_str) == Some("P-256") => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(format!("key {i}: a P-256 coordinate is not 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                out.push(PublicKey::P256 { kid, point });
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_file_url_points_at_well_known() {
        assert_eq!(
            issuer_source("file:///tmp/idp/"),
            Some(JwksSource::File(PathBuf::from(
                "/tmp/idp/.well-known/jwks.json"
            )))
        );
        assert_eq!(issuer_source("https://idp.example.com"), None);
        assert_eq!(
            JwksSource::from_location("file://localhost/a%20b/jwks.json"),
            Some(JwksSource::File(PathBuf::from("/a b/jwks.json")))
        );
        assert_eq!(JwksSource::from_location("https://x/jwks.json"), None);
    }

    #[test]
    fn parse_skips_unknown_and_rejects_malformed() {
        let keys = parse(
            r#"{"keys":[{"kty":"oct","k":"AA"},{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"}]}"#,
        );
        assert_eq!(keys.map(|k| k.len()), Ok(1));
        assert!(parse(r#"{"keys":[{"kty":"RSA","n":"!!"}]}"#).is_err());
        assert!(parse(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#).is_err());
        assert!(parse("[]").is_err());
    }
}
