//! One request through the gateway: ids and trace header, `/health`, the Lambda Invoke API,
//! or an API Gateway route → proxy event → function → proxy response, with API Gateway's error
//! responses, and an access-log record for each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use esb_agent::{InvokeError, InvokeInput, Invoker};
use esb_model::{ApiKind, RouteKind};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::auth::{Auth, AuthDecision, AuthorizerInvoker, InvokeFuture};
use crate::body::GatewayBody;
use crate::boot::FunctionReadiness;
use crate::breaker::CircuitBreakers;
use crate::builtin::Builtin;
use crate::cors;
use crate::function_url::{FunctionUrls, UrlMatch};
use crate::lambda_api::{self, ApiRequest, LambdaApi, LambdaApiError, MAX_SYNC_PAYLOAD, Operation};
use crate::limits::Limits;
use crate::metrics::{Metrics, Outcome, Status, WorkerInfo, WorkerState, containers_json};
use crate::response::{json_response, payload_too_large};
use crate::server::Listener;
use crate::streamed;
use crate::{
    EventContext, Matched, RouteMatch, Router, http_api_event, http_api_response,
    internal_server_error, matches_media_types, rest_event, rest_response,
};

/// Receives one structured record per request.
pub trait AccessLog: Send + Sync + 'static {
    fn record(&self, record: serde_json::Value);
}

/// Everything a request may need.
pub struct App {
    pub router: Router,
    pub function_urls: FunctionUrls,
    pub auth: Auth,
    /// Throttling, API keys and usage plans, request validation.
    pub limits: Limits,
    pub invoker: Arc<Invoker>,
    pub lambda: LambdaApi,
    pub breakers: CircuitBreakers,
    pub metrics: Metrics,
    pub access_log: Arc<dyn AccessLog>,
    /// Whether each function can run here, as found at boot.
    pub readiness: Vec<FunctionReadiness>,
    /// What runs the workers and how isolated they are (status and `/metrics/containers`).
    pub isolation: esb_agent::driver::Isolation,
    /// What this box removed at start that an earlier instance had left behind.
    pub swept: Vec<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("router", &self.router).finish()
    }
}

impl App {
    /// One request, its response body whole (a streamed one is collected): for callers in
    /// this process; the server sends [`App::respond`]'s as it comes.
    pub async fn handle(&self, request: Request<Bytes>, peer: SocketAddr) -> Response<Bytes> {
        let (parts, body) = self.respond(request, peer).await.into_parts();
        Response::from_parts(parts, body.collect().await)
    }

    /// One request; the body of a function URL's streamed response comes as the function
    /// streams it.
    pub async fn respond(
        &self,
        request: Request<Bytes>,
        peer: SocketAddr,
    ) -> Response<GatewayBody> {
        let started = Instant::now();
        let (request_id, trace_id) = ids(request.headers());
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let mut function = None;
        let builtin = self.builtin(&request);
        // The CLI reads status through the loopback admin listener, which needs no login.
        let refused = builtin
            .filter(|b| b.needs_login())
            .filter(|_| request.extensions().get::<Listener>() != Some(&Listener::Admin))
            .and_then(|_| self.auth.builtin_refusal(&request));
        let mut response = if let Some(refused) = refused {
            refused.map(GatewayBody::from)
        } else if builtin == Some(Builtin::Health) {
            json_response(StatusCode::OK, r#"{"status":"healthy"}"#).map(GatewayBody::from)
        } else if builtin == Some(Builtin::Status) {
            self.status().map(GatewayBody::from)
        } else if builtin == Some(Builtin::Containers) {
            let workers: Vec<WorkerInfo> = self
                .invoker
                .workers()
                .into_iter()
                .map(|w| WorkerInfo {
                    id: w.id,
                    function: w.function,
                    state: if w.busy {
                        WorkerState::Busy
                    } else {
                        WorkerState::Idle
                    },
                    memory_limit_mb: u64::from(w.memory_limit_mb),
                    memory_used_mb: w.memory_used_mb,
                    cpu_seconds: w.cpu_seconds,
                })
                .collect();
            json_response(StatusCode::OK, containers_json(&workers, &self.isolation))
                .map(GatewayBody::from)
        } else if builtin == Some(Builtin::Metrics) {
            let text = self.metrics.render(&self.invoker.stats(), &self.breakers);
            let mut response = Response::new(Bytes::from(text));
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response.map(GatewayBody::from)
        } else if let Some((operation, name)) =
            lambda_api::operation(&path).filter(|_| method == Method::POST)
        {
            function = Some(name.to_string());
            if !self.lambda.access.allows(peer.ip()) {
                LambdaApiError::AccessDenied
                    .response()
                    .map(GatewayBody::from)
            } else {
                let query = request.uri().query().map(str::to_string);
                let (parts, body) = request.into_parts();
                let call = ApiRequest {
                    encoded_name: name,
                    query: query.as_deref(),
                    headers: &parts.headers,
                    body,
                    request_id: &request_id,
                    trace_id: &trace_id,
                };
                match operation {
                    Operation::Invoke => self.lambda.invoke(call).await.map(GatewayBody::from),
                    Operation::InvokeWithResponseStream => {
                        self.lambda.invoke_with_response_stream(call).await
                    }
                }
            }
        } else if let Some(response) = self.auth.login(&request) {
            response.map(GatewayBody::from)
        } else {
            self.route(request, peer, &request_id, &trace_id, &mut function)
                .await
        };
        self.finish(
            &mut response,
            Exchange {
                method: &method,
                path: &path,
                started,
                request_id: &request_id,
                trace_id: &trace_id,
                function: function.as_deref(),
                peer,
            },
        );
        response
    }

    /// The box's own endpoint a request asks for: at its reserved path always, at its short
    /// path only when neither a route nor a function URL of the template takes the request.
    fn builtin(&self, request: &Request<Bytes>) -> Option<Builtin> {
        if request.method() != Method::GET {
            return None;
        }
        let path = request.uri().path();
        let (builtin, reserved) = Builtin::at(path)?;
        if reserved {
            return Some(builtin);
        }
        let host = request.headers().get("host").and_then(|h| h.to_str().ok());
        let template_serves = self.function_urls.find(host, path).is_some()
            || !matches!(
                self.router.route(request.method(), path),
                RouteMatch::NotFound
            );
        (!template_serves).then_some(builtin)
    }

    /// Stamps a response with its request and trace ids and writes the access-log record.
    fn finish<B>(&self, response: &mut Response<B>, exchange: Exchange) {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(exchange.request_id) {
            headers.insert("x-amzn-requestid", value);
        }
        if let Ok(value) = HeaderValue::from_str(exchange.trace_id) {
            headers.insert("x-amzn-trace-id", value);
        }
        self.access_log.record(serde_json::json!({
            "time_ms": epoch_ms(),
            "method": exchange.method.as_str(),
            "path": exchange.path,
            "status": response.status().as_u16(),
            "latency_us": exchange.started.elapsed().as_micros() as u64,
            "request_id": exchange.request_id,
            "trace_id": exchange.trace_id,
            "function": exchange.function,
            "source_ip": exchange.peer.ip().to_string(),
        }));
    }

    /// Every function: what runs it, or why it cannot run, and its pool, for `esb status`.
    fn status(&self) -> Response<Bytes> {
        let stats: std::collections::HashMap<String, _> =
            self.invoker.stats().into_iter().collect();
        let functions: Vec<serde_json::Value> = self
            .readiness
            .iter()
            .map(|ready| {
                let mut entry = serde_json::to_value(ready).unwrap_or_default();
                if let Some(stats) = stats.get(&ready.name) {
                    entry["idle"] = stats.idle.into();
                    entry["busy"] = stats.busy.into();
                    entry["starting"] = stats.starting.into();
                    entry["waiting"] = stats.waiting.into();
                    entry["started"] = stats.started.into();
                    entry["startFailures"] = stats.start_failures.into();
                }
                entry
            })
            .collect();
        let body =
            serde_json::json!({ "functions": functions, "isolation": self.isolation, "swept": self.swept })
                .to_string();
        json_response(StatusCode::OK, body)
    }

    /// Answers a request refused before its body is whole (`response`: 413 past API Gateway's
    /// limit, 400 for a malformed body), with its access-log line.
    pub fn refuse(
        &self,
        parts: &http::request::Parts,
        peer: SocketAddr,
        mut response: Response<Bytes>,
    ) -> Response<Bytes> {
        let started = Instant::now();
        let (request_id, trace_id) = ids(&parts.headers);
        self.finish(
            &mut response,
            Exchange {
                method: &parts.method,
                path: parts.uri.path(),
                started,
                request_id: &request_id,
                trace_id: &trace_id,
                function: None,
                peer,
            },
        );
        response
    }

    async fn route(
        &self,
        request: Request<Bytes>,
        peer: SocketAddr,
        request_id: &str,
        trace_id: &str,
        function: &mut Option<String>,
    ) -> Response<GatewayBody> {
        let host = request.headers().get("host").and_then(|h| h.to_str().ok());
        if let Some(url) = self.function_urls.find(host, request.uri().path()) {
            return self
                .function_url(request, url, peer, request_id, trace_id, function)
                .await;
        }
        if let Some(response) = self.cors_preflight(&request) {
            return response.map(GatewayBody::from);
        }
        let matched = match self.router.route(request.method(), request.uri().path()) {
            RouteMatch::NotFound => {
                return json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#)
                    .map(GatewayBody::from);
            }
            RouteMatch::MethodNotAllowed { allow } => {
                let mut response = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    r#"{"message":"Method Not Allowed"}"#,
                );
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.headers_mut().insert("allow", value);
                }
                return response.map(GatewayBody::from);
            }
            RouteMatch::Matched(matched) => matched,
        };
        *function = Some(matched.route.function.clone());
        let mut context = event_context(&request, &matched, peer, request_id);
        let authorizers = AgentAuthorizers(Arc::clone(&self.invoker));
        match self
            .auth
            .authorize(&request, &matched, &context, &authorizers)
            .await
        {
            AuthDecision::Allow {
                context: authorizer,
            } => context.authorizer = authorizer,
            AuthDecision::Deny(response) => return response.map(GatewayBody::from),
        }
        match self.limits.admit(&request, &matched) {
            Ok(key) => context.api_key = key,
            Err(refused) => return refused.response().map(GatewayBody::from),
        }
        let origin = origin(&request);
        let mut response = self
            .call_function(&request, &matched, &context, trace_id, false)
            .await;
        cors::decorate(matched.api, origin.as_deref(), &mut response);
        response
    }

    /// A request to a function URL: HTTP API payload 2.0, the URL's CORS, its auth type.
    async fn function_url(
        &self,
        mut request: Request<Bytes>,
        url: UrlMatch<'_>,
        peer: SocketAddr,
        request_id: &str,
        trace_id: &str,
        function: &mut Option<String>,
    ) -> Response<GatewayBody> {
        *function = Some(url.matched.route.function.clone());
        if url.path != request.uri().path() {
            let target = match request.uri().query() {
                Some(query) => format!("{}?{query}", url.path),
                None => url.path.clone(),
            };
            if let Ok(uri) = target.parse() {
                *request.uri_mut() = uri;
            }
        }
        // AWS_IAM URLs need a SigV4-signed request; the signature itself is not verified here.
        let signed = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
        if url.auth_type == "AWS_IAM" && !signed {
            return json_response(StatusCode::FORBIDDEN, r#"{"Message":"Forbidden"}"#)
                .map(GatewayBody::from);
        }
        if request.method() == Method::OPTIONS
            && let Some(response) = cors::preflight(url.matched.api, &request)
        {
            return response.map(GatewayBody::from);
        }
        let context = event_context(&request, &url.matched, peer, request_id);
        let origin = origin(&request);
        let mut response = self
            .call_function(&request, &url.matched, &context, trace_id, url.streaming)
            .await;
        cors::decorate(url.matched.api, origin.as_deref(), &mut response);
        response
    }

    /// The function behind a route, through its circuit breaker, with metrics. With `stream`
    /// (a function URL in `RESPONSE_STREAM` mode) a streamed result goes out as it comes.
    async fn call_function(
        &self,
        request: &Request<Bytes>,
        matched: &Matched<'_>,
        context: &EventContext,
        trace_id: &str,
        stream: bool,
    ) -> Response<GatewayBody> {
        let name = matched.route.function.as_str();
        let request_id = context.request_id.as_str();
        let Ok(permit) = self.breakers.check(name) else {
            self.metrics
                .observe(name, outcome(Status::CircuitOpen, Duration::ZERO, None));
            return internal_server_error().map(GatewayBody::from);
        };
        let Some(payload) = event_payload(request, matched, context) else {
            permit.release();
            return internal_server_error().map(GatewayBody::from);
        };
        // Lambda refuses an event over its synchronous limit (a body under API Gateway's 10 MB
        // can still make one: headers, base64); API Gateway answers 413, the function never
        // sees it.
        if payload.len() > MAX_SYNC_PAYLOAD {
            permit.release();
            return payload_too_large().map(GatewayBody::from);
        }
        let input = InvokeInput {
            request_id: request_id.to_string(),
            payload,
            trace_id: Some(trace_id.to_string()),
            client_context: None,
            cognito_identity: None,
        };
        let started = Instant::now();
        let (status, response, init) = match self.invoker.invoke(name, input).await {
            Ok(mut result)
                if stream && result.stream.is_some() && result.function_error.is_none() =>
            {
                let init = result.init_duration;
                let content_type = result.content_type.clone();
                match result.stream.take() {
                    Some(body) => match streamed::response(content_type.as_deref(), body).await {
                        Ok(response) => (Status::Success, response, init),
                        Err(error) => {
                            tracing::warn!(function = name, request_id, %error, "malformed streamed response");
                            (
                                Status::InvalidResponse,
                                internal_server_error().map(GatewayBody::from),
                                init,
                            )
                        }
                    },
                    None => (
                        Status::InvalidResponse,
                        internal_server_error().map(GatewayBody::from),
                        init,
                    ),
                }
            }
            Ok(mut result) => {
                let init = result.init_duration;
                // API Gateway buffers proxy responses, streamed or not.
                let body = match result.stream.take() {
                    Some(stream) => stream.collect().await.ok(),
                    None => Some(result.payload.clone()),
                };
                match (result.function_error, body) {
                    (None, Some(body)) => {
                        let mapped = match matched.route.kind {
                            RouteKind::Rest => {
                                rest_response(&body, accepts_binary(request, matched))
                            }
                            _ => http_api_response(&body),
                        };
                        match mapped {
                            Ok(response) => {
                                (Status::Success, response.map(GatewayBody::from), init)
                            }
                            Err(error) => {
                                tracing::warn!(function = name, request_id, %error, "malformed Lambda proxy response");
                                (
                                    Status::InvalidResponse,
                                    internal_server_error().map(GatewayBody::from),
                                    init,
                                )
                            }
                        }
                    }
                    (_, body) => {
                        let text = body
                            .as_deref()
                            .map(String::from_utf8_lossy)
                            .unwrap_or_default();
                        let status = if result.reusable {
                            Status::FunctionError
                        } else if text.contains("Sandbox.Timedout") {
                            Status::Timeout
                        } else {
                            Status::Crash
                        };
                        tracing::warn!(function = name, request_id, error = %text, "function error");
                        (status, internal_server_error().map(GatewayBody::from), init)
                    }
                }
            }
            Err(InvokeError::Throttled { .. }) => (
                Status::Throttled,
                json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    r#"{"message":"Too Many Requests"}"#,
                )
                .map(GatewayBody::from),
                None,
            ),
            Err(InvokeError::AcquireTimeout { .. }) => (
                Status::Unavailable,
                json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"message":"Service Unavailable"}"#,
                )
                .map(GatewayBody::from),
                None,
            ),
            Err(error) => {
                tracing::warn!(function = name, request_id, %error, "invocation failed");
                (
                    Status::Crash,
                    internal_server_error().map(GatewayBody::from),
                    None,
                )
            }
        };
        match status {
            Status::Success => permit.success(),
            // Not the function's fault: neither opens nor closes the breaker.
            Status::Throttled | Status::Unavailable => permit.release(),
            _ => permit.failure(),
        }
        self.metrics
            .observe(name, outcome(status, started.elapsed(), init));
        response
    }

    /// CORS preflights API Gateway answers itself: an HTTP API's before routes and
    /// authorizers, and the mock `OPTIONS` method SAM adds to a REST API's CORS paths.
    fn cors_preflight(&self, request: &Request<Bytes>) -> Option<Response<Bytes>> {
        if request.method() != Method::OPTIONS {
            return None;
        }
        let path = request.uri().path();
        let requested = request
            .headers()
            .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| Method::from_bytes(v.as_bytes()).ok());
        if let Some(RouteMatch::Matched(hit)) = requested.map(|m| self.router.route(&m, path))
            && hit.api.kind == ApiKind::Http
        {
            return cors::preflight(hit.api, request);
        }
        match self.router.route(&Method::OPTIONS, path) {
            RouteMatch::Matched(hit)
                if hit.api.kind == ApiKind::Rest && hit.route.method == "ANY" =>
            {
                cors::preflight_for_path(hit.api, request, &["ANY"])
            }
            RouteMatch::MethodNotAllowed { allow } => {
                let RouteMatch::Matched(hit) = self.router.route(allow.first()?, path) else {
                    return None;
                };
                if hit.api.kind != ApiKind::Rest {
                    return None;
                }
                let methods: Vec<&str> = allow.iter().map(Method::as_str).collect();
                cors::preflight_for_path(hit.api, request, &methods)
            }
            _ => None,
        }
    }
}

/// Lambda authorizers run as functions of this box.
struct AgentAuthorizers(Arc<Invoker>);

impl AuthorizerInvoker for AgentAuthorizers {
    fn invoke<'a>(&'a self, function: &'a str, payload: Bytes) -> InvokeFuture<'a> {
        Box::pin(async move {
            let input = InvokeInput {
                request_id: esb_model::ids::request_id(),
                payload,
                trace_id: None,
                client_context: None,
                cognito_identity: None,
            };
            match self.0.invoke(function, input).await {
                Ok(result) if result.function_error.is_some() => {
                    Err(String::from_utf8_lossy(&result.payload).into_owned())
                }
                Ok(result) => Ok(result.payload),
                Err(error) => Err(error.to_string()),
            }
        })
    }
}

/// Whether the request's first `Accept` type is one of the REST API's binary media types.
fn accepts_binary(request: &Request<Bytes>, matched: &Matched) -> bool {
    let first_accept = request
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| accept.split(',').next())
        .map(str::trim);
    matches_media_types(first_accept, &matched.api.binary_media_types)
}

/// One request as the access log records it.
struct Exchange<'a> {
    method: &'a Method,
    path: &'a str,
    started: Instant,
    request_id: &'a str,
    trace_id: &'a str,
    function: Option<&'a str>,
    peer: SocketAddr,
}

/// A new request id, and the client's trace id (`Root=1-…`) or a new one.
fn ids(headers: &http::HeaderMap) -> (String, String) {
    let trace_id = headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.contains("Root=1-"))
        .map_or_else(esb_model::ids::trace_id, str::to_string);
    (esb_model::ids::request_id(), trace_id)
}

fn event_context(
    request: &Request<Bytes>,
    matched: &Matched,
    peer: SocketAddr,
    request_id: &str,
) -> EventContext {
    EventContext {
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
        api_key: None,
    }
}

fn outcome(status: Status, duration: Duration, init_duration: Option<Duration>) -> Outcome {
    Outcome {
        status,
        duration,
        cold_start: init_duration.is_some(),
        init_duration,
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

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The request's `Origin`, kept past the call for the CORS headers of the response.
fn origin<B>(request: &Request<B>) -> Option<String> {
    request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
