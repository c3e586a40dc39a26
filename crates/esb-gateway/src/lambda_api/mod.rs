//! The Lambda Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`), as AWS
//! SDKs call it through `AWS_ENDPOINT_URL_LAMBDA`: `RequestResponse`, `Event` (queued and
//! retried like AWS), `DryRun`, `X-Amz-Log-Type: Tail`, and AWS's error shapes; and
//! `InvokeWithResponseStream` (`POST /2021-11-15/functions/{FunctionName}/
//! response-streaming-invocations`), whose answer is an event stream of the function's chunks.

mod errors;
mod event_queue;
mod event_stream;
mod name;

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use esb_agent::{InvokeError, InvokeInput, InvokeResult, Invoker};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::GatewayBody;

pub use errors::LambdaApiError;
pub use event_queue::{EventQueue, RetryPolicy};
pub use name::FunctionName;

/// Largest synchronous request payload (6 MB) and asynchronous one (256 KB), as on AWS.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
pub const MAX_ASYNC_PAYLOAD: usize = 256 * 1024;

/// The Invoke API's operations, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `/2015-03-31/functions/{name}/invocations`
    Invoke,
    /// `/2021-11-15/functions/{name}/response-streaming-invocations`
    InvokeWithResponseStream,
}

/// The operation a path names, and the (still URL-encoded) function name in it.
pub fn operation(path: &str) -> Option<(Operation, &str)> {
    let paths = [
        (Operation::Invoke, "/2015-03-31/functions/", "/invocations"),
        (
            Operation::InvokeWithResponseStream,
            "/2021-11-15/functions/",
            "/response-streaming-invocations",
        ),
    ];
    paths.into_iter().find_map(|(operation, prefix, suffix)| {
        let name = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
        (!name.is_empty() && !name.contains('/')).then_some((operation, name))
    })
}

/// One call of the Invoke API as the gateway received it.
#[derive(Debug)]
pub struct ApiRequest<'a> {
    /// The function's name, ARN or partial ARN as the path segment has it (URL-encoded).
    pub encoded_name: &'a str,
    /// The raw query (`Qualifier=…`).
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    pub request_id: &'a str,
    pub trace_id: &'a str,
}

/// One validated call: the function, its ARN and the invocation.
struct Call {
    function: String,
    arn: String,
    input: InvokeInput,
}

/// What the Invoke API needs besides the request.
#[derive(Debug)]
pub struct LambdaApi {
    pub invoker: Arc<Invoker>,
    pub events: EventQueue,
    pub region: String,
    pub account_id: String,
    /// The functions' `AutoPublishAlias` names, accepted as qualifiers.
    pub aliases: Vec<(String, String)>,
    pub access: InvokeApiAccess,
}

/// Who may call the Invoke API. Functions call it over the loopback listener, so `Loopback`
/// (the default) keeps chained invocations working while a box bound to every interface does
/// not run functions for the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeApiAccess {
    #[default]
    Loopback,
    Anyone,
    Nobody,
}

impl std::str::FromStr for InvokeApiAccess {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "loopback" => Ok(InvokeApiAccess::Loopback),
            "any" => Ok(InvokeApiAccess::Anyone),
            "off" => Ok(InvokeApiAccess::Nobody),
            other => Err(format!("expected loopback, any or off, got {other}")),
        }
    }
}

impl InvokeApiAccess {
    pub fn allows(self, peer: std::net::IpAddr) -> bool {
        match self {
            InvokeApiAccess::Loopback => peer.is_loopback(),
            InvokeApiAccess::Anyone => true,
            InvokeApiAccess::Nobody => false,
        }
    }
}

impl LambdaApi {
    /// Handles one `Invoke` call.
    pub async fn invoke(&self, request: ApiRequest<'_>) -> Response<Bytes> {
        match self.try_invoke(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        }
    }

    async fn try_invoke(&self, request: ApiRequest<'_>) -> Result<Response<Bytes>, LambdaApiError> {
        let headers = request.headers;
        let call = self.call(request)?;
        let invocation_type = header(headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
        let Call {
            function,
            arn,
            input,
        } = call;
        match invocation_type {
            "DryRun" => Ok(empty(StatusCode::NO_CONTENT)),
            "Event" => {
                if input.payload.len() > MAX_ASYNC_PAYLOAD {
                    return Err(LambdaApiError::TooLarge {
                        limit: MAX_ASYNC_PAYLOAD,
                    });
                }
                self.events.enqueue(function, input)?;
                Ok(empty(StatusCode::ACCEPTED))
            }
            "RequestResponse" => {
                let tail = header(headers, "x-amz-log-type") == Some("Tail");
                let mut result = self
                    .invoke_now(Call {
                        function,
                        arn,
                        input,
                    })
                    .await?;
                // A streaming function's response, whole, as Invoke gives it on AWS.
                let payload = match result.stream.take() {
                    Some(stream) => stream.collect().await.unwrap_or_default(),
                    None => result.payload.clone(),
                };
                let mut response = Response::new(payload);
                let response_headers = response.headers_mut();
                let content_type = result.content_type.as_deref().unwrap_or("application/json");
                insert(response_headers, "content-type", content_type);
                insert(response_headers, "x-amz-executed-version", "$LATEST");
                if let Some(error) = result.function_error {
                    insert(response_headers, "x-amz-function-error", error.as_str());
                }
                if tail {
                    insert(
                        response_headers,
                        "x-amz-log-result",
                        &log_result(&result.log_tail),
                    );
                }
                Ok(response)
            }
            other => Err(LambdaApiError::InvalidParameter {
                message: format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to \
                     satisfy constraint: Member must satisfy enum value set: [Event, \
                     RequestResponse, DryRun]"
                ),
            }),
        }
    }

    /// Handles one `InvokeWithResponseStream` call: the function's response as `PayloadChunk`
    /// events as it comes, then `InvokeComplete` (with the error's code and details when the
    /// function failed).
    pub async fn invoke_with_response_stream(
        &self,
        request: ApiRequest<'_>,
    ) -> Response<GatewayBody> {
        let tail = header(request.headers, "x-amz-log-type") == Some("Tail");
        let result = match self.call(request) {
            Ok(call) => self.invoke_now(call).await,
            Err(error) => Err(error),
        };
        let mut result = match result {
            Ok(result) => result,
            Err(error) => return error.response().map(GatewayBody::from),
        };
        let content_type = result
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let (events, body) = GatewayBody::channel();
        let stream = result.stream.take();
        tokio::spawn(async move {
            let log = tail.then(|| log_result(&result.log_tail));
            let failed = match stream {
                Some(mut stream) => loop {
                    match stream.next().await {
                        Some(Ok(chunk)) => {
                            if events
                                .send(event_stream::payload_chunk(&chunk))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Some(Err(error)) => {
                            break Some((error.error_type, error.message));
                        }
                        None => break None,
                    }
                },
                None => {
                    let _ = events
                        .send(event_stream::payload_chunk(&result.payload))
                        .await;
                    result.function_error.map(|error| {
                        (
                            error.as_str().to_string(),
                            String::from_utf8_lossy(&result.payload).into_owned(),
                        )
                    })
                }
            };
            let error = failed
                .as_ref()
                .map(|(code, details)| (code.as_str(), details.as_str()));
            let _ = events
                .send(event_stream::invoke_complete(error, log.as_deref()))
                .await;
        });
        let mut response = Response::new(body);
        let response_headers = response.headers_mut();
        insert(response_headers, "content-type", &content_type);
        insert(response_headers, "x-amz-executed-version", "$LATEST");
        response
    }

    /// Runs a synchronous invocation (`RequestResponse`, `InvokeWithResponseStream`): within
    /// Lambda's payload limit, its errors as the Invoke API answers them.
    async fn invoke_now(&self, call: Call) -> Result<InvokeResult, LambdaApiError> {
        if call.input.payload.len() > MAX_SYNC_PAYLOAD {
            return Err(LambdaApiError::TooLarge {
                limit: MAX_SYNC_PAYLOAD,
            });
        }
        self.invoker
            .invoke(&call.function, call.input)
            .await
            .map_err(|error| LambdaApiError::from_invoke(error, call.arn))
    }

    /// Validates a call: the function and qualifier exist, the payload is JSON, the client
    /// context is base64 of a JSON object.
    fn call(&self, request: ApiRequest<'_>) -> Result<Call, LambdaApiError> {
        let ApiRequest {
            encoded_name,
            query,
            headers,
            body,
            request_id,
            trace_id,
        } = request;
        let name = FunctionName::parse(encoded_name, query)?;
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, name.function
        );
        let not_found = || LambdaApiError::NotFound { arn: arn.clone() };
        if !self.invoker.has_function(&name.function) {
            return Err(not_found());
        }
        if let Some(qualifier) = &name.qualifier {
            let known = qualifier == "$LATEST"
                || self
                    .aliases
                    .iter()
                    .any(|(function, alias)| function == &name.function && alias == qualifier);
            if !known {
                return Err(LambdaApiError::NotFound {
                    arn: format!("{arn}:{qualifier}"),
                });
            }
        }
        let payload = if body.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            body
        };
        if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err() {
            return Err(LambdaApiError::InvalidContent);
        }
        let client_context = header(headers, "x-amz-client-context")
            .map(decode_client_context)
            .transpose()?;
        Ok(Call {
            function: name.function,
            arn,
            input: InvokeInput {
                request_id: request_id.to_string(),
                payload,
                trace_id: Some(trace_id.to_string()),
                client_context,
                cognito_identity: None,
            },
        })
    }
}

impl LambdaApiError {
    fn from_invoke(error: InvokeError, arn: String) -> LambdaApiError {
        match error {
            InvokeError::NotFound(_) => LambdaApiError::NotFound { arn },
            InvokeError::Throttled { .. } | InvokeError::AcquireTimeout { .. } => {
                LambdaApiError::Throttled
            }
            other => LambdaApiError::Service {
                message: other.to_string(),
            },
        }
    }
}

/// `X-Amz-Log-Result`, `LogResult`: base64 of the invocation's log tail.
fn log_result(tail: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(tail)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// `X-Amz-Client-Context` is base64 of a JSON object; the runtime gets the JSON.
fn decode_client_context(encoded: &str) -> Result<String, LambdaApiError> {
    let invalid = || LambdaApiError::InvalidParameter {
        message: "Client context must be a valid Base64-encoded JSON object.".to_string(),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_paths() {
        let name = |path| operation(path).map(|(_, name)| name);
        assert_eq!(
            operation("/2015-03-31/functions/hello/invocations"),
            Some((Operation::Invoke, "hello"))
        );
        assert_eq!(
            name(
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ahello/invocations"
            ),
            Some("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ahello")
        );
        assert_eq!(
            operation("/2021-11-15/functions/hello/response-streaming-invocations"),
            Some((Operation::InvokeWithResponseStream, "hello"))
        );
        assert_eq!(name("/2015-03-31/functions//invocations"), None);
        assert_eq!(name("/2015-03-31/functions/a/b/invocations"), None);
        assert_eq!(name("/2021-11-15/functions/hello/invocations"), None);
        assert_eq!(name("/hello"), None);
    }

    #[test]
    fn client_context_must_be_base64_json_objects() {
        let good = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"a":1}}"#);
        assert_eq!(
            decode_client_context(&good).ok().as_deref(),
            Some(r#"{"custom":{"a":1}}"#)
        );
        assert!(decode_client_context("not base64!").is_err());
        let not_object = base64::engine::general_purpose::STANDARD.encode("[1]");
        assert!(decode_client_context(&not_object).is_err());
    }
}
