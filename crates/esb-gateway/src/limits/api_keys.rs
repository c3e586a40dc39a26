//! API keys on routes with `ApiKeyRequired`, and the usage plans that meter them.
//!
//! A request to such a route needs an `x-api-key` that is either one of the box's own keys
//! (`X_API_KEY`, `[auth] api_keys`: not metered) or an enabled key of the template on a usage
//! plan covering the route's API stage: else 403, as API Gateway answers. A plan's keys each get
//! the plan's token bucket (429 `Too Many Requests`) and its quota per period (429
//! `Limit Exceeded`). Quota use is kept under the box's data directory, so a restart does not
//! hand out a fresh quota.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use esb_model::artifacts::RoutingFile;
use esb_model::{Api, QuotaPeriod, Route, UsagePlan};
use serde::{Deserialize, Serialize};

use super::bucket::TokenBucket;
use super::key_values::KeyValues;
use super::state_file;
use crate::auth::{constant_time_eq, is_one_of};

/// The key a request was admitted with: `requestContext.identity.apiKey` and `apiKeyId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIdentity {
    /// The template key's logical id; `None` for the box's own keys.
    pub id: Option<String>,
    pub value: String,
}

/// Why a request with `ApiKeyRequired` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// No key, an unknown or disabled key, or a key on no plan of this stage: 403.
    Forbidden,
    /// The key's plan throttle: 429.
    TooManyRequests,
    /// The key's plan quota for this period: 429.
    LimitExceeded,
}

/// Every API key and usage plan of one `routing.yml`.
#[derive(Debug)]
pub struct ApiKeys {
    /// The box's own keys, from its configuration.
    own: Vec<String>,
    /// (logical id, value) of each enabled template key.
    keys: Vec<(String, String)>,
    plans: Vec<Plan>,
    quota: Mutex<QuotaUse>,
    /// Where quota use is kept.
    quota_file: PathBuf,
}

#[derive(Debug)]
struct Plan {
    plan: UsagePlan,
    /// Each key's token bucket on this plan, made on its first request.
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

/// Requests counted per plan and key in the current period, and the first period each plan
/// was used in (the one `Quota.Offset` applies to).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuotaUse {
    #[serde(default)]
    first_periods: BTreeMap<String, u64>,
    /// By `plan/key`.
    #[serde(default)]
    counts: BTreeMap<String, PeriodCount>,
    #[serde(skip)]
    changed: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeriodCount {
    /// The period's start, seconds since the epoch (UTC).
    period_start: u64,
    used: u64,
}

impl ApiKeys {
    /// Keys and plans of `routing`, key values generated once into `state_dir` where the
    /// template sets none, and quota use read back from it.
    pub fn load(
        routing: &RoutingFile,
        own: Vec<String>,
        state_dir: &Path,
    ) -> std::io::Result<ApiKeys> {
        let values = KeyValues::ensure(state_dir, &routing.api_keys)?;
        let keys = routing
            .api_keys
            .iter()
            .filter(|k| k.enabled)
            .filter_map(|k| Some((k.logical_id.clone(), values.get(&k.logical_id)?.to_string())))
            .collect();
        let quota_file = state_dir.join(QUOTA_FILE);
        let quota = state_file::read(&quota_file, "quota use")?;
        Ok(ApiKeys {
            own,
            keys,
            plans: routing
                .usage_plans
                .iter()
                .map(|plan| Plan {
                    plan: plan.clone(),
                    buckets: Mutex::new(HashMap::new()),
                })
                .collect(),
            quota: Mutex::new(quota),
            quota_file,
        })
    }

    /// Admits a request to `route` of `api` that sent `key`: `Ok(None)` when the route needs
    /// no key.
    pub fn admit(
        &self,
        route: &Route,
        api: &Api,
        key: Option<&str>,
        now: Instant,
        epoch_secs: u64,
    ) -> Result<Option<KeyIdentity>, KeyRefusal> {
        if !route.auth.api_key_required {
            return Ok(None);
        }
        let key = key.ok_or(KeyRefusal::Forbidden)?;
        if is_one_of(&self.own, key) {
            return Ok(Some(KeyIdentity {
                id: None,
                value: key.to_string(),
            }));
        }
        let id = self
            .keys
            .iter()
            .find(|(_, value)| constant_time_eq(value, key))
            .map(|(id, _)| id)
            .ok_or(KeyRefusal::Forbidden)?;
        let plan = self
            .plans
            .iter()
            .find(|p| {
                p.plan.keys.contains(id)
                    && p.plan
                        .stages
                        .iter()
                        .any(|s| s.api == api.logical_id && s.stage == api.stage_name)
            })
            .ok_or(KeyRefusal::Forbidden)?;
        if let Some(limits) = plan.plan.throttle {
            let mut buckets = plan
                .buckets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let bucket = buckets
                .entry(id.clone())
                .or_insert_with(|| TokenBucket::new(limits, now));
            if !bucket.try_take(now) {
                return Err(KeyRefusal::TooManyRequests);
            }
        }
        if let Some(quota) = plan.plan.quota {
            let start = period_start(quota.period, epoch_secs);
            let mut usage = self.lock_quota();
            let first = *usage
                .first_periods
                .entry(plan.plan.logical_id.clone())
                .or_insert(start);
            let limit = if first == start {
                quota.limit.saturating_sub(quota.offset)
            } else {
                quota.limit
            };
            let count = usage
                .counts
                .entry(format!("{}/{id}", plan.plan.logical_id))
                .or_insert(PeriodCount {
                    period_start: start,
                    used: 0,
                });
            if count.period_start != start {
                *count = PeriodCount {
                    period_start: start,
                    used: 0,
                };
            }
            if count.used >= limit {
                return Err(KeyRefusal::LimitExceeded);
            }
            count.used += 1;
            usage.changed = true;
        }
        Ok(Some(KeyIdentity {
            id: Some(id.clone()),
            value: key.to_string(),
        }))
    }

    /// Whether any plan has a quota, so that there is use to keep.
    pub fn meters_quotas(&self) -> bool {
        self.plans.iter().any(|p| p.plan.quota.is_some())
    }

    /// Writes quota use when it changed since the last write (the box calls this every second
    /// and at shutdown).
    pub fn flush(&self) -> std::io::Result<()> {
        let text = {
            let mut usage = self.lock_quota();
            if !usage.changed {
                return Ok(());
            }
            usage.changed = false;
            serde_json::to_vec_pretty(&*usage).map_err(std::io::Error::other)?
        };
        let written = state_file::write_atomically(&self.quota_file, &text);
        if written.is_err() {
            // Tried again on the next call rather than forgotten.
            self.lock_quota().changed = true;
        }
        written
    }

    fn lock_quota(&self) -> std::sync::MutexGuard<'_, QuotaUse> {
        self.quota
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

const QUOTA_FILE: &str = "quota-use.json";

/// The start of the quota period `epoch_secs` falls in: 00:00 UTC of the day, of the Sunday
/// that begins the week, or of the first of the month.
fn period_start(period: QuotaPeriod, epoch_secs: u64) -> u64 {
    const DAY: u64 = 86_400;
    let day = epoch_secs / DAY;
    let start_day = match period {
        QuotaPeriod::Day => day,
        // 1970-01-01 was a Thursday: four days after a Sunday.
        QuotaPeriod::Week => day - (day + 4) % 7,
        QuotaPeriod::Month => {
            u64::try_from(crate::time::month_start(i128::from(day))).unwrap_or(day)
        }
    };
    start_day * DAY
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use esb_model::{ApiKey, ApiKind, ApiStage, Quota, RouteKind, Throttle};

    use super::*;

    const VALUE: &str = "abcdefghijklmnopqrstuvwxyz";

    fn api() -> Api {
        serde_json::from_value(serde_json::json!({
            "logicalId": "Orders", "kind": "rest", "implicit": false, "stageName": "prod",
            "cors": null, "auth": {"defaultAuthorizer": null, "apiKeyRequired": true,
            "authorizers": []}, "binaryMediaTypes": []
        }))
        .expect("an api")
    }

    fn route(key_required: bool) -> Route {
        let mut route: Route = serde_json::from_value(serde_json::json!({
            "api": "Orders", "kind": "rest", "method": "GET", "path": "/orders",
            "function": "Fn", "event": "Get",
            "auth": {"authorizer": null, "apiKeyRequired": false, "authorizationScopes": []}
        }))
        .expect("a route");
        route.auth.api_key_required = key_required;
        assert_eq!(route.kind, RouteKind::Rest);
        route
    }

    /// Keys whose state is never written back (their directory goes when this returns).
    fn keys(quota: Option<Quota>, throttle: Option<Throttle>, stage: &str) -> ApiKeys {
        let dir = tempfile::tempdir().expect("tempdir");
        let routing = routing(quota, throttle, stage);
        ApiKeys::load(&routing, vec!["own-key".into()], dir.path()).expect("keys")
    }

    /// Two keys with values, one of them disabled, on one plan of `Orders` at `stage`.
    fn routing(quota: Option<Quota>, throttle: Option<Throttle>, stage: &str) -> RoutingFile {
        RoutingFile {
            api_keys: vec![
                ApiKey {
                    logical_id: "Key".into(),
                    name: "Key".into(),
                    value: Some(VALUE.into()),
                    enabled: true,
                },
                ApiKey {
                    logical_id: "Off".into(),
                    name: "Off".into(),
                    value: Some("zyxwvutsrqponmlkjihgfedcba".into()),
                    enabled: false,
                },
            ],
            usage_plans: vec![UsagePlan {
                logical_id: "Plan".into(),
                stages: vec![ApiStage {
                    api: "Orders".into(),
                    stage: stage.into(),
                }],
                throttle,
                quota,
                keys: vec!["Key".into(), "Off".into()],
            }],
            ..RoutingFile::default()
        }
    }

    #[test]
    fn keys_are_checked_only_where_required() {
        let keys = keys(None, None, "prod");
        let (api, now) = (api(), Instant::now());
        assert_eq!(keys.admit(&route(false), &api, None, now, 0), Ok(None));
        let keyed = route(true);
        for refused in [None, Some("wrong"), Some("zyxwvutsrqponmlkjihgfedcba")] {
            assert_eq!(
                keys.admit(&keyed, &api, refused, now, 0),
                Err(KeyRefusal::Forbidden)
            );
        }
        let admitted = keys.admit(&keyed, &api, Some(VALUE), now, 0);
        assert_eq!(
            admitted.map(|k| k.and_then(|k| k.id)),
            Ok(Some("Key".into()))
        );
        let own = keys.admit(&keyed, &api, Some("own-key"), now, 0);
        assert_eq!(own.map(|k| k.map(|k| k.id)), Ok(Some(None)));
    }

    #[test]
    fn a_key_on_no_plan_of_the_stage_is_forbidden() {
        let keys = keys(None, None, "dev");
        assert_eq!(
            keys.admit(&route(true), &api(), Some(VALUE), Instant::now(), 0),
            Err(KeyRefusal::Forbidden)
        );
    }

    #[test]
    fn quotas_count_per_period_with_the_offset_in_the_first() {
        let quota = Quota {
            limit: 3,
            offset: 1,
            period: QuotaPeriod::Day,
        };
        let keys = keys(Some(quota), None, "prod");
        let (api, route, now) = (api(), route(true), Instant::now());
        let day = 86_400;
        let admit = |secs| keys.admit(&route, &api, Some(VALUE), now, secs).map(|_| ());
        assert_eq!(admit(10), Ok(()));
        assert_eq!(admit(20), Ok(()));
        assert_eq!(admit(30), Err(KeyRefusal::LimitExceeded));
        // The next day the whole limit applies.
        assert!((0..3).all(|i| admit(day + i).is_ok()));
        assert_eq!(admit(day + 10), Err(KeyRefusal::LimitExceeded));
    }

    #[test]
    fn plan_throttles_apply_per_key() {
        let throttle = Throttle {
            rate_limit: Some(1.0),
            burst_limit: Some(2),
        };
        let keys = keys(None, Some(throttle), "prod");
        let (api, route, now) = (api(), route(true), Instant::now());
        let admit = |at| keys.admit(&route, &api, Some(VALUE), at, 0).map(|_| ());
        assert_eq!(admit(now), Ok(()));
        assert_eq!(admit(now), Ok(()));
        assert_eq!(admit(now), Err(KeyRefusal::TooManyRequests));
        assert_eq!(admit(now + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn quota_use_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let routing = RoutingFile {
            apis: vec![api()],
            api_keys: vec![ApiKey {
                logical_id: "Key".into(),
                name: "Key".into(),
                value: None,
                enabled: true,
            }],
            usage_plans: vec![UsagePlan {
                logical_id: "Plan".into(),
                stages: vec![ApiStage {
                    api: "Orders".into(),
                    stage: "prod".into(),
                }],
                throttle: None,
                quota: Some(Quota {
                    limit: 2,
                    offset: 0,
                    period: QuotaPeriod::Month,
                }),
                keys: vec!["Key".into()],
            }],
            ..RoutingFile::default()
        };
        let first = ApiKeys::load(&routing, Vec::new(), dir.path()).expect("keys");
        let value = first.keys[0].1.clone();
        assert_eq!(value.len(), 40, "a generated key: {value}");
        let (api, route, now) = (api(), route(true), Instant::now());
        assert!(first.admit(&route, &api, Some(&value), now, 100).is_ok());
        assert!(first.admit(&route, &api, Some(&value), now, 100).is_ok());
        first.flush().expect("flush");
        let second = ApiKeys::load(&routing, Vec::new(), dir.path()).expect("keys");
        assert_eq!(second.keys[0].1, value, "the generated value is kept");
        assert_eq!(
            second.admit(&route, &api, Some(&value), now, 200),
            Err(KeyRefusal::LimitExceeded)
        );
        assert_eq!(ApiKind::Rest, api.kind);
    }

    #[test]
    fn quota_use_is_kept_when_no_key_value_was_generated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("gateway");
        let quota = Quota {
            limit: 1,
            offset: 0,
            period: QuotaPeriod::Day,
        };
        let routing = routing(Some(quota), None, "prod");
        let (api, route, now) = (api(), route(true), Instant::now());
        let first = ApiKeys::load(&routing, Vec::new(), &state_dir).expect("keys");
        assert!(first.admit(&route, &api, Some(VALUE), now, 0).is_ok());
        first
            .flush()
            .expect("quota use is written although nothing else was");
        let second = ApiKeys::load(&routing, Vec::new(), &state_dir).expect("keys");
        assert_eq!(
            second.admit(&route, &api, Some(VALUE), now, 0),
            Err(KeyRefusal::LimitExceeded)
        );
    }

    #[test]
    fn periods_start_at_utc_midnight_sundays_and_firsts() {
        // 2024-02-29T12:00:00Z was a Thursday.
        let t = 1_709_208_000;
        assert_eq!(period_start(QuotaPeriod::Day, t), 1_709_164_800);
        assert_eq!(period_start(QuotaPeriod::Week, t), 1_708_819_200); // Sun 2024-02-25
        assert_eq!(period_start(QuotaPeriod::Month, t), 1_706_745_600); // 2024-02-01
    }
}
