//! Embedded DynamoDB-compatible database of Edge Serverless Box.
//!
//! The crate owns the listener, the wire protocol (DynamoDB JSON 1.0), request limits and the
//! engine's lifecycle; the storage and expression engine is `dynoxide-rs`, kept behind the one
//! [`engine`] module so it can be replaced. [`server::handle`] answers a request without a
//! socket; [`server::serve`] runs it on a listener.

mod body;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
pub mod sigv4;
mod wire;

pub use engine::{Engine, EngineConfig, EngineReply};
pub use error::DynamoError;
pub use server::{Auth, DEFAULT_PORT, MAX_REQUEST_BYTES, Service, handle, serve};
pub use sigv4::Credential;
