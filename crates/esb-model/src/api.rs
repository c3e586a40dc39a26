//! APIs (REST `AWS::Serverless::Api`, `AWS::Serverless::HttpApi`, the implicit APIs SAM
//! creates, and function URLs) and the routes that lead to functions.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// API Gateway REST API, payload format 1.0.
    Rest,
    /// API Gateway HTTP API, payload format 2.0 by default.
    Http,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// Logical id; `ServerlessRestApi` / `ServerlessHttpApi` for the implicit APIs.
    pub logical_id: String,
    pub kind: ApiKind,
    /// True when SAM would create this API from events alone.
    pub implicit: bool,
    /// `Prod` for implicit REST APIs, `$default` for HTTP APIs without a StageName.
    pub stage_name: String,
    pub cors: Option<Cors>,
    pub auth: ApiAuth,
    pub binary_media_types: Vec<String>,
    /// Paths a custom domain maps to this API (`Domain.BasePath`), as deployed: `/v1`,
    /// `/orders/v2`. Empty when the API has no custom domain or is mapped at its root.
    /// Left out of `routing.yml` when empty, so files written before it still parse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_paths: Vec<String>,
    /// `Models` (REST APIs): JSON Schema draft 4 documents by name, that request validation
    /// checks bodies against.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub models: IndexMap<String, Value>,
    /// The stage's throttling: `MethodSettings` (REST) or `DefaultRouteSettings` and
    /// `RouteSettings` (HTTP), most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttling: Vec<MethodThrottling>,
}

/// Throttling for the methods one `MethodSettings` entry (or HTTP API route setting) covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodThrottling {
    /// `/*` for every resource, else a route path as written (`/items/{id}`).
    pub path: String,
    /// `*` for every method, else an upper-case method.
    pub method: String,
    pub limits: Throttle,
}

impl MethodThrottling {
    /// Whether this setting covers a route's method and path.
    pub fn covers(&self, method: &str, path: &str) -> bool {
        (self.path == "/*" || self.path == path)
            && (self.method == "*" || self.method.eq_ignore_ascii_case(method))
    }
}

/// A token bucket: `rate_limit` requests a second on average, `burst_limit` at once. An unset
/// limit is the account's default (10,000 a second, bursts of 5,000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_limit: Option<u32>,
}

impl Throttle {
    /// API Gateway's account-level default rate, requests a second.
    pub const ACCOUNT_RATE: f64 = 10_000.0;
    /// API Gateway's account-level default burst.
    pub const ACCOUNT_BURST: u32 = 5_000;

    pub fn rate(&self) -> f64 {
        self.rate_limit.unwrap_or(Self::ACCOUNT_RATE)
    }

    pub fn burst(&self) -> u32 {
        self.burst_limit.unwrap_or(Self::ACCOUNT_BURST)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAuth {
    pub default_authorizer: Option<String>,
    pub api_key_required: bool,
    pub authorizers: Vec<Authorizer>,
}

/// An authorizer declared on an API: its name and its resolved definition as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub name: String,
    /// `jwt`, `lambda-token`, `lambda-request`, `cognito` or `iam`.
    pub kind: String,
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Rest,
    Http,
    Url,
}

/// One route: a method and path on an API that leads to a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Logical id of the API (the function's logical id for function URLs).
    pub api: String,
    pub kind: RouteKind,
    /// Upper-case method or `ANY`.
    pub method: String,
    /// `/items/{id}`, `/{proxy+}`, or `$default`.
    pub path: String,
    /// The function's name.
    pub function: String,
    /// The event's logical id (the function's for function URLs).
    pub event: String,
    pub auth: RouteAuth,
    /// The request validator attached to the method (REST APIs), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<RequestValidation>,
}

/// What API Gateway checks of a request before it reaches the function: a method's request
/// validator with the model and required parameters it applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestValidation {
    /// Check a JSON body against `model` (`validateRequestBody`).
    pub validate_body: bool,
    /// Check that every required parameter is present (`validateRequestParameters`).
    pub validate_parameters: bool,
    /// The API model a JSON body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_parameters: Vec<RequestParameter>,
}

/// A request parameter a method requires, `method.request.header.Authorization` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameter {
    pub location: ParameterLocation,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterLocation {
    Header,
    Querystring,
    Path,
}

impl RequestParameter {
    /// Parses `method.request.{header|querystring|path}.{name}`.
    pub fn parse(written: &str) -> Option<RequestParameter> {
        let rest = written.strip_prefix("method.request.")?;
        let (location, name) = rest.split_once('.')?;
        let location = match location {
            "header" => ParameterLocation::Header,
            "querystring" => ParameterLocation::Querystring,
            "path" => ParameterLocation::Path,
            _ => return None,
        };
        (!name.is_empty()).then(|| RequestParameter {
            location,
            name: name.to_string(),
        })
    }
}

/// Auth that applies to one route after the API default and the event's own `Auth` merge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteAuth {
    /// Authorizer name, or `None` for an open route (`NONE`, `AWS_IAM` kept as written).
    pub authorizer: Option<String>,
    pub api_key_required: bool,
    pub authorization_scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_optional_in_routing_files() {
        let written_before = "logicalId: ServerlessRestApi\nkind: rest\nimplicit: true\n\
             stageName: Prod\ncors: null\nauth: {defaultAuthorizer: null, apiKeyRequired: false, \
             authorizers: []}\nbinaryMediaTypes: []\n";
        let api: Api = serde_yaml::from_str(written_before).expect("parses");
        assert!(api.base_paths.is_empty());
        let written = serde_yaml::to_string(&api).expect("serializes");
        assert!(!written.contains("basePaths"));

        let mapped = Api {
            base_paths: vec!["/v1".into()],
            ..api
        };
        let written = serde_yaml::to_string(&mapped).expect("serializes");
        assert!(written.contains("basePaths:\n- /v1"), "{written}");
        let read: Api = serde_yaml::from_str(&written).expect("parses");
        assert_eq!(read, mapped);
    }
}
