//! LogsQL, the query language of VictoriaLogs (design note §5, tier 1): [`parse`] turns a
//! query into [`Filter`]s and [`Pipe`]s; [`Filter::matches`] and the [`pipeline`] run them
//! over rows. The parser returns errors for any input — it never panics — worded as
//! VictoriaLogs words them: `cannot parse query [<query>]: <reason>`.

pub mod filter;
mod lexer;
mod natural;
mod parser;
pub mod pipe;
pub mod pipeline;
mod stats;
pub mod view;

pub use filter::{Filter, Test};
pub use pipe::Pipe;

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    /// the filter
    pub filter: Filter,
    /// the pipes, in order
    pub pipes: Vec<Pipe>,
}

/// A query that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse query [{query}]: {reason}")]
pub struct ParseError {
    /// the query text
    pub query: String,
    /// what is wrong, and where
    pub reason: String,
}

/// Parses `text`; relative times (`_time:5m`) count back from `now` (ns).
pub fn parse(text: &str, now: i64) -> Result<Query, ParseError> {
    parser::parse(text, now).map_err(|reason| ParseError {
        query: text.to_owned(),
        reason,
    })
}

impl Query {
    /// Whether a pipe reorders, aggregates or cuts rows (see [`Pipe::reorders`]).
    pub fn reorders(&self) -> bool {
        self.pipes.iter().any(Pipe::reorders)
    }
}

#[cfg(test)]
mod tests;
