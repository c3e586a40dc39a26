//! Buckets: create the missing ones, then bring versioning, lifecycle rules and CORS rules to
//! what the template says. Every setting is read back first, so a second run sends no writes.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CorsConfiguration, CorsRule, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule as SdkLifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, VersioningConfiguration,
};
use esb_model::{Bucket, BucketCorsRule, LifecycleRule};

use crate::error::{ProvisionError, describe};
use crate::report::{Outcome, ResourceKind};

/// Makes `bucket` exist as declared.
pub async fn provision_bucket(
    client: &Client,
    region: &str,
    bucket: &Bucket,
) -> Result<Outcome, ProvisionError> {
    let mut outcome = Outcome::new(ResourceKind::Bucket, &bucket.name, &bucket.logical_id);
    let fail = |action: &'static str, message: String| ProvisionError::Bucket {
        name: bucket.name.clone(),
        logical_id: bucket.logical_id.clone(),
        action,
        message,
    };
    let desired_lifecycle = normalized_lifecycle(&bucket.lifecycle_rules)
        .map_err(|message| fail("reading the template's lifecycle rules", message))?;

    if !exists(client, &bucket.name)
        .await
        .map_err(|m| fail("HeadBucket", m))?
    {
        create(client, region, &bucket.name)
            .await
            .map_err(|m| fail("CreateBucket", m))?;
        outcome.created = true;
    }

    // A new bucket is unversioned; no need to ask.
    let enabled = !outcome.created
        && versioning_status(client, &bucket.name)
            .await
            .map_err(|m| fail("GetBucketVersioning", m))?
            == Some(BucketVersioningStatus::Enabled);
    // A bucket that was ever versioned can only be suspended, never unversioned again (as on S3).
    let wanted = match (bucket.versioning, enabled) {
        (true, false) => Some(BucketVersioningStatus::Enabled),
        (false, true) => Some(BucketVersioningStatus::Suspended),
        _ => None,
    };
    if let Some(status) = wanted {
        client
            .put_bucket_versioning()
            .bucket(&bucket.name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(status.clone())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| fail("PutBucketVersioning", describe(&e)))?;
        outcome
            .changes
            .push(format!("versioning {}", status.as_str()));
    }

    let current_lifecycle = current_lifecycle(client, &bucket.name)
        .await
        .map_err(|m| fail("GetBucketLifecycleConfiguration", m))?;
    if !same_lifecycle(&current_lifecycle, &desired_lifecycle) {
        if desired_lifecycle.is_empty() {
            client
                .delete_bucket_lifecycle()
                .bucket(&bucket.name)
                .send()
                .await
                .map_err(|e| fail("DeleteBucketLifecycle", describe(&e)))?;
            outcome.changes.push("lifecycle rules removed".to_string());
        } else {
            let rules = desired_lifecycle
                .iter()
                .map(sdk_lifecycle_rule)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| fail("PutBucketLifecycleConfiguration", m))?;
            let configuration = BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(|e| fail("PutBucketLifecycleConfiguration", e.to_string()))?;
            client
                .put_bucket_lifecycle_configuration()
                .bucket(&bucket.name)
                .lifecycle_configuration(configuration)
                .send()
                .await
                .map_err(|e| fail("PutBucketLifecycleConfiguration", describe(&e)))?;
            outcome
                .changes
                .push(format!("{} lifecycle rule(s) set", desired_lifecycle.len()));
        }
    }

    let current_cors = current_cors(client, &bucket.name)
        .await
        .map_err(|m| fail("GetBucketCors", m))?;
    if !same_cors(&current_cors, &bucket.cors_rules) {
        if bucket.cors_rules.is_empty() {
            client
                .delete_bucket_cors()
                .bucket(&bucket.name)
                .send()
                .await
                .map_err(|e| fail("DeleteBucketCors", describe(&e)))?;
            outcome.changes.push("CORS rules removed".to_string());
        } else {
            let rules = bucket
                .cors_rules
                .iter()
                .map(sdk_cors_rule)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| fail("PutBucketCors", m))?;
            let configuration = CorsConfiguration::builder()
                .set_cors_rules(Some(rules))
                .build()
                .map_err(|e| fail("PutBucketCors", e.to_string()))?;
            client
                .put_bucket_cors()
                .bucket(&bucket.name)
                .cors_configuration(configuration)
                .send()
                .await
                .map_err(|e| fail("PutBucketCors", describe(&e)))?;
            outcome
                .changes
                .push(format!("{} CORS rule(s) set", bucket.cors_rules.len()));
        }
    }
    Ok(outcome)
}

async fn exists(client: &Client, name: &str) -> Result<bool, String> {
    match client.head_bucket().bucket(name).send().await {
        Ok(_) => Ok(true),
        Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(false),
        Err(error) => Err(describe(&error)),
    }
}

async fn versioning_status(
    client: &Client,
    name: &str,
) -> Result<Option<BucketVersioningStatus>, String> {
    match client.get_bucket_versioning().bucket(name).send().await {
        Ok(output) => Ok(output.status().cloned()),
        Err(error) => {
            // moto (and other stores modelled on older docs) wrap the answer in a
            // `GetBucketVersioningResponse` root that the Rust SDK refuses to parse although
            // the status inside is fine; boto3 reads it. Read the status from such a 200.
            let body = error
                .raw_response()
                .filter(|r| r.status().as_u16() == 200)
                .and_then(|r| r.body().bytes())
                .map(String::from_utf8_lossy);
            match body {
                Some(body) if body.contains("<Status>Enabled</Status>") => {
                    Ok(Some(BucketVersioningStatus::Enabled))
                }
                Some(body) if body.contains("<Status>Suspended</Status>") => {
                    Ok(Some(BucketVersioningStatus::Suspended))
                }
                Some(body) if body.contains("GetBucketVersioningResponse") => Ok(None),
                _ => Err(describe(&error)),
            }
        }
    }
}

async fn create(client: &Client, region: &str, name: &str) -> Result<(), String> {
    let mut request = client.create_bucket().bucket(name);
    // us-east-1 is the one region S3 refuses as an explicit location constraint.
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Created meanwhile by someone with the same credentials: it exists, which is the goal.
        Err(error) if error.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
        Err(error) => Err(describe(&error)),
    }
}

async fn current_lifecycle(client: &Client, name: &str) -> Result<Vec<LifecycleRule>, String> {
    match client
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await
    {
        Ok(output) => Ok(output.rules().iter().map(model_lifecycle_rule).collect()),
        Err(error) if error.code() == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
        Err(error) => Err(describe(&error)),
    }
}

async fn current_cors(client: &Client, name: &str) -> Result<Vec<BucketCorsRule>, String> {
    match client.get_bucket_cors().bucket(name).send().await {
        Ok(output) => Ok(output.cors_rules().iter().map(model_cors_rule).collect()),
        Err(error) if error.code() == Some("NoSuchCORSConfiguration") => Ok(Vec::new()),
        Err(error) => Err(describe(&error)),
    }
}

/// The template's rules with dates in one canonical form and empty prefixes dropped, so they
/// compare equal to what the endpoint returns.
fn normalized_lifecycle(rules: &[LifecycleRule]) -> Result<Vec<LifecycleRule>, String> {
    rules
        .iter()
        .map(|rule| {
            let expiration_date = match &rule.expiration_date {
                None => None,
                Some(text) => Some(canonical_date(text)?),
            };
            Ok(LifecycleRule {
                prefix: rule.prefix.clone().filter(|p| !p.is_empty()),
                expiration_date,
                ..rule.clone()
            })
        })
        .collect()
}

/// `2030-01-01` or `2030-01-01T00:00:00Z` → `2030-01-01T00:00:00Z`.
fn canonical_date(text: &str) -> Result<String, String> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    DateTime::from_str(&full, DateTimeFormat::DateTime)
        .ok()
        .and_then(|date| date.fmt(DateTimeFormat::DateTime).ok())
        .ok_or_else(|| format!("ExpirationDate {text:?} is not an ISO 8601 date"))
}

fn model_lifecycle_rule(rule: &SdkLifecycleRule) -> LifecycleRule {
    #[allow(deprecated)] // Rule-level Prefix is deprecated but still what some stores return.
    let prefix = rule
        .filter()
        .and_then(LifecycleRuleFilter::prefix)
        .or(rule.prefix())
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let expiration = rule.expiration();
    LifecycleRule {
        id: rule.id().map(str::to_string),
        enabled: rule.status() == &ExpirationStatus::Enabled,
        prefix,
        expiration_days: expiration
            .and_then(LifecycleExpiration::days)
            .and_then(|d| u32::try_from(d).ok()),
        expiration_date: expiration
            .and_then(LifecycleExpiration::date)
            .and_then(|d| d.fmt(DateTimeFormat::DateTime).ok()),
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days)
            .and_then(|d| u32::try_from(d).ok()),
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(AbortIncompleteMultipartUpload::days_after_initiation)
            .and_then(|d| u32::try_from(d).ok()),
    }
}

fn sdk_lifecycle_rule(rule: &LifecycleRule) -> Result<SdkLifecycleRule, String> {
    let days = |d: u32| i32::try_from(d).map_err(|_| format!("{d} days is too many"));
    let mut builder = SdkLifecycleRule::builder()
        .set_id(rule.id.clone())
        .status(if rule.enabled {
            ExpirationStatus::Enabled
        } else {
            ExpirationStatus::Disabled
        })
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(rule.prefix.clone().unwrap_or_default())
                .build(),
        );
    if rule.expiration_days.is_some() || rule.expiration_date.is_some() {
        let mut expiration = LifecycleExpiration::builder();
        if let Some(d) = rule.expiration_days {
            expiration = expiration.days(days(d)?);
        }
        if let Some(date) = &rule.expiration_date {
            let date = DateTime::from_str(date, DateTimeFormat::DateTime)
                .map_err(|e| format!("ExpirationDate {date:?}: {e}"))?;
            expiration = expiration.date(date);
        }
        builder = builder.expiration(expiration.build());
    }
    if let Some(d) = rule.noncurrent_version_expiration_days {
        builder = builder.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days(d)?)
                .build(),
        );
    }
    if let Some(d) = rule.abort_incomplete_multipart_upload_days {
        builder = builder.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days(d)?)
                .build(),
        );
    }
    builder.build().map_err(|e| e.to_string())
}

/// Rules match when everything the template set matches; a rule without an id in the template
/// matches whatever id the store gave it.
fn same_lifecycle(current: &[LifecycleRule], desired: &[LifecycleRule]) -> bool {
    current.len() == desired.len()
        && current.iter().zip(desired).all(|(have, want)| {
            let id_matches = want.id.is_none() || want.id == have.id;
            id_matches
                && LifecycleRule {
                    id: None,
                    ..have.clone()
                } == LifecycleRule {
                    id: None,
                    ..want.clone()
                }
        })
}

fn model_cors_rule(rule: &CorsRule) -> BucketCorsRule {
    BucketCorsRule {
        allowed_origins: rule.allowed_origins().to_vec(),
        allowed_methods: rule.allowed_methods().to_vec(),
        allowed_headers: rule.allowed_headers().to_vec(),
        exposed_headers: rule.expose_headers().to_vec(),
        max_age_seconds: rule.max_age_seconds().and_then(|s| u32::try_from(s).ok()),
    }
}

fn sdk_cors_rule(rule: &BucketCorsRule) -> Result<CorsRule, String> {
    CorsRule::builder()
        .set_allowed_origins(Some(rule.allowed_origins.clone()))
        .set_allowed_methods(Some(rule.allowed_methods.clone()))
        .set_allowed_headers(Some(rule.allowed_headers.clone()).filter(|h| !h.is_empty()))
        .set_expose_headers(Some(rule.exposed_headers.clone()).filter(|h| !h.is_empty()))
        .set_max_age_seconds(rule.max_age_seconds.and_then(|s| i32::try_from(s).ok()))
        .build()
        .map_err(|e| e.to_string())
}

fn same_cors(current: &[BucketCorsRule], desired: &[BucketCorsRule]) -> bool {
    current == desired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> LifecycleRule {
        LifecycleRule {
            id: None,
            enabled: true,
            prefix: Some("tmp/".into()),
            expiration_days: Some(7),
            expiration_date: None,
            noncurrent_version_expiration_days: None,
            abort_incomplete_multipart_upload_days: Some(1),
        }
    }

    #[test]
    fn lifecycle_rules_round_trip_through_the_sdk_types() {
        let sdk = sdk_lifecycle_rule(&rule()).expect("valid");
        assert_eq!(model_lifecycle_rule(&sdk), rule());
    }

    #[test]
    fn a_rule_without_id_matches_any_store_assigned_id() {
        let stored = LifecycleRule {
            id: Some("generated".into()),
            ..rule()
        };
        assert!(same_lifecycle(std::slice::from_ref(&stored), &[rule()]));
        let named = LifecycleRule {
            id: Some("other".into()),
            ..rule()
        };
        assert!(!same_lifecycle(&[stored], &[named]));
    }

    #[test]
    fn dates_are_canonical_and_bad_ones_are_named() {
        assert_eq!(
            canonical_date("2030-01-01").expect("date"),
            "2030-01-01T00:00:00Z"
        );
        assert_eq!(
            canonical_date("2030-01-01T00:00:00.000Z").expect("date"),
            "2030-01-01T00:00:00Z"
        );
        let err = canonical_date("next year").expect_err("not a date");
        assert!(err.contains("next year"), "{err}");
    }
}
