//! Request validation a REST API event declares: `RequestModel` (a model of the API, and
//! whether a validator checks the body and the parameters) and `RequestParameters` (which are
//! required). As SAM deploys them, a method has a validator only when `RequestModel` sets
//! `ValidateBody` or `ValidateParameters`; without one API Gateway checks nothing, `Required`
//! included.

use esb_model::{Api, RequestParameter, RequestValidation};
use serde_json::Value;

/// The validator of one `Api` event, or `None` when SAM attaches none. `warn` receives what is
/// declared but cannot be checked.
pub(crate) fn event_validation(
    event: &Value,
    api: &Api,
    mut warn: impl FnMut(String),
) -> Option<RequestValidation> {
    let model = event.get("RequestModel")?;
    let flags = ["ValidateBody", "ValidateParameters"].map(|key| model.get(key));
    if flags.iter().flatten().any(|flag| !flag.is_boolean()) {
        warn(
            "RequestModel.ValidateBody and ValidateParameters must be true or false (SAM refuses \
             strings and intrinsics); no request validator is attached"
                .to_string(),
        );
        return None;
    }
    let [validate_body, validate_parameters] = match flags {
        [None, None] => return None,
        flags => flags.map(|flag| flag.is_some_and(truthy)),
    };
    let name = model.get("Model").and_then(Value::as_str);
    let model = match name {
        Some(name) if api.models.contains_key(name) => Some(name.to_string()),
        Some(name) => {
            if validate_body {
                warn(format!(
                    "RequestModel.Model {name} is not one of the Models of {}; request bodies \
                     are not validated",
                    api.logical_id
                ));
            }
            None
        }
        None => None,
    };
    Some(RequestValidation {
        validate_body,
        validate_parameters,
        model,
        required_parameters: required_parameters(event.get("RequestParameters"), &mut warn),
    })
}

/// `RequestParameters`: names alone (optional) or `{name: {Required, Caching}}`.
fn required_parameters(
    declared: Option<&Value>,
    warn: &mut impl FnMut(String),
) -> Vec<RequestParameter> {
    let Some(Value::Array(items)) = declared else {
        return Vec::new();
    };
    let mut required = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            continue;
        };
        for (name, settings) in map {
            if !settings.get("Required").is_some_and(truthy) {
                continue;
            }
            match RequestParameter::parse(name) {
                Some(parameter) => required.push(parameter),
                None => warn(format!(
                    "RequestParameters {name} is not method.request.{{header|querystring|path}}\
                     .<name>; it is not checked"
                )),
            }
        }
    }
    required
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The validator of one `DefinitionBody` operation: `x-amazon-apigateway-request-validator` on
/// the operation, else the definition's default, naming one of its
/// `x-amazon-apigateway-request-validators`. A body schema becomes a model named after the
/// operation, carrying the definition's `definitions` (Swagger 2) or `components` (OpenAPI 3)
/// so its `$ref`s resolve inside it.
pub(crate) fn definition_validation(
    definition: &Value,
    operation: &Value,
    model_name: &str,
    mut warn: impl FnMut(String),
) -> Option<(RequestValidation, Option<Value>)> {
    let name = operation
        .get("x-amazon-apigateway-request-validator")
        .or_else(|| definition.get("x-amazon-apigateway-request-validator"))?
        .as_str()?;
    let Some(validator) = definition
        .get("x-amazon-apigateway-request-validators")
        .and_then(|validators| validators.get(name))
    else {
        warn(format!(
            "request validator {name} is not among x-amazon-apigateway-request-validators; \
             nothing is validated"
        ));
        return None;
    };
    let flag = |key: &str| validator.get(key).is_some_and(truthy);
    let (validate_body, validate_parameters) = (
        flag("validateRequestBody"),
        flag("validateRequestParameters"),
    );
    let parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let required_parameters = parameters
        .iter()
        .filter(|p| p.get("required").is_some_and(truthy))
        .filter_map(|p| {
            let location = match p.get("in")?.as_str()? {
                "query" => "querystring",
                "header" => "header",
                "path" => "path",
                _ => return None,
            };
            RequestParameter::parse(&format!(
                "method.request.{location}.{}",
                p.get("name")?.as_str()?
            ))
        })
        .collect();
    let schema = parameters
        .iter()
        .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))
        .and_then(|p| p.get("schema"))
        .or_else(|| operation.pointer("/requestBody/content/application~1json/schema"));
    let model = schema.map(|schema| {
        let mut document = schema.clone();
        if let Value::Object(map) = &mut document {
            for shared in ["definitions", "components"] {
                if let Some(value) = definition.get(shared) {
                    map.entry(shared).or_insert_with(|| value.clone());
                }
            }
        }
        document
    });
    let validation = RequestValidation {
        validate_body,
        validate_parameters,
        model: model.as_ref().map(|_| model_name.to_string()),
        required_parameters,
    };
    Some((validation, model))
}
