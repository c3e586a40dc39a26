//! Invoke API errors in AWS's shape: the status, the `x-amzn-ErrorType` header boto3 and the
//! other SDKs read, and a JSON body with `Type` and `message`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use crate::response::json_response;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LambdaApiError {
    #[error("Function not found: {arn}")]
    NotFound { arn: String },
    #[error("{message}")]
    InvalidParameter { message: String },
    #[error("Could not parse request body into json: the payload is not valid JSON")]
    InvalidContent,
    #[error("Request must be smaller than {limit} bytes for the InvokeFunction operation")]
    TooLarge { limit: usize },
    #[error("Rate Exceeded.")]
    Throttled,
    #[error("{message}")]
    Service { message: String },
    #[error("this box's Invoke API does not answer requests from this address")]
    AccessDenied,
}

impl LambdaApiError {
    /// The AWS error code (`x-amzn-ErrorType`) and HTTP status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            LambdaApiError::NotFound { .. } => ("ResourceNotFoundException", StatusCode::NOT_FOUND),
            LambdaApiError::InvalidParameter { .. } => {
                ("InvalidParameterValueException", StatusCode::BAD_REQUEST)
            }
            LambdaApiError::InvalidContent => {
                ("InvalidRequestContentException", StatusCode::BAD_REQUEST)
            }
            LambdaApiError::TooLarge { .. } => {
                ("RequestTooLargeException", StatusCode::PAYLOAD_TOO_LARGE)
            }
            LambdaApiError::Throttled => {
                ("TooManyRequestsException", StatusCode::TOO_MANY_REQUESTS)
            }
            LambdaApiError::Service { .. } => {
                ("ServiceException", StatusCode::INTERNAL_SERVER_ERROR)
            }
            LambdaApiError::AccessDenied => ("AccessDeniedException", StatusCode::FORBIDDEN),
        }
    }

    pub fn response(&self) -> Response<Bytes> {
        let (code, status) = self.code();
        let mut body = serde_json::json!({
            "Type": if status.is_server_error() { "Service" } else { "User" },
            "message": self.to_string(),
        });
        if let LambdaApiError::Throttled = self {
            body["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded".into();
        }
        let mut response = json_response(status, body.to_string());
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(code));
        response
    }
}
