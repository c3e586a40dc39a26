//! The box's own endpoints: health, status, metrics and the workers list. They always answer
//! under the reserved prefix `/_esb/`; at their short paths (`/health`, `/metrics`,
//! `/metrics/containers`) only when the template does not route that path itself, since on
//! AWS the template's route would answer. In the ESB auth mode all but health need the same
//! login as the routes on the public listener.

use esb_model::artifacts::RoutingFile;
use http::Method;

use crate::router::{RouteMatch, Router};

/// Where the box's own endpoints always answer.
pub const PREFIX: &str = "/_esb";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Health,
    Status,
    Metrics,
    Containers,
}

impl Builtin {
    /// The endpoint at `path`, and whether that is its reserved path (which the template
    /// cannot take) rather than its short one.
    pub fn at(path: &str) -> Option<(Builtin, bool)> {
        if let Some(name) = path.strip_prefix(PREFIX) {
            let builtin = match name {
                "/health" => Builtin::Health,
                "/status" => Builtin::Status,
                "/metrics" => Builtin::Metrics,
                "/metrics/containers" => Builtin::Containers,
                _ => return None,
            };
            return Some((builtin, true));
        }
        let builtin = match path {
            "/health" => Builtin::Health,
            "/metrics" => Builtin::Metrics,
            "/metrics/containers" => Builtin::Containers,
            _ => return None,
        };
        Some((builtin, false))
    }

    /// Whether it tells more than that the box is up: then it needs the login in ESB auth mode.
    pub fn needs_login(self) -> bool {
        self != Builtin::Health
    }
}

/// The short built-in paths the template's routes take over, one sentence each, for `esb up`
/// to warn about (the built-in stays at its `/_esb/` path).
pub fn shadowed(routing: &RoutingFile) -> Vec<String> {
    let router = Router::new(routing);
    ["/health", "/metrics", "/metrics/containers"]
        .into_iter()
        .filter_map(|path| match router.route(&Method::GET, path) {
            RouteMatch::NotFound => None,
            RouteMatch::MethodNotAllowed { .. } => Some((path, "a route of the template".into())),
            RouteMatch::Matched(matched) => Some((
                path,
                format!("the template's route {}", matched.route_key()),
            )),
        })
        .map(|(path, route)| {
            format!("{route} answers {path}; the box's own endpoint stays at {PREFIX}{path}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_short_paths() {
        assert_eq!(Builtin::at("/_esb/health"), Some((Builtin::Health, true)));
        assert_eq!(Builtin::at("/_esb/status"), Some((Builtin::Status, true)));
        assert_eq!(
            Builtin::at("/_esb/metrics/containers"),
            Some((Builtin::Containers, true))
        );
        assert_eq!(Builtin::at("/metrics"), Some((Builtin::Metrics, false)));
        assert_eq!(Builtin::at("/status"), None);
        assert_eq!(Builtin::at("/_esb/other"), None);
        assert_eq!(Builtin::at("/healthz"), None);
    }
}
