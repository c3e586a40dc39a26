//! The HTTP API event, Lambda proxy integration payload format 2.0.

use bytes::Bytes;
use http::Request;
use indexmap::IndexMap;
use serde::Serialize;

use super::{
    ACCOUNT_ID, EventContext, domain_prefix, header_str, header_values, protocol, query_values,
};
use crate::binary::{event_body, is_textual_media_type};
use crate::router::{Matched, UrlForm};
use crate::time::format_request_time;

/// A payload format 2.0 event. Absent values are left out, as API Gateway does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    pub version: String,
    pub route_key: String,
    pub raw_path: String,
    pub raw_query_string: String,
    /// Every cookie of every `Cookie` header, which is then left out of `headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    /// Lower-cased names; repeated headers joined with commas.
    pub headers: IndexMap<String, String>,
    /// Repeated parameters joined with commas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<IndexMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_parameters: Option<IndexMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_variables: Option<IndexMap<String, String>>,
    pub request_context: HttpApiRequestContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiRequestContext {
    pub account_id: String,
    pub api_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<serde_json::Value>,
    pub domain_name: String,
    pub domain_prefix: String,
    pub http: HttpApiHttpContext,
    pub request_id: String,
    pub route_key: String,
    pub stage: String,
    pub time: String,
    pub time_epoch: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiHttpContext {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub source_ip: String,
    pub user_agent: String,
}

/// Builds the event an HTTP API sends a function for `request` on the `matched` route.
///
/// The body is sent as text when the request's `Content-Type` is textual (see
/// [`is_textual_media_type`](crate::is_textual_media_type)) and valid UTF-8, else base64.
pub fn http_api_event(
    request: &Request<Bytes>,
    matched: &Matched<'_>,
    ctx: &EventContext,
) -> HttpApiEvent {
    let headers = request.headers();
    let mut values = header_values(headers);
    let cookies: Vec<String> = values
        .shift_remove("cookie")
        .unwrap_or_default()
        .iter()
        .flat_map(|header| header.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    let joined: IndexMap<String, String> = values
        .into_iter()
        .map(|(name, values)| (name, values.join(",")))
        .collect();

    let query = query_values(request.uri().query());
    let query_string_parameters = (!query.is_empty()).then(|| {
        query
            .into_iter()
            .map(|(name, values)| (name, values.join(",")))
            .collect()
    });

    let path_parameters =
        (!matched.path_parameters.is_empty()).then(|| matched.path_parameters.clone());

    let content_type = header_str(headers, "content-type");
    let binary = !is_textual_media_type(content_type.as_deref());
    let (body, is_base64_encoded) = event_body(request.body(), binary);

    let route_key = matched.route_key();
    let raw_path = raw_path(request, matched);

    HttpApiEvent {
        version: "2.0".to_owned(),
        route_key: route_key.clone(),
        raw_path: raw_path.clone(),
        raw_query_string: request.uri().query().unwrap_or_default().to_owned(),
        cookies: (!cookies.is_empty()).then_some(cookies),
        headers: joined,
        query_string_parameters,
        path_parameters,
        stage_variables: None,
        request_context: HttpApiRequestContext {
            account_id: ACCOUNT_ID.to_owned(),
            api_id: ctx.api_id.clone(),
            authorizer: ctx.authorizer.clone(),
            domain_name: ctx.domain_name.clone(),
            domain_prefix: domain_prefix(&ctx.domain_name),
            http: HttpApiHttpContext {
                method: request.method().as_str().to_owned(),
                path: raw_path,
                protocol: protocol(request.version()).to_owned(),
                source_ip: ctx.source_ip.clone(),
                user_agent: header_str(headers, "user-agent").unwrap_or_default(),
            },
            request_id: ctx.request_id.clone(),
            route_key,
            stage: ctx.stage.clone(),
            time: format_request_time(ctx.request_time_epoch_ms),
            time_epoch: ctx.request_time_epoch_ms,
        },
        body,
        is_base64_encoded,
    }
}

/// `rawPath` (and `requestContext.http.path`): the path as received, a named stage's segment
/// included (`/dev/items/1`), as API Gateway sends it. Through a custom domain's base path,
/// the path without it: "rawPath won't provide the API mapping value" (AWS, payload format
/// differences in "Create AWS Lambda proxy integrations for HTTP APIs").
fn raw_path(request: &Request<Bytes>, matched: &Matched<'_>) -> String {
    match matched.form {
        UrlForm::BasePath => matched.path.clone(),
        UrlForm::Root | UrlForm::Stage => request.uri().path().to_owned(),
    }
}
