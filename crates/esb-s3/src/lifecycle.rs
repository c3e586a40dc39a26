//! The lifecycle sweeper: applies the expiration rules stored with PutBucketLifecycleConfiguration
//! — `Expiration` (`Days`, rounded up to the next midnight UTC as S3 does, or `Date`; in a
//! versioned bucket it adds a delete marker, as S3 does; `ExpiredObjectDeleteMarker`),
//! `NoncurrentVersionExpiration` (`NoncurrentDays` counted from when the next version was
//! written, `NewerNoncurrentVersions` kept) and `AbortIncompleteMultipartUpload` — to objects
//! matching the rule's filter (prefix, tags, size bounds). Transitions have nothing to act on
//! here (one storage class). Each sweep also drops the records that let a retried
//! CompleteMultipartUpload succeed, once they are a day old.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use s3s::dto::{BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule};

use crate::service::convert::unix_secs;
use crate::store::{
    BucketConfig, COMPLETED_RETENTION_MS, ListParams, ObjectMeta, Store, StoreResult,
};

const DAY_MS: i64 = 86_400_000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// objects deleted by `Expiration`
    pub expired: usize,
    /// uploads aborted by `AbortIncompleteMultipartUpload`
    pub aborted: usize,
    /// noncurrent versions and lone delete markers removed
    pub noncurrent: usize,
    /// records of completed multipart uploads past [`COMPLETED_RETENTION_MS`] removed
    pub completed_uploads: usize,
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

/// What happens to one version under the rules.
fn version_expired(
    rules: &[&LifecycleRule],
    meta: &ObjectMeta,
    noncurrent: Option<(i64, usize)>,
    only_version: bool,
    now_ms: i64,
) -> bool {
    rules.iter().any(|rule| {
        if !filter(rule).matches(meta) {
            return false;
        }
        match noncurrent {
            // (when it became noncurrent, how many newer noncurrent versions there are)
            Some((since_ms, newer)) => {
                rule.noncurrent_version_expiration
                    .as_ref()
                    .is_some_and(|nve| {
                        let keep = nve
                            .newer_noncurrent_versions
                            .and_then(|n| usize::try_from(n).ok())
                            .unwrap_or(0);
                        newer >= keep
                            && now_ms >= expires_at(since_ms, nve.noncurrent_days.unwrap_or(0))
                    })
            }
            None => {
                meta.delete_marker
                    && only_version
                    && rule
                        .expiration
                        .as_ref()
                        .is_some_and(|e| e.expired_object_delete_marker == Some(true))
            }
        }
    })
}

/// Removes expired noncurrent versions and delete markers that hide nothing.
async fn sweep_versions(
    store: &Store,
    bucket: &str,
    rules: &[&LifecycleRule],
    now_ms: i64,
) -> StoreResult<usize> {
    let params = ListParams {
        max_keys: usize::MAX,
        ..ListParams::default()
    };
    let page = store.list_object_versions(bucket, &params, None)?;
    let mut removed = 0;
    // Versions come newest first within a key: each one's successor is the entry before it.
    let mut i = 0;
    while i < page.versions.len() {
        let key = &page.versions[i].0.key;
        let end = page.versions[i..]
            .iter()
            .position(|(m, _)| m.key != *key)
            .map_or(page.versions.len(), |n| i + n);
        let versions = &page.versions[i..end];
        for (n, (meta, _)) in versions.iter().enumerate() {
            let noncurrent = n
                .checked_sub(1)
                .map(|prev| (versions[prev].0.last_modified_ms, n - 1));
            if version_expired(rules, meta, noncurrent, versions.len() == 1, now_ms) {
                store
                    .delete_object(bucket, &meta.key, Some(meta.version_str()))
                    .await?;
                removed += 1;
            }
        }
        i = end;
    }
    Ok(removed)
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
                    store.delete_object(&bucket.name, &meta.key, None).await?;
                    report.expired += 1;
                }
            }
        }
        if rules.iter().any(|r| {
            r.noncurrent_version_expiration.is_some()
                || r.expiration
                    .as_ref()
                    .is_some_and(|e| e.expired_object_delete_marker == Some(true))
        }) {
            report.noncurrent += sweep_versions(store, &bucket.name, &rules, now_ms).await?;
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
    report.completed_uploads = store
        .prune_completed_uploads(now_ms.saturating_sub(COMPLETED_RETENTION_MS))
        .await?;
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
            .create_multipart_upload("bkt", "tmp/up", Default::default())
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
                aborted: 1,
                ..SweepReport::default()
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

    #[tokio::test]
    async fn sweep_expires_noncurrent_versions_and_lone_markers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.create_bucket("bkt").await.unwrap();
        store
            .put_bucket_versioning("bkt", crate::store::VersioningState::Enabled)
            .await
            .unwrap();
        for data in [&b"1"[..], b"2", b"3"] {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::copy_from_slice(data),
            )]);
            store
                .put_object("bkt", "k", body, PutOptions::default())
                .await
                .unwrap();
        }
        // A key whose only version is a delete marker.
        store.delete_object("bkt", "gone", None).await.unwrap();
        let rule = LifecycleRule {
            expiration: Some(s3s::dto::LifecycleExpiration {
                expired_object_delete_marker: Some(true),
                ..Default::default()
            }),
            noncurrent_version_expiration: Some(s3s::dto::NoncurrentVersionExpiration {
                noncurrent_days: Some(1),
                newer_noncurrent_versions: Some(1),
            }),
            status: ExpirationStatus::from_static(ExpirationStatus::ENABLED),
            ..lifecycle_rule()
        };
        let json = serde_json::to_vec(&BucketLifecycleConfiguration { rules: vec![rule] }).unwrap();
        store
            .put_bucket_config("bkt", BucketConfig::Lifecycle, json)
            .await
            .unwrap();
        let now = crate::store::now_ms();
        // The marker goes at once; the noncurrent versions only after a day.
        assert_eq!(sweep(&store, now).await.unwrap().noncurrent, 1);
        // Of the two noncurrent versions of k, the newest one is kept.
        assert_eq!(sweep(&store, now + 2 * DAY_MS).await.unwrap().noncurrent, 1);
        let params = ListParams {
            max_keys: 10,
            ..ListParams::default()
        };
        let left = store.list_object_versions("bkt", &params, None).unwrap();
        assert_eq!(left.versions.len(), 2);
        assert!(left.versions.iter().all(|(m, _)| m.key == "k"));
    }

    fn lifecycle_rule() -> LifecycleRule {
        LifecycleRule {
            abort_incomplete_multipart_upload: None,
            expiration: None,
            filter: None,
            id: None,
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: ExpirationStatus::from_static(ExpirationStatus::DISABLED),
            transitions: None,
        }
    }
}
