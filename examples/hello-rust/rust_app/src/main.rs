//! hello-rust: answers an API Gateway proxy event with a JSON greeting that echoes the
//! request's path and its `name` query parameter.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use lambda_runtime::{Error, LambdaEvent, service_fn};

async fn handler(
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let request = event.payload;
    let name = request.query_string_parameters.first("name");
    let body = serde_json::json!({
        "message": "hello from rust",
        "path": request.path,
        "name": name,
        "requestId": event.context.request_id,
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The event types are `#[non_exhaustive]`: start from the default and fill it in.
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
