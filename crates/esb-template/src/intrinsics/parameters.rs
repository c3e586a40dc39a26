//! Template `Parameters` and AWS pseudo parameters: what `Ref` of a name that is not a
//! resource gives.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::{LoadOptions, ParameterInfo, TemplateError, Warning};

/// A parameter's value, or why it has none (reported only when something uses it).
pub(crate) type ParameterValue = Result<Value, String>;

/// Every declared parameter's value: override, else Default, else missing.
pub(crate) fn values(
    template: &Map<String, Value>,
    options: &LoadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<IndexMap<String, ParameterValue>, TemplateError> {
    let declared = declared(template)?;
    for name in options.parameter_overrides.keys() {
        if !declared.iter().any(|p| &p.name == name) {
            warnings.push(Warning {
                logical_id: None,
                message: format!("parameter override {name} names no parameter of the template"),
                location: None,
            });
        }
    }
    let mut values = IndexMap::new();
    for parameter in declared {
        let raw = options
            .parameter_overrides
            .get(&parameter.name)
            .cloned()
            .or_else(|| parameter.default.clone());
        let value = match raw {
            None => Err(format!(
                "parameter {0} has no Default and no value; pass --parameter-overrides {0}=VALUE \
                 or set parameters.{0} in generator.yml",
                parameter.name
            )),
            Some(raw) => {
                check_allowed(&parameter, &raw)?;
                typed_value(&parameter, raw, options)
            }
        };
        values.insert(parameter.name, value);
    }
    Ok(values)
}

fn check_allowed(parameter: &ParameterInfo, raw: &str) -> Result<(), TemplateError> {
    if parameter.allowed_values.is_empty() || parameter.allowed_values.iter().any(|v| v == raw) {
        return Ok(());
    }
    Err(TemplateError::Parameter {
        name: parameter.name.clone(),
        message: format!("value '{raw}' is not one of its AllowedValues"),
        help: format!("use one of: {}", parameter.allowed_values.join(", ")),
    })
}

fn typed_value(parameter: &ParameterInfo, raw: String, options: &LoadOptions) -> ParameterValue {
    let kind = parameter.parameter_type.as_str();
    if let Some(inner) = kind
        .strip_prefix("AWS::SSM::Parameter::Value<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        // The value is the SSM parameter's name; its content comes from the configured values.
        let Some(resolved) = options.resolve_values.get(&raw) else {
            return Err(format!(
                "parameter {} reads SSM parameter '{raw}', which has no value here; set \
                 values.{raw} in generator.yml",
                parameter.name
            ));
        };
        return Ok(shaped(inner, resolved.clone()));
    }
    Ok(shaped(kind, raw))
}

/// List types resolve to a list of strings; everything else to a string.
fn shaped(kind: &str, raw: String) -> Value {
    if kind == "CommaDelimitedList" || kind.starts_with("List<") {
        Value::Array(
            raw.split(',')
                .map(|item| Value::String(item.trim().to_string()))
                .collect(),
        )
    } else {
        Value::String(raw)
    }
}

/// The template's `Parameters` as declared.
pub(crate) fn declared(template: &Map<String, Value>) -> Result<Vec<ParameterInfo>, TemplateError> {
    let Some(Value::Object(parameters)) = template.get("Parameters") else {
        return Ok(Vec::new());
    };
    let mut declared = Vec::new();
    for (name, definition) in parameters {
        let invalid = |message: &str| TemplateError::Parameter {
            name: name.clone(),
            message: message.to_string(),
            help: "see the Parameters section of the CloudFormation template reference".into(),
        };
        let Value::Object(definition) = definition else {
            return Err(invalid("a parameter must be a mapping with a Type"));
        };
        let parameter_type = match definition.get("Type") {
            Some(Value::String(t)) => t.clone(),
            None => "String".to_string(),
            Some(_) => return Err(invalid("Type must be a string")),
        };
        let default = match definition.get("Default") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(scalar_text)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| invalid("a list Default must hold plain values"))?
                    .join(","),
            ),
            Some(value) => {
                Some(scalar_text(value).ok_or_else(|| invalid("Default must be a plain value"))?)
            }
        };
        let allowed_values = match definition.get("AllowedValues") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(scalar_text)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("AllowedValues must hold plain values"))?,
            Some(_) => return Err(invalid("AllowedValues must be a list")),
        };
        let description = definition
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_string);
        declared.push(ParameterInfo {
            name: name.clone(),
            parameter_type,
            default,
            allowed_values,
            description,
        });
    }
    Ok(declared)
}

/// The text of a scalar as CloudFormation sees it (`true`, `3`, `x`); `None` for others.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `AWS::*` pseudo parameters; `None` for `AWS::NoValue` handling by the caller and for
/// names that are not pseudo parameters.
pub(crate) fn pseudo(name: &str, options: &LoadOptions) -> Option<Value> {
    let region = options.region.as_str();
    let value = match name {
        "AWS::Region" => Value::String(region.to_string()),
        "AWS::AccountId" => Value::String(options.account_id.clone()),
        "AWS::StackName" => Value::String(options.stack_name.clone()),
        "AWS::StackId" => Value::String(format!(
            "arn:{}:cloudformation:{region}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
            partition(region),
            options.account_id,
            options.stack_name
        )),
        "AWS::Partition" => Value::String(partition(region).to_string()),
        "AWS::URLSuffix" => Value::String(url_suffix(region).to_string()),
        "AWS::NotificationARNs" => Value::Array(Vec::new()),
        _ => return None,
    };
    Some(value)
}

pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn url_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}
