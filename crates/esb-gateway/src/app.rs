//! One request through the gateway: ids and trace header, `/health`, the Lambda Invoke API,
//! or an API Gateway route → proxy event → function → proxy response, with API Gateway's error
//! responses, and an access-log record for each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use esb_agent::{InvokeError, InvokeInput, Invoker};
use esb_model::RouteKind;
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::lambda_api::{LambdaApi, invocation_path};
use crate::{
    EventContext, Matched, RouteMatch, Router, http_api_event, http_api_response, rest_event,
    rest_response,
};

/// Receives one structured record per request.
pub trait AccessLog: Send + Sync + 'static {
    fn record(&self, record: serde_json::Value);
}

/// Everything a request may need.
pub struct App {
    pub router: Router,
    pub invoker: Arc<Invoker>,
    pub lambda: LambdaApi,
    pub access_log: Arc<dyn AccessLog>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("router", &self.router).finish()
    }
}

impl App {
    pub async fn handle(&self, request: Request<Bytes>, peer: SocketAddr) -> Response<Bytes> {
        let started = Instant::now();
        let request_id = esb_model::ids::request_id();
        let trace_id = request
            .headers()
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.contains("Root=1-"))
            .map_or_else(esb_model::ids::trace_id, str::to_string);
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let mut function = None;
        let mut response = if method == Method::GET && path == "/health" {
            json(StatusCode::OK, r#"{"status":"healthy"}"#)
        } else if method == Method::GET && path == "/_esb/status" {
            self.status()
        } else if let Some(name) = invocation_path(&path).filter(|_| method == Method::POST) {
            function = Some(name.to_string());
            let query = request.uri().query().map(str::to_string);
            let (parts, body) = request.into_parts();
            self.lambda
                .invoke(
                    name,
                    query.as_deref(),
                    &parts.headers,
                    body,
                    &request_id,
                    &trace_id,
                )
                .await
        } else {
            self.route(request, peer, &request_id, &trace_id, &mut function)
                .await
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", value);
        }
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            headers.insert("x-amzn-trace-id", value);
        }
        self.access_log.record(serde_json::json!({
            "time_ms": epoch_ms(),
            "method": method.as_str(),
            "path": path,
            "status": response.status().as_u16(),
            "latency_us": started.elapsed().as_micros() as u64,
            "request_id": request_id,
            "trace_id": trace_id,
            "function": function,
            "source_ip": peer.ip().to_string(),
        }));
        response
    }

    /// Every function's pool, for `esb status`.
    fn status(&self) -> Response<Bytes> {
        let functions: Vec<serde_json::Value> = self
            .invoker
            .stats()
            .into_iter()
            .map(|(name, stats)| {
                serde_json::json!({
                    "name": name, "idle": stats.idle, "busy": stats.busy,
                    "starting": stats.starting, "waiting": stats.waiting,
                    "started": stats.started, "startFailures": stats.start_failures,
                })
            })
            .collect();
        let body = serde_json::json!({ "functions": functions }).to_string();
        let mut response = Response::new(Bytes::from(body));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        response
    }

    /// 413, before the body is read past API Gateway's limit.
    pub fn too_large(&self, _parts: &http::request::Parts) -> Response<Bytes> {
        json(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"message":"Request Entity Too Large"}"#,
        )
    }

    async fn route(
        &self,
        request: Request<Bytes>,
        peer: SocketAddr,
        request_id: &str,
        trace_id: &str,
        function: &mut Option<String>,
    ) -> Response<Bytes> {
        let matched = match self.router.route(request.method(), request.uri().path()) {
            RouteMatch::NotFound => {
                return json(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
            }
            RouteMatch::MethodNotAllowed { allow } => {
                let mut response = json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    r#"{"message":"Method Not Allowed"}"#,
                );
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.headers_mut().insert("allow", value);
                }
                return response;
            }
            RouteMatch::Matched(matched) => matched,
        };
        *function = Some(matched.route.function.clone());
        let context = EventContext {
            request_id: request_id.to_string(),
            source_ip: peer.ip().to_string(),
            stage: matched.api.stage_name.clone(),
            api_id: matched.api.logical_id.clone(),
            domain_name: request
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
                .to_string(),
            request_time_epoch_ms: epoch_ms(),
            authorizer: None,
        };
        let kind = matched.route.kind;
        let Some(payload) = event_payload(&request, &matched, &context) else {
            return internal_error();
        };
        let input = InvokeInput {
            request_id: request_id.to_string(),
            payload,
            trace_id: Some(trace_id.to_string()),
            client_context: None,
            cognito_identity: None,
        };
        match self.invoker.invoke(&matched.route.function, input).await {
            Ok(result) if result.function_error.is_some() => {
                tracing::warn!(function = %matched.route.function, request_id, error = %String::from_utf8_lossy(&result.payload), "function error");
                internal_error()
            }
            Ok(result) => {
                let mapped = match kind {
                    RouteKind::Rest => rest_response(&result.payload),
                    _ => http_api_response(&result.payload),
                };
                mapped.unwrap_or_else(|error| {
                    tracing::warn!(function = %matched.route.function, request_id, %error, "malformed Lambda proxy response");
                    internal_error()
                })
            }
            Err(InvokeError::Throttled { .. }) => json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message":"Too Many Requests"}"#,
            ),
            Err(InvokeError::AcquireTimeout { .. }) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"message":"Service Unavailable"}"#,
            ),
            Err(error) => {
                tracing::warn!(function = %matched.route.function, request_id, %error, "invocation failed");
                internal_error()
            }
        }
    }
}

fn event_payload(
    request: &Request<Bytes>,
    matched: &Matched,
    context: &EventContext,
) -> Option<Bytes> {
    let json = match matched.route.kind {
        RouteKind::Rest => serde_json::to_vec(&rest_event(request, matched, context)),
        _ => serde_json::to_vec(&http_api_event(request, matched, context)),
    };
    json.ok().map(Bytes::from)
}

fn internal_error() -> Response<Bytes> {
    json(
        StatusCode::BAD_GATEWAY,
        r#"{"message":"Internal server error"}"#,
    )
}

fn json(status: StatusCode, body: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(body.as_bytes()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
