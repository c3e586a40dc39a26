//! Function names as the Invoke API accepts them: a name, `name:qualifier`, a partial ARN
//! (`123456789012:function:name`) or a full ARN, URL-encoded in the path, with an optional
//! `?Qualifier=`.

use percent_encoding::percent_decode_str;

use super::LambdaApiError;

/// A function name with its optional version or alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    pub function: String,
    pub qualifier: Option<String>,
}

impl FunctionName {
    pub fn parse(encoded: &str, query: Option<&str>) -> Result<FunctionName, LambdaApiError> {
        let decoded = percent_decode_str(encoded)
            .decode_utf8()
            .map_err(|_| invalid(encoded))?;
        let parts: Vec<&str> = decoded.split(':').collect();
        let (function, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            [_account, "function", name] => (*name, None),
            [_account, "function", name, qualifier] => (*name, Some(*qualifier)),
            [
                "arn",
                _partition,
                "lambda",
                _region,
                _account,
                "function",
                name,
            ] => (*name, None),
            [
                "arn",
                _partition,
                "lambda",
                _region,
                _account,
                "function",
                name,
                qualifier,
            ] => (*name, Some(*qualifier)),
            _ => return Err(invalid(&decoded)),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 140
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !valid(function) {
            return Err(invalid(&decoded));
        }
        let from_query = query.and_then(|q| {
            q.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                (key == "Qualifier")
                    .then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
            })
        });
        let qualifier = match (qualifier, from_query) {
            (Some(a), Some(b)) if a != b => {
                return Err(LambdaApiError::InvalidParameter {
                    message: "The derived qualifier from the function name does not match the \
                              specified qualifier."
                        .to_string(),
                });
            }
            (Some(a), _) => Some(a.to_string()),
            (None, b) => b,
        };
        Ok(FunctionName {
            function: function.to_string(),
            qualifier,
        })
    }
}

fn invalid(name: &str) -> LambdaApiError {
    LambdaApiError::InvalidParameter {
        message: format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(encoded: &str, query: Option<&str>) -> Option<(String, Option<String>)> {
        FunctionName::parse(encoded, query)
            .ok()
            .map(|n| (n.function, n.qualifier))
    }

    #[test]
    fn every_accepted_form() {
        let plain = Some(("hello".to_string(), None));
        assert_eq!(parse("hello", None), plain);
        assert_eq!(parse("123456789012:function:hello", None), plain);
        assert_eq!(
            parse("arn:aws:lambda:us-east-1:123456789012:function:hello", None),
            plain
        );
        assert_eq!(
            parse(
                "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello",
                None
            ),
            plain
        );
        let live = Some(("hello".to_string(), Some("live".to_string())));
        assert_eq!(parse("hello:live", None), live);
        assert_eq!(parse("hello", Some("Qualifier=live")), live);
        assert_eq!(
            parse(
                "arn:aws:lambda:us-east-1:1:function:hello:live",
                Some("Qualifier=live")
            ),
            live
        );
    }

    #[test]
    fn invalid_names_are_errors() {
        for bad in [
            "",
            "a/b",
            "arn:aws:s3:::bucket",
            "he llo",
            "a:b:c:d:e",
            "%FF",
        ] {
            assert!(FunctionName::parse(bad, None).is_err(), "{bad}");
        }
        assert!(FunctionName::parse("hello:live", Some("Qualifier=prod")).is_err());
    }
}
