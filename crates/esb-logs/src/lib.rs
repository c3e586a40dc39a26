//! The logs role of Edge Serverless Box: an embedded, durable log store with VictoriaLogs'
//! ingestion API and a LogsQL subset.
//!
//! - [`row`]: the row model (flat string fields, `_time`, `_msg`, streams).
//! - [`ingest`]: the insert formats and their parameters → rows.
//! - [`store`]: the WAL, the in-memory tail, sealed blocks in day partitions, recovery
//!   and retention.
//! - [`logsql`]: the LogsQL parser, filters and pipes.
//! - [`query`]: LogsQL over the store (pruning by day, stream, time and token filters).
//! - [`server`]: the VictoriaLogs HTTP API on `127.0.0.1:9428`; [`run`] is the whole role.

pub mod codec;
pub mod ingest;
pub mod logsql;
pub mod query;
pub mod row;
pub mod server;
pub mod store;
pub mod timeutil;
pub mod tokenizer;

pub use server::{DEFAULT_PORT, LogsServerConfig, ServerError, Service, handle, run, serve};
pub use store::{Store, StoreConfig, StoreError};
