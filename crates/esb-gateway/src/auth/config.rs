//! [`AuthConfig`]: what the CLI fills from flags and the environment — ESB users, API keys,
//! the signing secret, token lifetime, the login path, and JWKS overrides per authorizer.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;

/// The original ESB's login path.
pub const DEFAULT_LOGIN_PATH: &str = "/user/auth/ver1.0";

/// The shortest `jwt_secret` accepted, in bytes (HS256 wants a key as long as its hash).
pub const MIN_SECRET_LEN: usize = 32;

/// A clock, injectable for tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Where the keys of one JWT authorizer come from, overriding its issuer's JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS document (`{"keys":[…]}`) on disk.
    File(PathBuf),
    /// A JWKS document given inline.
    Inline(String),
}

impl JwksSource {
    /// A file path, or a `file://` URL; anything else is `None` (no network access).
    pub fn from_location(location: &str) -> Option<JwksSource> {
        if let Some(rest) = location.strip_prefix("file://") {
            return super::jwks::file_url_path(rest).map(JwksSource::File);
        }
        if location.contains("://") {
            return None;
        }
        Some(JwksSource::File(PathBuf::from(location)))
    }
}

/// Auth settings. Secrets are redacted from `Debug`.
#[derive(Clone)]
pub struct AuthConfig {
    /// ESB users as (username, password).
    pub esb_users: Vec<(String, String)>,
    /// Valid `x-api-key` values, for the ESB login and for routes with `ApiKeyRequired`.
    pub api_keys: Vec<String>,
    /// HS256 secret for ESB tokens (and HS256 tokens on JWT authorizers); at least 32 bytes.
    pub jwt_secret: Option<String>,
    /// Lifetime of the tokens the ESB login issues.
    pub jwt_expires: Duration,
    pub login_path: String,
    /// Force ESB mode on even without users or API keys.
    pub force_esb_mode: bool,
    /// JWKS overrides by authorizer name.
    pub jwks: IndexMap<String, JwksSource>,
    /// The region in the method ARNs Lambda authorizers see.
    pub region: String,
    /// The most Lambda authorizer results cached at once.
    pub cache_capacity: usize,
    pub clock: Clock,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            esb_users: Vec::new(),
            api_keys: Vec::new(),
            jwt_secret: None,
            jwt_expires: Duration::from_secs(3600),
            login_path: DEFAULT_LOGIN_PATH.to_owned(),
            force_esb_mode: false,
            jwks: IndexMap::new(),
            region: "us-east-1".to_owned(),
            cache_capacity: 1024,
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl AuthConfig {
    /// ESB mode: users and an API key are configured, or it is forced.
    pub fn esb_mode(&self) -> bool {
        self.force_esb_mode || (!self.esb_users.is_empty() && !self.api_keys.is_empty())
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.esb_users.iter().map(|(u, _)| u.as_str()).collect();
        f.debug_struct("AuthConfig")
            .field("esb_users", &users)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_expires", &self.jwt_expires)
            .field("login_path", &self.login_path)
            .field("force_esb_mode", &self.force_esb_mode)
            .field("jwks", &self.jwks)
            .field("region", &self.region)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}
