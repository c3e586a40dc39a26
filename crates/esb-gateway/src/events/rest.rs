//! The REST API event, Lambda proxy integration payload format 1.0.

use bytes::Bytes;
use http::Request;
use indexmap::IndexMap;
use serde::Serialize;

use super::{
    ACCOUNT_ID, EventContext, domain_prefix, header_str, header_values, protocol, query_values,
};
use crate::binary::{event_body, matches_media_types};
use crate::router::{Matched, UrlForm};
use crate::time::format_request_time;

/// A payload format 1.0 event. Absent values serialize as `null`, as API Gateway sends them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestEvent {
    pub resource: String,
    pub path: String,
    pub http_method: String,
    /// The last value of each header.
    pub headers: IndexMap<String, String>,
    pub multi_value_headers: IndexMap<String, Vec<String>>,
    /// The last value of each query parameter.
    pub query_string_parameters: Option<IndexMap<String, String>>,
    pub multi_value_query_string_parameters: Option<IndexMap<String, Vec<String>>>,
    pub path_parameters: Option<IndexMap<String, String>>,
    pub stage_variables: Option<IndexMap<String, String>>,
    pub request_context: RestRequestContext,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestRequestContext {
    pub account_id: String,
    pub api_id: String,
    pub domain_name: String,
    pub domain_prefix: String,
    pub extended_request_id: String,
    pub http_method: String,
    pub identity: RestIdentity,
    /// The path the client asked for: with the stage (`/Prod/items/1`), or with the custom
    /// domain's base path (`/v1/items/1`).
    pub path: String,
    pub protocol: String,
    pub request_id: String,
    pub request_time: String,
    pub request_time_epoch: u64,
    pub resource_id: String,
    pub resource_path: String,
    pub stage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<serde_json::Value>,
}

/// The caller's identity; only the source IP and user agent are known locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestIdentity {
    pub access_key: Option<String>,
    pub account_id: Option<String>,
    pub api_key: Option<String>,
    pub api_key_id: Option<String>,
    pub caller: Option<String>,
    pub cognito_authentication_provider: Option<String>,
    pub cognito_authentication_type: Option<String>,
    pub cognito_identity_id: Option<String>,
    pub cognito_identity_pool_id: Option<String>,
    pub principal_org_id: Option<String>,
    pub source_ip: String,
    pub user: Option<String>,
    pub user_agent: Option<String>,
    pub user_arn: Option<String>,
}

/// Builds the event a REST API sends a function for `request` on the `matched` route.
///
/// REST events carry header names as the client sent them. The HTTP server only keeps
/// lower-cased names, so they are given the capitalisation HTTP/1.1 clients send
/// (`X-Custom-Header`, `Content-Type`): handlers reading `event["headers"]["Authorization"]`
/// work as on AWS. A client that sends lower-case names gets capitalised ones here.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The body is base64-encoded when the request's `Content-Type` matches one of the API's
/// `BinaryMediaTypes` (and whenever it is not valid UTF-8, since the field must hold text).
pub fn rest_event(
    request: &Request<Bytes>,
    matched: &Matched<'_>,
    ctx: &EventContext,
) -> RestEvent {
    let headers = request.headers();
    let multi_value_headers: IndexMap<String, Vec<String>> = header_values(headers)
        .into_iter()
        .map(|(name, values)| (title_case(&name), values))
        .collect();
    let last_headers = last_values(&multi_value_headers);

    let query = query_values(request.uri().query());
    let (query_string_parameters, multi_value_query_string_parameters) = if query.is_empty() {
        (None, None)
    } else {
        (Some(last_values(&query)), Some(query))
    };

    let path_parameters =
        (!matched.path_parameters.is_empty()).then(|| matched.path_parameters.clone());

    let content_type = header_str(headers, "content-type");
    let binary = matches_media_types(content_type.as_deref(), &matched.api.binary_media_types);
    let (body, is_base64_encoded) = event_body(request.body(), binary);

    let method = request.method().as_str().to_owned();
    let (path, stage_path) = paths(request, matched, ctx);

    RestEvent {
        resource: matched.resource.clone(),
        path,
        http_method: method.clone(),
        headers: last_headers,
        multi_value_headers,
        query_string_parameters,
        multi_value_query_string_parameters,
        path_parameters,
        stage_variables: None,
        request_context: RestRequestContext {
            account_id: ACCOUNT_ID.to_owned(),
            api_id: ctx.api_id.clone(),
            domain_name: ctx.domain_name.clone(),
            domain_prefix: domain_prefix(&ctx.domain_name),
            extended_request_id: ctx.request_id.clone(),
            http_method: method,
            identity: RestIdentity {
                source_ip: ctx.source_ip.clone(),
                user_agent: header_str(headers, "user-agent"),
                api_key: ctx.api_key.as_ref().map(|k| k.value.clone()),
                api_key_id: ctx.api_key.as_ref().and_then(|k| k.id.clone()),
                ..RestIdentity::default()
            },
            path: stage_path,
            protocol: protocol(request.version()).to_owned(),
            request_id: ctx.request_id.clone(),
            request_time: format_request_time(ctx.request_time_epoch_ms),
            request_time_epoch: ctx.request_time_epoch_ms,
            resource_id: resource_id(&matched.resource),
            resource_path: matched.resource.clone(),
            stage: ctx.stage.clone(),
            authorizer: ctx.authorizer.clone(),
        },
        body,
        is_base64_encoded,
    }
}

/// `path` and `requestContext.path`, as API Gateway fills them: the path without the stage
/// and the path the client asked for (`/items/1`, `/Prod/items/1`). Through a custom domain's
/// base path both are the path as received, base path included (`/v1/items/1`): the base path
/// is not stripped from the event, as handlers behind custom domains find out on AWS. At the
/// root form, which AWS has no equivalent of, the stage is put in front as if the request had
/// come to the stage.
fn paths(request: &Request<Bytes>, matched: &Matched<'_>, ctx: &EventContext) -> (String, String) {
    match matched.form {
        UrlForm::BasePath => {
            let received = request.uri().path().to_owned();
            (received.clone(), received)
        }
        UrlForm::Root | UrlForm::Stage => (
            matched.path.clone(),
            format!("/{}{}", ctx.stage, matched.path),
        ),
    }
}

fn last_values(multi: &IndexMap<String, Vec<String>>) -> IndexMap<String, String> {
    multi
        .iter()
        .filter_map(|(name, values)| Some((name.clone(), values.last()?.clone())))
        .collect()
}

/// A stable six-character id for a resource path, standing in for API Gateway's resource id.
fn resource_id(resource: &str) -> String {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = resource.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|i| {
            let index = usize::try_from((hash >> (i * 8)) % 36).unwrap_or_default();
            char::from(alphabet.get(index).copied().unwrap_or(b'a'))
        })
        .collect()
}
