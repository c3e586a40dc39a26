//! Stage throttling: each route gets its own token bucket from the most specific
//! `MethodSettings` entry (or HTTP API route setting) that covers it, as API Gateway applies
//! stage limits per method.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use esb_model::Route;
use esb_model::artifacts::RoutingFile;

use super::bucket::TokenBucket;

/// (API logical id, method, path) of a route.
type RouteKey = (String, String, String);

#[derive(Debug, Default)]
pub struct StageThrottling {
    buckets: HashMap<RouteKey, Mutex<TokenBucket>>,
}

impl StageThrottling {
    pub fn new(routing: &RoutingFile) -> StageThrottling {
        let now = Instant::now();
        let mut buckets = HashMap::new();
        for route in &routing.routes {
            let Some(api) = routing.apis.iter().find(|a| a.logical_id == route.api) else {
                continue;
            };
            if let Some(setting) = api
                .throttling
                .iter()
                .find(|s| s.covers(&route.method, &route.path))
            {
                buckets.insert(
                    key(route),
                    Mutex::new(TokenBucket::new(setting.limits, now)),
                );
            }
        }
        StageThrottling { buckets }
    }

    /// Whether the route may take one more request now; routes without limits always may.
    pub fn admit(&self, route: &Route, now: Instant) -> bool {
        // Most templates throttle nothing: no key is built for them.
        if self.buckets.is_empty() {
            return true;
        }
        match self.buckets.get(&key(route)) {
            Some(bucket) => bucket
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .try_take(now),
            None => true,
        }
    }
}

fn key(route: &Route) -> RouteKey {
    (route.api.clone(), route.method.clone(), route.path.clone())
}
