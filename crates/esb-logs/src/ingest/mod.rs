//! Ingestion: the VictoriaLogs insert formats (NDJSON, Elasticsearch bulk, Loki JSON) and
//! their shared parameters turned into [`Row`](crate::row::Row)s. Pure functions of the
//! request body: no HTTP and no storage here.

pub mod body;
pub mod elasticsearch;
pub mod jsonline;
pub mod loki;
pub mod normalize;
pub mod params;

pub use params::{IngestParams, ParamError};

use crate::row::Row;

/// The rows of one request, and how many of its entries failed.
#[derive(Debug, Default)]
pub struct Parsed {
    /// the rows parsed
    pub rows: Vec<Row>,
    /// entries seen (good and bad)
    pub entries: usize,
    /// entries skipped
    pub errors: usize,
    /// why the first bad entry was skipped
    pub first_error: Option<String>,
}

impl Parsed {
    /// Counts one skipped entry.
    pub fn fail(&mut self, reason: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(reason);
        }
    }

    /// Whether there were entries and every one of them failed (the only case VictoriaLogs
    /// answers 400).
    pub fn all_failed(&self) -> bool {
        self.entries > 0 && self.errors >= self.entries
    }
}
