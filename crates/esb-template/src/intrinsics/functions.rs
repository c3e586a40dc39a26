//! The intrinsic functions themselves: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::If`, the condition functions, `Fn::FindInMap`,
//! `Fn::Base64`, `Fn::GetAZs`, `Fn::ImportValue`, `Fn::Length`, `Fn::ToJsonString`, and
//! `{{resolve:…}}` dynamic references.

use base64::Engine;
use serde_json::Value;

use super::generated::Generated;
use super::{EvalError, Resolver, intrinsic, names, parameters, scalar_text};

impl Resolver<'_> {
    pub(super) fn call(&self, name: &str, args: &Value) -> Result<Option<Value>, EvalError> {
        match name {
            "Ref" => {
                let target = self.string_arg(name, args)?;
                self.reference(&target)
            }
            "Fn::GetAtt" => self.get_att(args).map(Some),
            "Fn::Sub" => self.sub(args).map(|s| Some(Value::String(s))),
            "Fn::Join" => self.join(args).map(|s| Some(Value::String(s))),
            "Fn::Select" => self.select(args),
            "Fn::Split" => self.split(args).map(Some),
            "Fn::If" => self.if_(args),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                let mut call = serde_json::Map::new();
                call.insert(name.to_string(), args.clone());
                self.condition_value(&Value::Object(call))
                    .map(|b| Some(Value::Bool(b)))
            }
            "Fn::FindInMap" => self.find_in_map(args).map(Some),
            "Fn::Base64" => {
                let text = self.string_arg(name, args)?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::GetAZs" => {
                let region = self.string_arg(name, args)?;
                let region = if region.is_empty() {
                    self.options.region.clone()
                } else {
                    region
                };
                Ok(Some(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|zone| Value::String(format!("{region}{zone}")))
                        .collect(),
                )))
            }
            "Fn::ImportValue" => {
                let export = self.string_arg(name, args)?;
                match self.options.resolve_values.get(&export) {
                    Some(value) => Ok(Some(Value::String(value.clone()))),
                    None => Err(format!(
                        "Fn::ImportValue {export} reads another stack's export, which does not \
                         exist here; set values.{export} in generator.yml"
                    )),
                }
            }
            "Fn::Length" => match self.resolved(args)? {
                Value::Array(items) => Ok(Some(Value::from(items.len()))),
                _ => Err("Fn::Length needs a list".to_string()),
            },
            "Fn::ToJsonString" => {
                let value = self.resolved(args)?;
                serde_json::to_string(&value)
                    .map(|s| Some(Value::String(s)))
                    .map_err(|e| format!("Fn::ToJsonString: {e}"))
            }
            other => Err(format!("{other} is not supported here")),
        }
    }

    /// Resolves a value that must not be `AWS::NoValue`.
    pub(super) fn resolved(&self, value: &Value) -> Result<Value, EvalError> {
        self.resolve(value)?
            .ok_or_else(|| "AWS::NoValue cannot be used here".to_string())
    }

    fn string_arg(&self, function: &str, args: &Value) -> Result<String, EvalError> {
        let value = self.resolved(args)?;
        scalar_text(&value).ok_or_else(|| format!("{function} needs a string, got {value}"))
    }

    fn list_arg<'v>(
        &self,
        function: &str,
        args: &'v Value,
        len: usize,
    ) -> Result<&'v [Value], EvalError> {
        match args {
            Value::Array(items) if items.len() == len => Ok(items),
            _ => Err(format!(
                "{function} needs a list of {len} arguments, got {args}"
            )),
        }
    }

    /// `Ref` of a parameter, pseudo parameter or resource.
    pub(super) fn reference(&self, target: &str) -> Result<Option<Value>, EvalError> {
        if target == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(value) = parameters::pseudo(target, self.options) {
            return Ok(Some(value));
        }
        if let Some(value) = self.parameters.get(target) {
            return value.clone().map(Some);
        }
        if let Some((function, suffix)) = target.split_once('.') {
            // SAM's `!Ref MyFunction.Alias` / `.Version`.
            if self.resource_type(function).ok() == Some("AWS::Serverless::Function") {
                let arn = self.arn_of(function)?;
                return Ok(Some(Value::String(match suffix {
                    "Alias" => format!("{arn}:{}", self.alias_of(function)?),
                    "Version" => format!("{arn}:1"),
                    _ => return Err(format!("unknown reference {target}")),
                })));
            }
        }
        if !self.resources.contains_key(target)
            && let Some(Generated::Qualified(sam_reference)) = self.generated(target)?
        {
            return self.reference(&sam_reference);
        }
        let (resource_type, name) = self.target(target)?;
        if let Some(qualified) = self.qualified_function_arn(target, &resource_type)? {
            return Ok(Some(Value::String(qualified)));
        }
        Ok(Some(Value::String(
            self.physical(&resource_type, &name).reference(),
        )))
    }

    /// `Ref` of an `AWS::Lambda::Version` or `AWS::Lambda::Alias` is the qualified ARN of
    /// the function it points at (version 1 here, or the alias name).
    fn qualified_function_arn(
        &self,
        logical_id: &str,
        resource_type: &str,
    ) -> Result<Option<String>, EvalError> {
        let qualifier_key = match resource_type {
            "AWS::Lambda::Version" => None,
            "AWS::Lambda::Alias" => Some("Name"),
            _ => return Ok(None),
        };
        let properties = self
            .resources
            .get(logical_id)
            .and_then(|r| r.get("Properties"));
        let property = |key: &str| -> Result<Option<String>, EvalError> {
            match properties.and_then(|p| p.get(key)) {
                None => Ok(None),
                Some(value) => Ok(scalar_text(&self.resolved(value)?)),
            }
        };
        // Either property may refer back to this resource.
        self.in_progress.guard(logical_id.to_string(), || {
            let Some(function) = property("FunctionName")? else {
                return Ok(None);
            };
            let arn = if function.starts_with("arn:") {
                function
            } else {
                self.physical("AWS::Lambda::Function", &function).arn()
            };
            let qualifier = match qualifier_key {
                None => None,
                Some(key) => property(key)?,
            };
            Ok(Some(format!(
                "{arn}:{}",
                qualifier.as_deref().unwrap_or("1")
            )))
        })
    }

    pub(super) fn alias_of(&self, function: &str) -> Result<String, EvalError> {
        let alias = self.auto_publish_alias(function);
        self.in_progress
            .guard(format!("{function}.Alias"), || {
                alias.map(|alias| self.resolved(alias)).transpose()
            })?
            .as_ref()
            .and_then(scalar_text)
            .ok_or_else(|| format!("{function}.Alias needs AutoPublishAlias on {function}"))
    }

    /// A function's `AutoPublishAlias`, from its properties or `Globals.Function`.
    pub(super) fn auto_publish_alias(&self, function: &str) -> Option<&Value> {
        self.resources
            .get(function)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get("AutoPublishAlias"))
            .or_else(|| {
                self.globals
                    .get("Function")
                    .and_then(|g| g.get("AutoPublishAlias"))
            })
    }

    /// The type and name of a referenced resource, including those SAM creates implicitly.
    fn target(&self, logical_id: &str) -> Result<(String, String), EvalError> {
        if self.resources.contains_key(logical_id) {
            if !self.resource_exists(logical_id)? {
                return Err(format!(
                    "refers to {logical_id}, which is not created because its Condition is false"
                ));
            }
            let resource_type = self.resource_type(logical_id)?.to_string();
            return Ok((resource_type, self.physical_name(logical_id)?));
        }
        match self.generated(logical_id)? {
            Some(Generated::Named {
                resource_type,
                name,
            }) => Ok((resource_type.to_string(), name)),
            Some(Generated::Qualified(sam_reference)) => {
                let Some(Value::String(arn)) = self.reference(&sam_reference)? else {
                    return Err(format!("{sam_reference} has no ARN"));
                };
                let resource_type = if sam_reference.ends_with(".Version") {
                    "AWS::Lambda::Version"
                } else {
                    "AWS::Lambda::Alias"
                };
                Ok((resource_type.to_string(), arn))
            }
            None => Err(format!(
                "refers to {logical_id}, which is neither a parameter nor a resource of this \
                 template"
            )),
        }
    }

    fn get_att(&self, args: &Value) -> Result<Value, EvalError> {
        let (resource, attribute) = match args {
            Value::Array(items) if items.len() == 2 => (
                self.string_arg("Fn::GetAtt", &items[0])?,
                self.string_arg("Fn::GetAtt", &items[1])?,
            ),
            Value::String(s) => match s.split_once('.') {
                Some((r, a)) => (r.to_string(), a.to_string()),
                None => return Err(format!("Fn::GetAtt {s} needs Resource.Attribute")),
            },
            other => {
                return Err(format!(
                    "Fn::GetAtt needs [Resource, Attribute], got {other}"
                ));
            }
        };
        let (resource_type, name) = self.target(&resource)?;
        let physical = self.physical(&resource_type, &name);
        if let Some(value) = physical.attribute(&attribute) {
            return Ok(value);
        }
        if names::is_served_type(&resource_type) {
            return Err(format!(
                "{resource} ({resource_type}) has no attribute {attribute} here"
            ));
        }
        let placeholder = format!("{name}.{attribute}");
        self.warn(
            &resource,
            format!(
                "{resource_type} is not served here; Fn::GetAtt {resource}.{attribute} \
                 resolves to the placeholder '{placeholder}'"
            ),
        );
        Ok(Value::String(placeholder))
    }

    fn sub(&self, args: &Value) -> Result<String, EvalError> {
        let (template, variables) = match args {
            Value::String(s) => (s.as_str(), None),
            Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
                (Value::String(s), Value::Object(vars)) => (s.as_str(), Some(vars)),
                _ => return Err("Fn::Sub needs [String, {Variables}]".to_string()),
            },
            other => {
                return Err(format!(
                    "Fn::Sub needs a string or [String, {{Variables}}], got {other}"
                ));
            }
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("Fn::Sub: unclosed ${{ in '{template}'"));
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                out.push_str(&self.sub_variable(name, variables)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn sub_variable(
        &self,
        name: &str,
        variables: Option<&serde_json::Map<String, Value>>,
    ) -> Result<String, EvalError> {
        let name = name.trim();
        let value = if let Some(value) = variables.and_then(|vars| vars.get(name)) {
            self.resolved(value)?
        } else if name.contains('.')
            && !name.starts_with("AWS::")
            && !self.parameters.contains_key(name)
        {
            let (resource, attribute) = name.split_once('.').unwrap_or((name, ""));
            self.get_att(&Value::Array(vec![
                Value::String(resource.to_string()),
                Value::String(attribute.to_string()),
            ]))?
        } else {
            self.reference(name)?
                .ok_or_else(|| format!("Fn::Sub: ${{{name}}} is AWS::NoValue"))?
        };
        scalar_text(&value)
            .ok_or_else(|| format!("Fn::Sub: ${{{name}}} is not a string but {value}"))
    }

    fn join(&self, args: &Value) -> Result<String, EvalError> {
        let [delimiter, list] = self.list_arg("Fn::Join", args, 2)? else {
            return Err("Fn::Join needs [Delimiter, [Values]]".to_string());
        };
        let delimiter = self.string_arg("Fn::Join", delimiter)?;
        let Value::Array(items) = self.resolved(list)? else {
            return Err("Fn::Join needs a list of values to join".to_string());
        };
        let parts = items
            .iter()
            .map(|item| {
                scalar_text(item).ok_or_else(|| format!("Fn::Join: {item} is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(parts.join(&delimiter))
    }

    fn select(&self, args: &Value) -> Result<Option<Value>, EvalError> {
        let [index, list] = self.list_arg("Fn::Select", args, 2)? else {
            return Err("Fn::Select needs [Index, [Values]]".to_string());
        };
        let index_text = self.string_arg("Fn::Select", index)?;
        let index: usize = index_text
            .parse()
            .map_err(|_| format!("Fn::Select: index {index_text} is not a number"))?;
        match self.resolved(list)? {
            Value::Array(items) => items.get(index).cloned().map(Some).ok_or_else(|| {
                format!(
                    "Fn::Select: index {index} is past the end of {} values",
                    items.len()
                )
            }),
            other => Err(format!("Fn::Select needs a list, got {other}")),
        }
    }

    fn split(&self, args: &Value) -> Result<Value, EvalError> {
        let [delimiter, source] = self.list_arg("Fn::Split", args, 2)? else {
            return Err("Fn::Split needs [Delimiter, String]".to_string());
        };
        let delimiter = self.string_arg("Fn::Split", delimiter)?;
        if delimiter.is_empty() {
            return Err("Fn::Split needs a non-empty delimiter".to_string());
        }
        let source = self.string_arg("Fn::Split", source)?;
        Ok(Value::Array(
            source
                .split(delimiter.as_str())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ))
    }

    fn if_(&self, args: &Value) -> Result<Option<Value>, EvalError> {
        let [condition, when_true, when_false] = self.list_arg("Fn::If", args, 3)? else {
            return Err("Fn::If needs [Condition, ValueIfTrue, ValueIfFalse]".to_string());
        };
        let Value::String(condition) = condition else {
            return Err(format!("Fn::If needs a condition name, got {condition}"));
        };
        if self.condition(condition)? {
            self.resolve(when_true)
        } else {
            self.resolve(when_false)
        }
    }

    fn find_in_map(&self, args: &Value) -> Result<Value, EvalError> {
        let items = match args {
            Value::Array(items) if items.len() == 3 || items.len() == 4 => items,
            _ => {
                return Err(
                    "Fn::FindInMap needs [MapName, TopLevelKey, SecondLevelKey]".to_string()
                );
            }
        };
        let map_name = self.string_arg("Fn::FindInMap", &items[0])?;
        let top = self.string_arg("Fn::FindInMap", &items[1])?;
        let second = self.string_arg("Fn::FindInMap", &items[2])?;
        let found = self
            .mappings
            .get(&map_name)
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second));
        match (found, items.get(3)) {
            (Some(value), _) => self
                .in_progress
                .guard(format!("Mappings.{map_name}.{top}.{second}"), || {
                    self.resolved(value)
                }),
            // AWS::LanguageExtensions: [Map, Top, Second, {DefaultValue: x}]
            (None, Some(Value::Object(default))) if default.contains_key("DefaultValue") => {
                self.resolved(&default["DefaultValue"])
            }
            (None, _) => Err(format!(
                "Fn::FindInMap: no value at {map_name}.{top}.{second} in Mappings"
            )),
        }
    }

    /// A condition expression: `Fn::Equals`/`And`/`Or`/`Not`, `{"Condition": name}`, or a
    /// value that resolves to a boolean.
    pub(super) fn condition_value(&self, expression: &Value) -> Result<bool, EvalError> {
        let Value::Object(map) = expression else {
            return match self.resolved(expression)? {
                Value::Bool(b) => Ok(b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                other => Err(format!("{other} is not a condition")),
            };
        };
        if let (1, Some(Value::String(name))) = (map.len(), map.get("Condition")) {
            return self.condition(name);
        }
        let Some((name, args)) = intrinsic(map) else {
            return Err(format!("{expression} is not a condition"));
        };
        match name {
            "Fn::Equals" => {
                let [a, b] = self.list_arg(name, args, 2)? else {
                    return Err("Fn::Equals needs two values".to_string());
                };
                let (a, b) = (self.resolved(a)?, self.resolved(b)?);
                Ok(match (scalar_text(&a), scalar_text(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            "Fn::Not" => {
                let [inner] = self.list_arg(name, args, 1)? else {
                    return Err("Fn::Not needs one condition".to_string());
                };
                Ok(!self.condition_value(inner)?)
            }
            "Fn::And" | "Fn::Or" => {
                let Value::Array(items) = args else {
                    return Err(format!("{name} needs a list of conditions"));
                };
                if !(2..=10).contains(&items.len()) {
                    return Err(format!(
                        "{name} needs 2 to 10 conditions, got {}",
                        items.len()
                    ));
                }
                let mut results = Vec::with_capacity(items.len());
                for item in items {
                    results.push(self.condition_value(item)?);
                }
                Ok(if name == "Fn::And" {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                })
            }
            _ => match self.call(name, args)? {
                Some(Value::Bool(b)) => Ok(b),
                other => Err(format!("{name} does not give a condition but {other:?}")),
            },
        }
    }

    /// Replaces `{{resolve:service:name…}}` with configured values.
    pub(super) fn dynamic_references(&self, text: &str) -> Result<String, EvalError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{resolve:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "{{resolve:".len()..];
            let Some(end) = after.find("}}") else {
                return Err(format!("unclosed {{{{resolve:… in '{text}'"));
            };
            let reference = &after[..end];
            let key = reference.split_once(':').map_or(reference, |(_, key)| key);
            let value = self
                .options
                .resolve_values
                .get(reference)
                .or_else(|| self.options.resolve_values.get(key))
                .ok_or_else(|| {
                    format!(
                        "{{{{resolve:{reference}}}}} has no value here; set values.{key} in \
                         generator.yml"
                    )
                })?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
