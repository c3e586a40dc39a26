//! JSON Web Tokens: HS256 signing (the ESB login) and HS256 / RS256 / ES256 verification with
//! `exp` and `nbf` checks. Every input is untrusted: a malformed token is an error, never a
//! panic. `alg: none` and every other algorithm are refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::{hmac, signature};
use serde_json::{Map, Value};

/// Tokens longer than this are refused before decoding.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// A JWT's claims.
pub type Claims = Map<String, Value>;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm {0:?} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("no key to check a {0} token")]
    NoKey(&'static str),
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has no exp claim")]
    MissingExpiry,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// A public key from a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian.
    Rsa {
        kid: Option<String>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// A P-256 point, uncompressed (`0x04 || x || y`).
    P256 { kid: Option<String>, point: Vec<u8> },
}

impl PublicKey {
    fn kid(&self) -> Option<&str> {
        match self {
            PublicKey::Rsa { kid, .. } | PublicKey::P256 { kid, .. } => kid.as_deref(),
        }
    }
}

/// The keys one verifier accepts.
#[derive(Clone, Default)]
pub struct KeySet {
    pub hmac: Option<hmac::Key>,
    pub public: Vec<PublicKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("hmac", &self.hmac.as_ref().map(|_| "<redacted>"))
            .field("public", &self.public)
            .finish()
    }
}

impl KeySet {
    pub fn hs256(secret: &[u8]) -> KeySet {
        KeySet {
            hmac: Some(hmac::Key::new(hmac::HMAC_SHA256, secret)),
            public: Vec::new(),
        }
    }
}

/// Signs `claims` with HS256.
pub fn sign_hs256(claims: &Claims, key: &hmac::Key) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    let signing_input = format!("{header}.{payload}");
    let tag = hmac::sign(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Checks the signature, `exp` (required) and `nbf` at `now` (epoch seconds); the claims when
/// all hold.
pub fn verify(token: &str, keys: &KeySet, now: u64) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = decode_object(header_b64)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwtError::Malformed)?;
    let signing_input = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(JwtError::Malformed)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let kid = header.get("kid").and_then(Value::as_str);
    check_signature(alg, kid, signing_input.as_bytes(), &signature, keys)?;
    let claims = decode_object(payload_b64)?;
    check_times(&claims, now)?;
    Ok(claims)
}

fn decode_object(part: &str) -> Result<Claims, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed),
    }
}

fn check_signature(
    alg: &str,
    kid: Option<&str>,
    message: &[u8],
    sig: &[u8],
    keys: &KeySet,
) -> Result<(), JwtError> {
    match alg {
        "HS256" => {
            let key = keys.hmac.as_ref().ok_or(JwtError::NoKey("HS256"))?;
            hmac::verify(key, message, sig).map_err(|_| JwtError::BadSignature)
        }
        "RS256" | "ES256" => {
            let candidates: Vec<&PublicKey> = keys
                .public
                .iter()
                .filter(|k| {
                    matches!(
                        (alg, k),
                        ("RS256", PublicKey::Rsa { .. }) | ("ES256", PublicKey::P256 { .. })
                    )
                })
                .filter(|k| kid.is_none() || k.kid().is_none() || k.kid() == kid)
                .collect();
            if candidates.is_empty() {
                return Err(JwtError::NoKey(if alg == "RS256" {
                    "RS256"
                } else {
                    "ES256"
                }));
            }
            let valid = candidates.iter().any(|key| match key {
                PublicKey::Rsa { n, e, .. } => signature::RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                    .is_ok(),
                PublicKey::P256 { point, .. } => {
                    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(message, sig)
                        .is_ok()
                }
            });
            if valid {
                Ok(())
            } else {
                Err(JwtError::BadSignature)
            }
        }
        other => Err(JwtError::UnsupportedAlgorithm(other.to_owned())),
    }
}

fn check_times(claims: &Claims, now: u64) -> Result<(), JwtError> {
    let now = now as f64;
    let exp = claims
        .get("exp")
        .and_then(Value::as_f64)
        .ok_or(JwtError::MissingExpiry)?;
    if exp <= now {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().ok_or(JwtError::Malformed)?;
        if nbf > now {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        let mut c = Claims::new();
        c.insert("sub".into(), Value::from("u"));
        c.insert("exp".into(), Value::from(exp));
        c
    }

    #[test]
    fn hs256_round_trip_and_checks() {
        let keys = KeySet::hs256(b"0123456789abcdef0123456789abcdef");
        let Some(key) = keys.hmac.as_ref() else {
            panic!("hmac key")
        };
        let token = sign_hs256(&claims(200), key);
        assert_eq!(
            verify(&token, &keys, 100).map(|c| c["sub"].clone()),
            Ok("u".into())
        );
        assert_eq!(verify(&token, &keys, 200), Err(JwtError::Expired));
        let other = KeySet::hs256(b"another secret that is long enough!!");
        assert_eq!(verify(&token, &other, 100), Err(JwtError::BadSignature));
        assert_eq!(
            verify(&token, &KeySet::default(), 100),
            Err(JwtError::NoKey("HS256"))
        );
    }

    #[test]
    fn refuses_none_and_garbage() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"exp":999999999999}"#)
        );
        let keys = KeySet::hs256(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            verify(&none, &keys, 1),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
        for bad in ["", ".", "..", "a.b.c", "a.b.c.d", "é.é.é"] {
            assert!(verify(bad, &keys, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn nbf_in_the_future_is_refused() {
        let keys = KeySet::hs256(b"0123456789abcdef0123456789abcdef");
        let mut c = claims(500);
        c.insert("nbf".into(), Value::from(300));
        let Some(key) = keys.hmac.as_ref() else {
            panic!("hmac key")
        };
        let token = sign_hs256(&c, key);
        assert_eq!(verify(&token, &keys, 200), Err(JwtError::NotYetValid));
        assert!(verify(&token, &keys, 300).is_ok());
    }
}
