//! [`AuthError`]: why the auth configuration or a template's authorizer cannot be used.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "the JWT secret is {len} bytes; it must be at least {min} (set a longer ESB JWT secret)"
    )]
    SecretTooShort { len: usize, min: usize },
    #[error("ESB mode needs a JWT secret to sign and check tokens (set the ESB JWT secret)")]
    MissingSecret,
    #[error("cannot read the JWKS of authorizer {authorizer} at {path}: {source}")]
    JwksRead {
        authorizer: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the JWKS of authorizer {authorizer} is not valid: {reason}")]
    JwksInvalid { authorizer: String, reason: String },
    #[error("authorizer {authorizer} on API {api}: {reason}")]
    Authorizer {
        api: String,
        authorizer: String,
        reason: String,
    },
}
