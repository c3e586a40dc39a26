//! Evaluates a Lambda authorizer's IAM policy document against a method ARN the way API
//! Gateway does: a matching `Deny` wins, else a matching `Allow` allows, else the request is
//! implicitly denied. `Action` and `Resource` may be strings or lists and use `*` (any run of
//! characters) and `?` (one character) wildcards.

use serde_json::Value;

/// The result of evaluating a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOutcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Evaluates `policyDocument`; an error when it is not a policy document.
pub fn evaluate(policy: &Value, method_arn: &str) -> Result<PolicyOutcome, &'static str> {
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => return Err("policyDocument has no Statement"),
    };
    let mut allowed = false;
    for statement in statements {
        let effect = statement
            .get("Effect")
            .and_then(Value::as_str)
            .ok_or("a statement has no Effect")?;
        let action = any_matches(statement.get("Action"), |pattern| {
            wildcard_match(&pattern.to_ascii_lowercase(), "execute-api:invoke")
        })?;
        let resource = any_matches(statement.get("Resource"), |pattern| {
            wildcard_match(pattern, method_arn)
        })?;
        if !(action && resource) {
            continue;
        }
        if effect.eq_ignore_ascii_case("deny") {
            return Ok(PolicyOutcome::ExplicitDeny);
        }
        if effect.eq_ignore_ascii_case("allow") {
            allowed = true;
        } else {
            return Err("a statement's Effect is neither Allow nor Deny");
        }
    }
    Ok(if allowed {
        PolicyOutcome::Allow
    } else {
        PolicyOutcome::ImplicitDeny
    })
}

fn any_matches(
    value: Option<&Value>,
    matches: impl Fn(&str) -> bool,
) -> Result<bool, &'static str> {
    match value {
        Some(Value::String(pattern)) => Ok(matches(pattern)),
        Some(Value::Array(patterns)) => Ok(patterns.iter().filter_map(Value::as_str).any(matches)),
        _ => Err("a statement has no Action or Resource"),
    }
}

/// IAM-style wildcard match, linear in practice (greedy with one backtrack point).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:Api/Prod/GET/items/1";

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ARN));
        assert!(wildcard_match(
            "arn:aws:execute-api:*:*:Api/Prod/*/items/*",
            ARN
        ));
        assert!(wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:Api/Prod/GET/items/?",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:*:*:Api/Prod/POST/*",
            ARN
        ));
        assert!(wildcard_match("a**b", "ab"));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("", ""));
    }

    #[test]
    fn deny_beats_allow_and_nothing_is_implicit_deny() {
        let allow = json!({"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"});
        let deny = json!({"Effect":"Deny","Action":["execute-api:*"],"Resource":[ARN]});
        assert_eq!(
            evaluate(&json!({"Statement":[allow]}), ARN),
            Ok(PolicyOutcome::Allow)
        );
        assert_eq!(
            evaluate(&json!({"Statement":[allow, deny]}), ARN),
            Ok(PolicyOutcome::ExplicitDeny)
        );
        let other = json!({"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:x"});
        assert_eq!(
            evaluate(&json!({"Statement":other}), ARN),
            Ok(PolicyOutcome::ImplicitDeny)
        );
        assert!(evaluate(&json!({}), ARN).is_err());
        assert!(evaluate(&json!({"Statement":[{"Effect":"Allow"}]}), ARN).is_err());
    }
}
