//! Bucket policies: Put/Get/DeleteBucketPolicy (the document is kept as sent) and the part of
//! IAM policy evaluation a single-owner store needs — what a policy allows or denies to an
//! anonymous request. A statement applies to anonymous requests when its `Principal` is `*`
//! (or `{"AWS": "*"}`); `Action` and `Resource` match with `*` and `?` wildcards; an explicit
//! `Deny` wins over an `Allow`. Statements with a `Condition`, `NotPrincipal`, `NotAction` or
//! `NotResource` are kept but not evaluated (they grant nothing and deny nothing here).

use s3s::dto::{
    DeleteBucketPolicyInput, DeleteBucketPolicyOutput, GetBucketPolicyInput, GetBucketPolicyOutput,
    PutBucketPolicyInput, PutBucketPolicyOutput,
};
use s3s::{S3Error, S3ErrorCode, S3Response, S3Result};
use serde_json::Value;

use super::access::BucketAccess;
use super::acl::access_denied;
use crate::store::{BucketConfig, Store};

/// One statement, as far as it is evaluated.
#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    /// the principal is everyone
    anyone: bool,
    /// a Condition or a Not* element: not evaluated
    unevaluated: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// A parsed bucket policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    statements: Vec<Statement>,
}

fn malformed(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::MalformedPolicy, message)
}

/// A string or a list of strings, as policy elements are written.
fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn is_anyone(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .get("AWS")
            .and_then(|aws| strings(Some(aws)))
            .is_some_and(|ids| ids.iter().any(|id| id == "*")),
        _ => false,
    }
}

/// `pattern` with `*` (any run) and `?` (any one character) matches `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Policy {
    /// Parses and checks a policy for `bucket` as S3 does on PutBucketPolicy (400
    /// `MalformedPolicy` with S3's messages).
    pub(crate) fn parse(text: &str, bucket: &str) -> S3Result<Self> {
        let doc: Value = serde_json::from_str(text)
            .ok()
            .filter(|_| text.trim_start().starts_with('{'))
            .ok_or_else(|| {
                malformed("Policies must be valid JSON and the first byte must be '{'")
            })?;
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => return Err(malformed("Missing required field Statement")),
        };
        if statements.is_empty() {
            return Err(malformed("Missing required field Statement"));
        }
        let arn = format!("arn:aws:s3:::{bucket}");
        let mut parsed = Vec::with_capacity(statements.len());
        for st in &statements {
            let allow = match st.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                Some(_) => return Err(malformed("Invalid effect")),
                None => return Err(malformed("Missing required field Effect")),
            };
            let principal = st.get("Principal");
            if principal.is_none() && st.get("NotPrincipal").is_none() {
                return Err(malformed("Missing required field Principal"));
            }
            let actions = strings(st.get("Action").or_else(|| st.get("NotAction")))
                .ok_or_else(|| malformed("Missing required field Action"))?;
            if actions
                .iter()
                .any(|a| a != "*" && !a.to_ascii_lowercase().starts_with("s3:"))
            {
                return Err(malformed("Policy has invalid action"));
            }
            let resources = strings(st.get("Resource").or_else(|| st.get("NotResource")))
                .ok_or_else(|| malformed("Missing required field Resource"))?;
            if resources
                .iter()
                .any(|r| r != "*" && r != &arn && !r.starts_with(&format!("{arn}/")))
            {
                return Err(malformed("Policy has invalid resource"));
            }
            let unevaluated = ["Condition", "NotPrincipal", "NotAction", "NotResource"]
                .iter()
                .any(|k| st.get(k).is_some());
            parsed.push(Statement {
                allow,
                anyone: principal.is_some_and(is_anyone),
                unevaluated,
                actions,
                resources,
            });
        }
        Ok(Self { statements: parsed })
    }

    fn applicable(&self, action: &str, resource: &str) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(move |st| {
            st.anyone
                && !st.unevaluated
                && st
                    .actions
                    .iter()
                    .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && st.resources.iter().any(|r| glob(r, resource))
        })
    }

    /// What the policy says to an anonymous request for `action` (`s3:GetObject` …) on
    /// `resource` (`arn:aws:s3:::bucket[/key]`): `Some(false)` an explicit deny, `Some(true)`
    /// an allow, `None` nothing.
    pub(crate) fn anonymous(&self, action: &str, resource: &str) -> Option<bool> {
        let mut allowed = None;
        for st in self.applicable(action, resource) {
            if !st.allow {
                return Some(false);
            }
            allowed = Some(true);
        }
        allowed
    }

    /// Whether the policy allows anything to everyone (S3's "public" policy).
    pub(crate) fn is_public(&self) -> bool {
        self.statements
            .iter()
            .any(|st| st.allow && st.anyone && !st.unevaluated)
    }
}

pub(crate) async fn put(
    store: &Store,
    input: PutBucketPolicyInput,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let policy = Policy::parse(&input.policy, &input.bucket)?;
    let access = BucketAccess::load(store, &input.bucket).await?;
    if access.block.block_public_policy && policy.is_public() {
        return Err(access_denied());
    }
    store
        .put_bucket_config(
            &input.bucket,
            BucketConfig::Policy,
            input.policy.into_bytes(),
        )
        .await?;
    Ok(S3Response::new(PutBucketPolicyOutput::default()))
}

pub(crate) async fn get(
    store: &Store,
    input: GetBucketPolicyInput,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let text = store
        .get_bucket_config(&input.bucket, BucketConfig::Policy)
        .await?
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::NoSuchBucketPolicy,
                "The bucket policy does not exist",
            )
        })?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(String::from_utf8_lossy(&text).into_owned()),
    }))
}

pub(crate) async fn delete(
    store: &Store,
    input: DeleteBucketPolicyInput,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    store
        .delete_bucket_config(&input.bucket, BucketConfig::Policy)
        .await?;
    Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b.txt"));
        assert!(glob("s3:get*", "s3:getobject"));
        assert!(glob("a?c", "abc") && !glob("a?c", "abbc"));
        assert!(!glob("arn:aws:s3:::b/pub/*", "arn:aws:s3:::b/private/x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn public_read_policy_and_deny() {
        let text = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::b/secret/*"},
            {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
             "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        let p = Policy::parse(text, "b").unwrap();
        assert!(p.is_public());
        assert_eq!(
            p.anonymous("s3:GetObject", "arn:aws:s3:::b/a.txt"),
            Some(true)
        );
        assert_eq!(
            p.anonymous("s3:GetObject", "arn:aws:s3:::b/secret/k"),
            Some(false)
        );
        assert_eq!(p.anonymous("s3:PutObject", "arn:aws:s3:::b/a.txt"), None);
        assert_eq!(p.anonymous("s3:ListBucket", "arn:aws:s3:::b"), None);
    }

    #[test]
    fn malformed_policies() {
        for (text, message) in [
            ("nope", "Policies must be valid JSON"),
            ("{}", "Missing required field Statement"),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
                "Policy has invalid resource",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:Run","Resource":"arn:aws:s3:::b/*"}]}"#,
                "Policy has invalid action",
            ),
        ] {
            let err = Policy::parse(text, "b").unwrap_err();
            assert_eq!(err.code(), &S3ErrorCode::MalformedPolicy);
            assert!(err.message().unwrap().contains(message), "{text}");
        }
    }
}
