//! The lifecycle sweeper: applies the expiration rules stored with PutBucketLifecycleConfiguration
//! — `Expiration` (`Days`, rounded up to the next midnight UTC as S3 does, or `Date`) and
//! `AbortIncompleteMultipartUpload` — to objects matching the rule's filter (prefix, tags,
//! size bounds). Transitions and noncurrent-version rules have nothing to act on here.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use s3s::dto::{BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule};

use crate::service::convert::unix_secs;
use crate::store::{BucketConfig, ListParams, ObjectMeta, Store, StoreResult};

const DAY_MS: i64 = 86_400_000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// objects deleted by `Expiration`
    pub expired: usize,
    /// uploads aborted by `AbortIncompleteMultipartUpload`
    pub aborted: usize,
}

/// The filter of a rule, flattened.
struct Filter {
    prefix: String,
    tags: Vec<(String, String)>,
    greater_than: Option<u64>,
    less_than: Option<u64>,
}

fn filter(rule: &LifecycleRule) -> Filter {
    let mut f = Filter {
        prefix: rule.prefix.clone().unwrap_or_default(),
        tags: Vec::new(),
        greater_than: None,
        less_than: None,
    };
    if let Some(rf) = &rule.filter {
        if let Some(p) = &rf.prefix {
            f.prefix.clone_from(p);
        }
        if let Some(tag) = &rf.tag {
            f.tags.push((
                tag.key.clone().unwrap_or_default(),
                tag.value.clone().unwrap_or_default(),
            ));
        }
        f.greater_than = rf
            .object_size_greater_than
            .and_then(|n| u64::try_from(n).ok());
        f.less_than = rf.object_size_less_than.and_then(|n| u64::try_from(n).ok());
        if let Some(and) = &rf.and {
            if let Some(p) = &and.prefix {
                f.prefix.clone_from(p);
            }
            for tag in and.tags.iter().flatten() {
                f.tags.push((
                    tag.key.clone().unwrap_or_default(),
                    tag.value.clone().unwrap_or_default(),
                ));
            }
            f.greater_than = and
                .object_size_greater_than
                .and_then(|n| u64::try_from(n).ok())
                .or(f.greater_than);
            f.less_than = and
                .object_size_less_than
                .and_then(|n| u64::try_from(n).ok())
                .or(f.less_than);
        }
    }
    f
}

impl Filter {
    fn matches(&self, meta: &ObjectMeta) -> bool {
        meta.key.starts_with(&self.prefix)
            && self.tags.iter().all(|(k, v)| meta.tags.get(k) == Some(v))
            && self.greater_than.is_none_or(|n| meta.size > n)
            && self.less_than.is_none_or(|n| meta.size < n)
    }
}

/// When an object modified at `modified_ms` expires under `days`: S3 adds the days and
/// rounds up to the next midnight UTC.
fn expires_at(modified_ms: i64, days: i32) -> i64 {
    let raw = modified_ms.saturating_add(i64::from(days).saturating_mul(DAY_MS));
    raw.div_euclid(DAY_MS)
        .saturating_add(i64::from(raw.rem_euclid(DAY_MS) != 0))
        .saturating_mul(DAY_MS)
}

fn object_expired(rule: &LifecycleRule, meta: &ObjectMeta, now_ms: i64) -> bool {
    let Some(exp) = &rule.expiration else {
        return false;
    };
    if let Some(days) = exp.days
        && now_ms >= expires_at(meta.last_modified_ms, days)
    {
        return true;
    }
    exp.date
        .as_ref()
        .is_some_and(|date| now_ms.div_euclid(1000) >= unix_secs(date))
}

/// Applies every bucket's lifecycle rules once, as of `now_ms`.
pub async fn sweep(store: &Store, now_ms: i64) -> StoreResult<SweepReport> {
    let mut report = SweepReport::default();
    for bucket in store.list_buckets() {
        let Some(json) = store
            .get_bucket_config(&bucket.name, BucketConfig::Lifecycle)
            .await?
        else {
            continue;
        };
        let config: BucketLifecycleConfiguration = match serde_json::from_slice(&json) {
            Ok(config) => config,
            Err(err) => {
                tracing::warn!(bucket = %bucket.name, %err, "unreadable lifecycle configuration skipped");
                continue;
            }
        };
        let rules: Vec<&LifecycleRule> = config
            .rules
            .iter()
            .filter(|r| r.status.as_str() == ExpirationStatus::ENABLED)
            .collect();
        if rules.iter().any(|r| r.expiration.is_some()) {
            let params = ListParams {
                max_keys: usize::MAX,
                ..ListParams::default()
            };
            let objects = store.list_objects(&bucket.name, &params)?.objects;
            for meta in objects {
                if rules
                    .iter()
                    .any(|r| filter(r).matches(&meta) && object_expired(r, &meta, now_ms))
                {
                    store.delete_object(&bucket.name, &meta.key).await?;
                    report.expired += 1;
                }
            }
        }
        for rule in rules
            .iter()
            .filter(|r| r.abort_incomplete_multipart_upload.is_some())
        {
            let days = rule
                .abort_incomplete_multipart_upload
                .as_ref()
                .and_then(|a| a.days_after_initiation)
                .unwrap_or(0);
            let prefix = filter(rule).prefix;
            for upload in store.list_multipart_uploads(&bucket.name, &prefix).await? {
                if now_ms >= expires_at(upload.initiated_ms, days) {
                    store
                        .abort_multipart_upload(&bucket.name, &upload.upload_id)
                        .await?;
                    report.aborted += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Sweeps every `every` until `shutdown` completes.
pub async fn run(store: Arc<Store>, every: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match sweep(&store, crate::store::now_ms()).await {
                    Ok(report) if report != SweepReport::default() => tracing::info!(?report, "lifecycle sweep"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "lifecycle sweep failed"),
                }
            }
            () = &mut shutdown => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::PutOptions;

    #[test]
    fn days_round_up_to_midnight() {
        assert_eq!(expires_at(0, 1), DAY_MS);
        assert_eq!(expires_at(1, 1), 2 * DAY_MS);
        assert_eq!(expires_at(DAY_MS - 1, 0), DAY_MS);
    }

    #[tokio::test]
    async fn sweep_expires_matching_objects_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.create_bucket("bkt").await.unwrap();
        for key in ["tmp/a", "tmp/b", "keep/c"] {
            let body =
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))]);
            store
                .put_object("bkt", key, body, PutOptions::default())
                .await
                .unwrap();
        }
        let uid = store
            .create_multipart_upload("bkt", "tmp/up", Default::default(), Default::default())
            .await
            .unwrap();
        let rule = LifecycleRule {
            abort_incomplete_multipart_upload: Some(s3s::dto::AbortIncompleteMultipartUpload {
                days_after_initiation: Some(1),
            }),
            expiration: Some(s3s::dto::LifecycleExpiration {
                days: Some(1),
                ..Default::default()
            }),
            filter: Some(s3s::dto::LifecycleRuleFilter {
                prefix: Some("tmp/".into()),
                ..Default::default()
            }),
            id: Some("r".into()),
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            transitions: None,
        };
        let cfg = BucketLifecycleConfiguration { rules: vec![rule] };
        let json = serde_json::to_vec(&cfg).unwrap();
        store
            .put_bucket_config("bkt", BucketConfig::Lifecycle, json)
            .await
            .unwrap();
        let now = crate::store::now_ms();
        assert_eq!(sweep(&store, now).await.unwrap(), SweepReport::default());
        let later = now + 2 * DAY_MS;
        assert_eq!(
            sweep(&store, later).await.unwrap(),
            SweepReport {
                expired: 2,
                aborted: 1
            }
        );
        let left = store
            .list_objects(
                "bkt",
                &ListParams {
                    max_keys: 10,
                    ..ListParams::default()
                },
            )
            .unwrap();
        assert_eq!(
            left.objects
                .iter()
                .map(|m| m.key.as_str())
                .collect::<Vec<_>>(),
            ["keep/c"]
        );
        assert!(store.list_parts("bkt", &uid).await.is_err());
    }
}
