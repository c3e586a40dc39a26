//! The logs role of Edge Serverless Box: an embedded, durable log store with VictoriaLogs'
//! ingestion API and a LogsQL subset.
//!
//! - [`row`]: the row model (flat string fields, `_time`, `_msg`, streams).
//! - [`ingest`]: the insert formats and their parameters → rows.
//! - [`store`]: the WAL, the in-memory tail, sealed blocks in day partitions, recovery
//!   and retention.

pub mod codec;
pub mod ingest;
pub mod row;
pub mod store;
pub mod timeutil;
pub mod tokenizer;
