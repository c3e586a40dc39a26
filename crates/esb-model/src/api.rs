//! APIs (REST `AWS::Serverless::Api`, `AWS::Serverless::HttpApi`, the implicit APIs SAM
//! creates, and function URLs) and the routes that lead to functions.

use serde::{Deserialize, Serialize};

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
