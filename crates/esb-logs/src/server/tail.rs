//! `/select/logsql/tail`: the rows of the last `start_offset` (default 5 s), then every new
//! matching row as it is appended, as chunked JSON lines until the client leaves or the
//! server stops. New rows come from the store's append channel, so they show up at once;
//! the history and the live part meet at an append sequence number, so no row is sent twice
//! or skipped (VictoriaLogs polls and deduplicates by timestamp instead).

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use tokio::sync::{broadcast, mpsc};

use super::Service;
use super::args::Args;
use super::lines::JsonLines;
use super::response::{self, Body};
use super::select;
use crate::ingest::params::matches_any;
use crate::logsql::pipeline::{Flow, Pipeline, Sink};
use crate::logsql::view::{LogRow, OwnedRow, RowView};
use crate::logsql::{Pipe, Query};
use crate::query;
use crate::row::TIME;
use crate::timeutil;

const DEFAULT_START_OFFSET: i64 = 5 * timeutil::SECOND;

pub(super) async fn tail(service: &Service, args: &Args) -> Response<Body> {
    let mut request = match select::request(service, args) {
        Ok(request) => request,
        Err(e) => return response::bad_request(e),
    };
    if let Some(reason) = unsupported(&request.query) {
        return response::bad_request(reason);
    }
    let start_offset = match args.get("start_offset").filter(|v| !v.is_empty()) {
        None => DEFAULT_START_OFFSET,
        Some(v) => match timeutil::parse_duration(v) {
            Some(d) if d >= 0 => d,
            _ => return response::bad_request(format!("cannot parse start_offset={v:?}")),
        },
    };
    // Subscribe before reading history: every append after the history's snapshot is
    // then on the channel.
    let live = service.store.subscribe();
    request.options.start = Some(timeutil::now_ns().saturating_sub(start_offset));
    request.options.end = None;
    let store = Arc::clone(&service.store);
    let query = request.query.clone();
    let history = tokio::task::spawn_blocking(move || {
        let mut rows = Collect(Vec::new());
        query::run(&store, &request.query, &request.options, &mut rows)
            .map(|outcome| (outcome.seq, rows.0))
    })
    .await;
    let (seq, mut rows) = match history {
        Ok(Ok(history)) => history,
        Ok(Err(e)) => return response::bad_request(e),
        Err(e) => return response::bad_request(e),
    };
    rows.sort_by_key(|r| r.time);
    let mut lines = JsonLines::default();
    for row in &rows {
        lines.push(row);
    }
    let (tx, rx) = mpsc::channel(16);
    let stopping = service.stopping.subscribe();
    tokio::spawn(follow(query, seq, live, tx, stopping));
    let first = lines.take();
    response::streamed(
        "application/x-ndjson",
        (!first.is_empty()).then(|| Bytes::from(first)),
        rx,
    )
}

/// Why a query cannot be tailed: pipes that need the whole input, or one that drops
/// `_time`.
fn unsupported(query: &Query) -> Option<String> {
    for pipe in &query.pipes {
        let name = match pipe {
            Pipe::Sort(_) => "sort",
            Pipe::Stats(_) => "stats",
            Pipe::Uniq { .. } => "uniq",
            Pipe::Limit(_) => "limit",
            Pipe::Offset(_) => "offset",
            Pipe::Fields(keep) if !matches_any(keep, TIME) => {
                return Some("the tail query must keep the _time field".to_owned());
            }
            Pipe::Delete(drop) if matches_any(drop, TIME) => {
                return Some("the tail query must keep the _time field".to_owned());
            }
            _ => continue,
        };
        return Some(format!("the tail query cannot contain the {name} pipe"));
    }
    None
}

/// Sends matching rows of appends after `seq` until the client or the server goes.
async fn follow(
    query: Query,
    seq: u64,
    mut live: broadcast::Receiver<Arc<crate::store::Batch>>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut pipeline = Pipeline::new(&query.pipes);
    loop {
        let batch = tokio::select! {
            batch = live.recv() => batch,
            _ = stopping.changed() => return,
            () = tx.closed() => return,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a live tail fell behind and missed appends");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if batch.seq <= seq {
            continue;
        }
        let mut lines = JsonLines::default();
        for row in &batch.rows {
            let view = LogRow::of_row(row, &row.stream);
            if query.filter.matches(&view) {
                pipeline.push(&view, &mut lines);
            }
        }
        let chunk = lines.take();
        if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
            return;
        }
    }
}

struct Collect(Vec<OwnedRow>);

impl Sink for Collect {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        self.0.push(OwnedRow::of(row));
        Flow::Continue
    }
}
