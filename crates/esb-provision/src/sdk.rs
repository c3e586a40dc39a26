//! AWS SDK clients pointed at one endpoint with one static key pair — the box's own services or
//! external ones (RustFS, MinIO, Alternator, AWS). No profile files, no instance metadata: what
//! the box is configured with is exactly what the clients use.

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Where a service is and how to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    /// `http://127.0.0.1:9000`, `https://s3.example.net`, …
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl ServiceEndpoint {
    fn credentials(&self) -> Credentials {
        Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            None,
            None,
            "esb",
        )
    }
}

/// One HTTP client (rustls on ring, the platform's roots) for both SDKs.
fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// An S3 client using path-style addressing, which works against every S3-compatible store
/// without wildcard DNS.
pub fn s3_client(endpoint: &ServiceEndpoint) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(endpoint.region.clone()))
        .credentials_provider(endpoint.credentials())
        .endpoint_url(&endpoint.url)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A DynamoDB client.
pub fn dynamodb_client(endpoint: &ServiceEndpoint) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(endpoint.region.clone()))
        .credentials_provider(endpoint.credentials())
        .endpoint_url(&endpoint.url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
