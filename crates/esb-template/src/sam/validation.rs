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
