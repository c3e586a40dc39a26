//! What API Gateway refuses before a request reaches a function, past auth: stage throttling
//! ([`StageThrottling`]), API keys and usage plans ([`ApiKeys`]), and request validation
//! ([`Validators`]).

mod api_keys;
mod bucket;
mod key_values;
mod schema;
mod stage;
mod state_file;
mod validation;

pub use api_keys::{ApiKeys, KeyIdentity, KeyRefusal};
pub use key_values::key_values;
pub use stage::StageThrottling;
pub use validation::{Invalid, ModelError, Validators};

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use crate::Matched;
use crate::response::json_response;

/// Where the gateway keeps generated API key values and quota use: with the box's data, so
/// `esb down --volumes` forgets them.
pub fn state_dir(output_dir: &std::path::Path) -> std::path::PathBuf {
    output_dir.join("data").join("gateway")
}

/// Everything [`Limits::admit`] checks, built once from `routing.yml`.
#[derive(Debug)]
pub struct Limits {
    pub throttling: StageThrottling,
    pub api_keys: ApiKeys,
    pub validators: Validators,
}

impl Limits {
    /// Admits an authorized request to its route: stage throttling, then its API key and usage
    /// plan, then its request validator. `Ok` carries the key it was admitted with.
    pub fn admit(
        &self,
        request: &Request<Bytes>,
        matched: &Matched<'_>,
    ) -> Result<Option<KeyIdentity>, Refused> {
        let now = Instant::now();
        if !self.throttling.admit(matched.route, now) {
            return Err(Refused::Throttled);
        }
        let sent = request
            .headers()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok());
        let epoch_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let key = self
            .api_keys
            .admit(matched.route, matched.api, sent, now, epoch_secs)
            .map_err(Refused::Key)?;
        self.validators.check(request, matched).map_err(|invalid| {
            if let Invalid::Body(violations) = &invalid {
                tracing::info!(route = %matched.route.path, ?violations, "request body refused by its model");
            }
            Refused::Invalid(invalid)
        })?;
        Ok(key)
    }
}

/// Why [`Limits::admit`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The method's stage throttle.
    Throttled,
    Key(KeyRefusal),
    Invalid(Invalid),
}

impl Refused {
    /// API Gateway's default gateway response for the refusal.
    pub fn response(&self) -> Response<Bytes> {
        let (status, message) = match self {
            Refused::Throttled | Refused::Key(KeyRefusal::TooManyRequests) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests".to_string(),
            ),
            Refused::Key(KeyRefusal::LimitExceeded) => {
                (StatusCode::TOO_MANY_REQUESTS, "Limit Exceeded".to_string())
            }
            Refused::Key(KeyRefusal::Forbidden) => (StatusCode::FORBIDDEN, "Forbidden".to_string()),
            Refused::Invalid(invalid) => (StatusCode::BAD_REQUEST, invalid.message()),
        };
        json_response(
            status,
            serde_json::json!({ "message": message }).to_string(),
        )
    }
}
