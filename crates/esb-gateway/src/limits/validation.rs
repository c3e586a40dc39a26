//! Request validation on REST API methods that have a request validator: required headers,
//! query strings and path parameters (`validateRequestParameters`), and a JSON body against
//! the method's model (`validateRequestBody`), answered as API Gateway's `BAD_REQUEST_PARAMETERS`
//! and `BAD_REQUEST_BODY` responses.

use std::collections::HashMap;

use bytes::Bytes;
use esb_model::artifacts::RoutingFile;
use esb_model::{ParameterLocation, RequestValidation, Route};
use http::Request;
use serde_json::Value;

use super::schema::{Schema, SchemaError};
use crate::Matched;

/// Why a model of the template cannot be used: `esb up` fails with it.
#[derive(Debug, thiserror::Error)]
#[error("API {api}: model {model} cannot validate requests: {source}")]
pub struct ModelError {
    pub api: String,
    pub model: String,
    pub source: SchemaError,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Required parameters are missing, in the order the method declares them.
    MissingParameters(Vec<String>),
    /// The body is not JSON or does not match the model; the violations are for the log.
    Body(Vec<String>),
}

impl Invalid {
    /// The `message` of API Gateway's 400 for the refusal.
    pub fn message(&self) -> String {
        match self {
            Invalid::MissingParameters(names) => {
                format!(
                    "Missing required request parameters: [{}]",
                    names.join(", ")
                )
            }
            Invalid::Body(_) => "Invalid request body".to_string(),
        }
    }
}

/// The compiled models of every method with a body validator.
#[derive(Debug, Default)]
pub struct Validators {
    /// By (API logical id, model name).
    schemas: HashMap<(String, String), Schema>,
}

impl Validators {
    pub fn new(routing: &RoutingFile) -> Result<Validators, ModelError> {
        let mut schemas = HashMap::new();
        for route in &routing.routes {
            let Some(model) = route
                .validation
                .as_ref()
                .filter(|v| v.validate_body)
                .and_then(|v| v.model.as_ref())
            else {
                continue;
            };
            let key = (route.api.clone(), model.clone());
            if schemas.contains_key(&key) {
                continue;
            }
            let Some(api) = routing.apis.iter().find(|a| a.logical_id == route.api) else {
                continue;
            };
            let schema = Schema::compile(model, &api.models).map_err(|source| ModelError {
                api: api.logical_id.clone(),
                model: model.clone(),
                source,
            })?;
            schemas.insert(key, schema);
        }
        Ok(Validators { schemas })
    }

    /// Checks a request against its method's validator; parameters first, as API Gateway does.
    pub fn check(&self, request: &Request<Bytes>, matched: &Matched<'_>) -> Result<(), Invalid> {
        let route = matched.route;
        let Some(validation) = &route.validation else {
            return Ok(());
        };
        if validation.validate_parameters {
            let missing = missing_parameters(validation, request, matched);
            if !missing.is_empty() {
                return Err(Invalid::MissingParameters(missing));
            }
        }
        if validation.validate_body {
            self.check_body(route, validation, request)?;
        }
        Ok(())
    }

    fn check_body(
        &self,
        route: &Route,
        validation: &RequestValidation,
        request: &Request<Bytes>,
    ) -> Result<(), Invalid> {
        let Some(model) = &validation.model else {
            return Ok(());
        };
        let Some(schema) = self.schemas.get(&(route.api.clone(), model.clone())) else {
            return Ok(());
        };
        if !is_json(request) {
            return Ok(());
        }
        let body = request.body();
        // An empty body is checked as an empty object, so required properties are still
        // required.
        let document = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| Invalid::Body(vec![format!("the body is not JSON: {e}")]))?
        };
        schema.validate(&document).map_err(Invalid::Body)
    }
}

/// The model SAM declares is for `application/json`; a request with no content type is taken
/// as JSON, as API Gateway takes it.
fn is_json(request: &Request<Bytes>) -> bool {
    match request.headers().get("content-type") {
        None => true,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json")),
    }
}

fn missing_parameters(
    validation: &RequestValidation,
    request: &Request<Bytes>,
    matched: &Matched<'_>,
) -> Vec<String> {
    let query: Vec<String> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            percent_encoding::percent_decode_str(&name.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    validation
        .required_parameters
        .iter()
        .filter(|parameter| {
            let name = parameter.name.as_str();
            match parameter.location {
                ParameterLocation::Header => request.headers().get(name).is_none(),
                ParameterLocation::Querystring => !query.iter().any(|q| q == name),
                ParameterLocation::Path => matched
                    .path_parameters
                    .get(name)
                    .is_none_or(String::is_empty),
            }
        })
        .map(|parameter| parameter.name.clone())
        .collect()
}
