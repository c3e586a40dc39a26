//! The resources the SAM transform adds, under the logical ids `sam deploy` gives them, so that
//! `Ref`, `Fn::GetAtt` and `Fn::Sub` of them resolve as they do after `sam deploy`:
//!
//! | logical id | `Ref` here |
//! |---|---|
//! | `ServerlessRestApi`, `ServerlessHttpApi` | the logical id |
//! | `<Function>Role` (a function without `Role`) | the logical id; `.Arn` its IAM ARN |
//! | `<Function>Alias<Alias>` (with `AutoPublishAlias`) | the alias ARN, as `<Function>.Alias` |
//! | `<Function>Version<hash>` | version 1's ARN, as `<Function>.Version` |
//! | `<Api><Stage>Stage`, `<Api>Stage` (stage name from an intrinsic), `<Api>Stage<hash>` (a name with other than letters and digits), `<HttpApi>ApiGatewayDefaultStage` | the stage name |
//! | `<Api>Deployment<hash>` | the logical id |
//!
//! SAM spells an alias in its logical id with `-` as `D` and `_` as `U`; a hash is 10 hex digits.

use serde_json::Value;

use super::{EvalError, Resolver, scalar_text};

/// What a generated logical id stands for.
#[derive(Debug)]
pub(super) enum Generated {
    /// A resource `Ref` gives `name` of (its `Fn::GetAtt` follows the type).
    Named {
        resource_type: &'static str,
        name: String,
    },
    /// Stands for SAM's `Function.Alias` or `Function.Version`, given here.
    Qualified(String),
}

const IMPLICIT_APIS: [(&str, &str); 2] = [
    ("ServerlessRestApi", "AWS::Serverless::Api"),
    ("ServerlessHttpApi", "AWS::Serverless::HttpApi"),
];

impl Resolver<'_> {
    pub(super) fn generated(&self, logical_id: &str) -> Result<Option<Generated>, EvalError> {
        let implicit_api = match logical_id {
            "ServerlessRestApi" => Some("AWS::ApiGateway::RestApi"),
            "ServerlessHttpApi" => Some("AWS::ApiGatewayV2::Api"),
            _ => None,
        };
        if let Some(resource_type) = implicit_api {
            return Ok(Some(Generated::Named {
                resource_type,
                name: logical_id.to_string(),
            }));
        }
        for (function, properties) in self.of_type("AWS::Serverless::Function") {
            let Some(rest) = logical_id.strip_prefix(function) else {
                continue;
            };
            let generated = if rest == "Role" && properties.and_then(|p| p.get("Role")).is_none() {
                Generated::Named {
                    resource_type: "AWS::IAM::Role",
                    name: logical_id.to_string(),
                }
            } else if self.auto_publish_alias(function).is_none() {
                continue;
            } else if rest.strip_prefix("Version").is_some_and(is_hash) {
                Generated::Qualified(format!("{function}.Version"))
            } else if rest.strip_prefix("Alias")
                == Some(&self.alias_of(function)?.replace('-', "D").replace('_', "U"))
            {
                Generated::Qualified(format!("{function}.Alias"))
            } else {
                continue;
            };
            return self.created_with(function, logical_id, generated).map(Some);
        }
        for (api, kind) in self.apis() {
            let Some(rest) = logical_id.strip_prefix(api.as_str()) else {
                continue;
            };
            let generated = if kind == "AWS::Serverless::Api"
                && rest.strip_prefix("Deployment").is_some_and(is_hash)
            {
                Generated::Named {
                    resource_type: "AWS::ApiGateway::Deployment",
                    name: logical_id.to_string(),
                }
            } else if let Some(stage) = self.stage_named(&api, kind, rest)? {
                Generated::Named {
                    resource_type: if kind == "AWS::Serverless::Api" {
                        "AWS::ApiGateway::Stage"
                    } else {
                        "AWS::ApiGatewayV2::Stage"
                    },
                    name: stage,
                }
            } else {
                continue;
            };
            return self.created_with(&api, logical_id, generated).map(Some);
        }
        Ok(None)
    }

    /// `generated` when `owner`, the resource SAM generates it for, is created.
    fn created_with(
        &self,
        owner: &str,
        logical_id: &str,
        generated: Generated,
    ) -> Result<Generated, EvalError> {
        if self.resources.contains_key(owner) && !self.resource_exists(owner)? {
            return Err(format!(
                "refers to {logical_id}, which is not created because the Condition of {owner} \
                 is false"
            ));
        }
        Ok(generated)
    }

    /// The resources of one type, with their properties.
    fn of_type(&self, resource_type: &str) -> Vec<(&str, Option<&Value>)> {
        self.resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(resource_type))
            .map(|(id, r)| (id.as_str(), r.get("Properties")))
            .collect()
    }

    /// Every SAM API of the template and the implicit ones it does not define, with its type.
    fn apis(&self) -> Vec<(String, &'static str)> {
        let mut apis = Vec::new();
        for kind in ["AWS::Serverless::Api", "AWS::Serverless::HttpApi"] {
            apis.extend(
                self.of_type(kind)
                    .into_iter()
                    .map(|(id, _)| (id.to_string(), kind)),
            );
        }
        for (implicit, kind) in IMPLICIT_APIS {
            if !self.resources.contains_key(implicit) {
                apis.push((implicit.to_string(), kind));
            }
        }
        apis
    }

    /// The stage name of `api` when `rest` (what follows the API's logical id) names its stage.
    fn stage_named(&self, api: &str, kind: &str, rest: &str) -> Result<Option<String>, EvalError> {
        let globals = if kind == "AWS::Serverless::Api" {
            "Api"
        } else {
            "HttpApi"
        };
        let written = self
            .resources
            .get(api)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get("StageName"))
            .or_else(|| self.globals.get(globals).and_then(|g| g.get("StageName")));
        let default = if kind == "AWS::Serverless::Api" {
            "Prod"
        } else {
            "$default"
        };
        let (stage, literal) = match written {
            None => (default.to_string(), true),
            Some(Value::String(stage)) => (stage.clone(), true),
            Some(value) => {
                let resolved = self
                    .in_progress
                    .guard(format!("{api}.StageName"), || self.resolved(value))?;
                (scalar_text(&resolved).unwrap_or_default(), false)
            }
        };
        let matches = if stage == "$default" && kind == "AWS::Serverless::HttpApi" {
            rest == "ApiGatewayDefaultStage"
        } else if !literal {
            rest == "Stage"
        } else if stage.chars().all(|c| c.is_ascii_alphanumeric()) {
            rest.strip_suffix("Stage") == Some(stage.as_str())
        } else {
            rest.strip_prefix("Stage").is_some_and(is_hash)
        };
        Ok(matches.then_some(stage))
    }
}

/// The 10 hex digits SAM appends to versions, deployments and some stages.
fn is_hash(text: &str) -> bool {
    text.len() == 10 && text.bytes().all(|b| b.is_ascii_hexdigit())
}
