//! APIs and routes: explicit `AWS::Serverless::Api`/`HttpApi` resources, the implicit
//! `ServerlessRestApi`/`ServerlessHttpApi` SAM creates for events without an API id,
//! `DefinitionBody` paths that integrate with a function, and function URLs.

use esb_model::{Api, ApiAuth, ApiKind, Authorizer, Cors, Function, Route, RouteAuth, RouteKind};
use indexmap::IndexMap;
use serde_json::Value;

use super::function::url_cors;
use super::properties::{Props, as_bool, as_string, as_u32};
use super::throttling::stage_throttling;
use super::validation::{definition_validation, event_validation};
use crate::intrinsics::scalar_text;
use crate::{TemplateError, Warning};

pub(crate) const IMPLICIT_REST_API: &str = "ServerlessRestApi";
pub(crate) const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// An explicit or implicit API, with its raw definition body kept for path discovery.
pub(crate) struct ApiDefinition {
    pub api: Api,
    pub definition_body: Option<Value>,
}

pub(crate) fn api(
    props: &Props,
    kind: ApiKind,
    implicit: bool,
) -> Result<ApiDefinition, TemplateError> {
    let stage_name = match (props.string("StageName")?, kind) {
        (Some(stage), _) => stage,
        (None, ApiKind::Rest) => "Prod".to_string(),
        (None, ApiKind::Http) => "$default".to_string(),
    };
    let cors = match kind {
        ApiKind::Rest => props
            .value("Cors")?
            .map(|v| rest_cors(props, &v))
            .transpose()?,
        ApiKind::Http => match props.value("CorsConfiguration")? {
            None => None,
            Some(Value::Bool(false)) => None,
            Some(Value::String(s)) if s == "false" => None,
            Some(Value::Bool(true)) => Some(all_origins()),
            Some(Value::String(s)) if s == "true" => Some(all_origins()),
            Some(config) => Some(url_cors(props, &config)?),
        },
    };
    let definition_body = props.raw.get("DefinitionBody").cloned();
    if props.string("ApiKeySourceType")?.as_deref() == Some("AUTHORIZER") {
        props.resolver.warn(
            props.logical_id,
            "ApiKeySourceType AUTHORIZER is not served: API keys are read from x-api-key only"
                .to_string(),
        );
    }
    Ok(ApiDefinition {
        api: Api {
            logical_id: props.logical_id.to_string(),
            kind,
            implicit,
            stage_name,
            cors,
            auth: auth(props, kind)?,
            binary_media_types: props.strings("BinaryMediaTypes")?,
            base_paths: base_paths(props, kind),
            models: models(props, kind)?,
            throttling: stage_throttling(props, kind)?,
        },
        definition_body,
    })
}

/// A REST API's `Models`: JSON Schema documents by name.
fn models(props: &Props, kind: ApiKind) -> Result<IndexMap<String, Value>, TemplateError> {
    let Some(declared) = props.object("Models")? else {
        return Ok(IndexMap::new());
    };
    if kind == ApiKind::Http {
        props.resolver.warn(
            props.logical_id,
            "Models are not served on an HTTP API (API Gateway validates REST APIs only)"
                .to_string(),
        );
        return Ok(IndexMap::new());
    }
    declared
        .into_iter()
        .map(|(name, schema)| match schema {
            Value::Object(_) => Ok((name, schema)),
            other => Err(props.error(
                &format!("Models.{name}"),
                format!("must be a JSON Schema mapping, got {other}"),
            )),
        })
        .collect()
}

/// The base paths `Domain.BasePath` maps to the API, in the form SAM deploys them. A custom
/// domain is not served here, but its base paths are: requests under `/v1/...` reach the API
/// as they would through `https://{DomainName}/v1/...`. Only `BasePath` and
/// `NormalizeBasePath` are read, so an unresolvable certificate or hosted zone elsewhere in
/// `Domain` does not matter; an unreadable `BasePath` is a warning, not a failed build.
fn base_paths(props: &Props, kind: ApiKind) -> Vec<String> {
    match declared_base_paths(props, kind) {
        Ok(paths) => paths,
        Err(message) => {
            props.resolver.warn(
                props.logical_id,
                format!("Domain.BasePath is not served: {message}"),
            );
            Vec::new()
        }
    }
}

fn declared_base_paths(props: &Props, kind: ApiKind) -> Result<Vec<String>, String> {
    let declared = match domain_field(props, "BasePath")? {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(one) => vec![one],
    };
    let declared = declared
        .iter()
        .map(|item| scalar_text(item).ok_or_else(|| format!("must be a string, got {item}")))
        .collect::<Result<Vec<_>, _>>()?;
    // SAM keeps only the letters and digits of a REST API's base path unless
    // `NormalizeBasePath: false` (`/foo-too` is deployed as `footoo`); an HTTP API's keeps
    // everything but the outer slashes.
    let normalize = kind == ApiKind::Rest
        && match domain_field(props, "NormalizeBasePath")? {
            Some(value) => {
                as_bool(props, "Domain.NormalizeBasePath", &value).map_err(|e| e.to_string())?
            }
            None => true,
        };
    Ok(declared
        .iter()
        .filter_map(|path| deployed_base_path(path, normalize))
        .collect())
}

/// One resolved property of `Domain`. A `Domain` written as a mapping has only that property
/// resolved; one written as an intrinsic (`!If [..., {...}, !Ref AWS::NoValue]`) is resolved
/// whole first.
fn domain_field(props: &Props, field: &str) -> Result<Option<Value>, String> {
    let Some(Value::Object(domain)) = props.raw.get("Domain") else {
        return Ok(None);
    };
    let written_as_intrinsic = domain.len() == 1
        && domain
            .keys()
            .all(|key| key == "Ref" || key.starts_with("Fn::"));
    if written_as_intrinsic {
        let resolved = props.resolver.resolve(&Value::Object(domain.clone()))?;
        return Ok(resolved.and_then(|d| d.get(field).cloned()));
    }
    match domain.get(field) {
        Some(raw) => props.resolver.resolve(raw),
        None => Ok(None),
    }
}

/// `/v1` for a declared base path, or `None` for the domain's root (`/`, empty, `(none)`).
fn deployed_base_path(declared: &str, normalize: bool) -> Option<String> {
    if declared.trim() == "(none)" {
        return None;
    }
    let path: String = if normalize {
        declared.chars().filter(|c| c.is_alphanumeric()).collect()
    } else {
        declared.trim().trim_matches('/').to_string()
    };
    (!path.is_empty()).then(|| format!("/{path}"))
}

/// `CorsConfiguration: true`: any origin, method and header.
fn all_origins() -> Cors {
    Cors {
        allow_origins: vec!["*".into()],
        allow_methods: vec!["*".into()],
        allow_headers: vec!["*".into()],
        ..Cors::default()
    }
}

/// REST API CORS: a quoted origin string (`"'*'"`) or a map of quoted, comma-separated lists.
fn rest_cors(props: &Props, value: &Value) -> Result<Cors, TemplateError> {
    let unquote = |s: &str| -> Vec<String> {
        s.trim()
            .trim_matches('\'')
            .split(',')
            .map(|part| part.trim().to_string())
            .filter(|part| !part.is_empty())
            .collect()
    };
    match value {
        Value::String(origin) => Ok(Cors {
            allow_origins: unquote(origin),
            ..Cors::default()
        }),
        Value::Object(map) => {
            let list = |key: &str| {
                map.get(key)
                    .map(|v| as_string(props, &format!("Cors.{key}"), v).map(|s| unquote(&s)))
                    .transpose()
                    .map(Option::unwrap_or_default)
            };
            let max_age = list("MaxAge")?
                .first()
                .map(|age| as_u32(props, "Cors.MaxAge", &Value::String(age.clone())))
                .transpose()?;
            Ok(Cors {
                allow_origins: list("AllowOrigin")?,
                allow_methods: list("AllowMethods")?,
                allow_headers: list("AllowHeaders")?,
                expose_headers: Vec::new(),
                allow_credentials: map
                    .get("AllowCredentials")
                    .map(|v| as_bool(props, "Cors.AllowCredentials", v))
                    .transpose()?
                    .unwrap_or(false),
                max_age,
            })
        }
        other => Err(props.error(
            "Cors",
            format!("must be an origin string or a mapping, got {other}"),
        )),
    }
}

fn auth(props: &Props, kind: ApiKind) -> Result<ApiAuth, TemplateError> {
    let Some(auth) = props.object("Auth")? else {
        return Ok(ApiAuth::default());
    };
    let default_authorizer = auth
        .get("DefaultAuthorizer")
        .map(|v| as_string(props, "Auth.DefaultAuthorizer", v))
        .transpose()?;
    let api_key_required = auth
        .get("ApiKeyRequired")
        .map(|v| as_bool(props, "Auth.ApiKeyRequired", v))
        .transpose()?
        .unwrap_or(false);
    let mut authorizers = Vec::new();
    if let Some(declared) = auth.get("Authorizers") {
        let Value::Object(declared) = declared else {
            return Err(props.error("Auth.Authorizers", "must be a mapping of authorizer names"));
        };
        for (name, definition) in declared {
            authorizers.push(Authorizer {
                name: name.clone(),
                kind: authorizer_kind(kind, definition).to_string(),
                properties: definition.clone(),
            });
        }
    }
    Ok(ApiAuth {
        default_authorizer,
        api_key_required,
        authorizers,
    })
}

fn authorizer_kind(kind: ApiKind, definition: &Value) -> &'static str {
    let has = |key: &str| definition.get(key).is_some();
    if has("JwtConfiguration") {
        "jwt"
    } else if has("UserPoolArn") {
        "cognito"
    } else if has("FunctionArn") {
        let payload = definition
            .get("FunctionPayloadType")
            .and_then(Value::as_str)
            .unwrap_or(if kind == ApiKind::Http {
                "REQUEST"
            } else {
                "TOKEN"
            });
        if payload == "REQUEST" {
            "lambda-request"
        } else {
            "lambda-token"
        }
    } else {
        "iam"
    }
}

/// Routes from every function's `Api`/`HttpApi` events and function URL.
pub(crate) fn event_routes(
    functions: &[Function],
    apis: &[ApiDefinition],
    skipped: &mut Vec<Warning>,
) -> Vec<Route> {
    let mut routes = Vec::new();
    for function in functions {
        for event in function.events.iter().filter(|e| e.is_served()) {
            let (kind, id_key, implicit) = match event.event_type.as_str() {
                "Api" => (RouteKind::Rest, "RestApiId", IMPLICIT_REST_API),
                _ => (RouteKind::Http, "ApiId", IMPLICIT_HTTP_API),
            };
            let api_id = event
                .properties
                .get(id_key)
                .and_then(Value::as_str)
                .unwrap_or(implicit);
            let Some(api) = apis.iter().find(|a| a.api.logical_id == api_id) else {
                skipped.push(Warning {
                    logical_id: Some(function.logical_id.clone()),
                    message: format!(
                        "event {} uses API {api_id}, which is not an AWS::Serverless::Api or \
                         HttpApi of this template; its route is not served",
                        event.logical_id
                    ),
                    location: None,
                });
                continue;
            };
            let event_auth = event.properties.get("Auth");
            let mut warn = |message: String| {
                skipped.push(Warning {
                    logical_id: Some(function.logical_id.clone()),
                    message: format!("event {}: {message}", event.logical_id),
                    location: None,
                })
            };
            let validation = match kind {
                RouteKind::Rest => event_validation(&event.properties, &api.api, &mut warn),
                _ => {
                    if event.properties.get("RequestModel").is_some() {
                        warn(
                            "RequestModel is not served on an HTTP API (API Gateway validates \
                             REST APIs only)"
                                .to_string(),
                        );
                    }
                    None
                }
            };
            routes.push(Route {
                api: api_id.to_string(),
                kind,
                method: event.method.clone().unwrap_or_else(|| "ANY".into()),
                path: event.path.clone().unwrap_or_else(|| "$default".into()),
                function: function.name.clone(),
                event: event.logical_id.clone(),
                auth: route_auth(&api.api.auth, event_auth),
                validation,
            });
        }
        if let Some(url) = &function.function_url {
            routes.push(Route {
                api: function.logical_id.clone(),
                kind: RouteKind::Url,
                method: "ANY".to_string(),
                path: "$default".to_string(),
                function: function.name.clone(),
                event: function.logical_id.clone(),
                auth: RouteAuth {
                    authorizer: (url.auth_type == "AWS_IAM").then(|| "AWS_IAM".to_string()),
                    ..RouteAuth::default()
                },
                validation: None,
            });
        }
    }
    routes
}

/// The event's own `Auth` over the API's defaults; `NONE` opens the route.
fn route_auth(api: &ApiAuth, event: Option<&Value>) -> RouteAuth {
    let authorizer = event
        .and_then(|a| a.get("Authorizer"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| api.default_authorizer.clone())
        .filter(|name| name != "NONE");
    let api_key_required = event
        .and_then(|a| a.get("ApiKeyRequired"))
        .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s == "true")))
        .unwrap_or(api.api_key_required);
    let authorization_scopes = event
        .and_then(|a| a.get("AuthorizationScopes"))
        .and_then(Value::as_array)
        .map(|scopes| {
            scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    RouteAuth {
        authorizer,
        api_key_required,
        authorization_scopes,
    }
}

/// Routes declared in an API's `DefinitionBody` whose integration URI names one of the
/// template's functions, each with the model its request validator checks bodies against.
pub(crate) fn definition_routes(
    props: &Props,
    api: &Api,
    functions: &[(String, Function)],
    body: &Value,
) -> Vec<(Route, Option<Value>)> {
    let Some(Value::Object(paths)) = body.get("paths") else {
        return Vec::new();
    };
    let mut routes = Vec::new();
    for (path, operations) in paths {
        let Value::Object(operations) = operations else {
            continue;
        };
        for (method, operation) in operations {
            let method = match method.as_str() {
                "x-amazon-apigateway-any-method" => "ANY".to_string(),
                m if matches!(
                    m,
                    "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                ) =>
                {
                    m.to_ascii_uppercase()
                }
                _ => continue,
            };
            let Some(uri) = operation
                .get("x-amazon-apigateway-integration")
                .and_then(|i| i.get("uri"))
            else {
                continue;
            };
            let resolved = match props.resolver.resolve(uri) {
                Ok(resolved) => resolved,
                Err(message) => {
                    props.resolver.warn(
                        props.logical_id,
                        format!("DefinitionBody path {method} {path} is not served: {message}"),
                    );
                    continue;
                }
            };
            let Some(uri) = resolved.as_ref().and_then(Value::as_str) else {
                continue;
            };
            if let Some(function) = functions
                .iter()
                .find(|(arn, _)| integrates(uri, arn))
                .map(|(_, f)| f)
            {
                let model_name = format!("{method} {path}");
                let warn = |message: String| {
                    props.resolver.warn(
                        props.logical_id,
                        format!("DefinitionBody {model_name}: {message}"),
                    )
                };
                let (validation, model) = match api.kind {
                    ApiKind::Rest => definition_validation(body, operation, &model_name, warn)
                        .map_or((None, None), |(v, m)| (Some(v), m)),
                    ApiKind::Http => (None, None),
                };
                let route = Route {
                    api: api.logical_id.clone(),
                    kind: if api.kind == ApiKind::Rest {
                        RouteKind::Rest
                    } else {
                        RouteKind::Http
                    },
                    method,
                    path: path.clone(),
                    function: function.name.clone(),
                    event: format!("DefinitionBody {path}"),
                    auth: route_auth(&api.auth, None),
                    validation,
                };
                routes.push((route, model));
            }
        }
    }
    routes
}

/// Whether an integration URI invokes the function with this ARN (followed by `/`, `:` or
/// the end, so `fn` does not match `fn2`).
fn integrates(uri: &str, arn: &str) -> bool {
    uri.match_indices(arn).any(|(at, _)| {
        matches!(
            uri[at + arn.len()..].chars().next(),
            None | Some('/') | Some(':')
        )
    })
}

#[cfg(test)]
mod tests {
    use super::integrates;

    #[test]
    fn integration_uri_matches_whole_function_arns() {
        let arn = "arn:aws:lambda:us-east-1:1:function:fn";
        let uri = format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
        );
        assert!(integrates(&uri, arn));
        assert!(!integrates(&uri.replace(":fn/", ":fn2/"), arn));
    }
}
