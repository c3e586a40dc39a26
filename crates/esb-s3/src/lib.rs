//! Embedded S3-compatible object store of Edge Serverless Box: a durable file-system
//! backend ([`store`]), the S3 protocol mapping on top of the `s3s` crate ([`service`]),
//! a listener with SigV4 auth ([`server`]) and the lifecycle
//! sweeper ([`lifecycle`]).

mod error_body;
pub mod lifecycle;
pub mod server;
pub mod service;
pub mod store;

pub use server::{S3ServerConfig, ServerError, build_service, run, serve};
pub use service::EsbS3;
pub use store::{Store, StoreError};
