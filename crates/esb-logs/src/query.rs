//! Running a LogsQL query over the store: prune days and streams, skip blocks by time range
//! and token filters, decode the rest, match rows, run the pipes. With `newest = N` and no
//! reordering pipe (the query API's `limit`), blocks are visited newest first and the scan
//! stops as soon as nothing older can enter the N newest rows, which are returned in
//! ascending time order.

use std::cell::OnceCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::logsql::filter::{Candidate, Column, Filter, StreamOnly};
use crate::logsql::pipeline::{Flow, Pipeline, Sink};
use crate::logsql::view::{LogRow, OwnedRow, RowView};
use crate::logsql::{Pipe, Query};
use crate::row::Stream;
use crate::store::partition::BlockRef;
use crate::store::{Store, TailPart, bloom};

/// How to run a query.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// only rows at or after this time (ns)
    pub start: Option<i64>,
    /// only rows at or before this time (ns)
    pub end: Option<i64>,
    /// give up after this instant
    pub deadline: Option<(Instant, Duration)>,
    /// the query API's `limit`: the newest N rows, ascending, unless a pipe reorders rows
    /// (then a trailing `| limit N`)
    pub newest: Option<usize>,
}

/// Why a query stopped early.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The deadline passed.
    #[error(
        "the query could not be executed within timeout={0:?}; narrow it with a _time or stream filter, or raise the timeout"
    )]
    Timeout(Duration),
}

/// What a finished query tells its caller.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// the last append the query saw (live tail continues after it)
    pub seq: u64,
}

/// Runs `query`, sending result rows to `sink`. Blocking (reads files): call it from a
/// blocking thread.
pub fn run(
    store: &Store,
    query: &Query,
    options: &Options,
    sink: &mut dyn Sink,
) -> Result<Outcome, QueryError> {
    let filter = match (options.start, options.end) {
        (None, None) => query.filter.clone(),
        (start, end) => Filter::And(vec![
            query.filter.clone(),
            Filter::Time {
                min: start.unwrap_or(i64::MIN),
                max: end.unwrap_or(i64::MAX),
            },
        ]),
    };
    let (lo, hi) = filter.time_bounds();
    let snapshot = if lo <= hi {
        store.snapshot(lo, hi, &|s: &Stream| filter.may_match(&StreamOnly(s)))
    } else {
        store.snapshot(1, 0, &|_| false)
    };
    let mut sources: Vec<Source<'_>> = snapshot
        .blocks
        .iter()
        .map(Source::Block)
        .chain(snapshot.tail.iter().map(Source::Tail))
        .collect();
    let outcome = Outcome { seq: snapshot.seq };
    let scan = Scan {
        filter: &filter,
        deadline: options.deadline,
    };
    match options.newest {
        Some(n) if !query.reorders() => {
            sources.sort_by_key(|s| Reverse(s.time_range().1));
            let mut pipeline = Pipeline::new(&query.pipes);
            let mut top = TopN::new(n);
            scan.newest(&sources, &mut pipeline, &mut top)?;
            pipeline.finish(&mut top);
            for row in top.into_ascending() {
                if sink.push(&row) == Flow::Stop {
                    break;
                }
            }
        }
        newest => {
            sources.sort_by_key(|s| s.time_range().0);
            let mut pipes = query.pipes.clone();
            pipes.extend(newest.map(Pipe::Limit));
            let mut pipeline = Pipeline::new(&pipes);
            scan.all(&sources, &mut pipeline, sink)?;
            pipeline.finish(sink);
        }
    }
    Ok(outcome)
}

enum Source<'a> {
    Block(&'a Arc<BlockRef>),
    Tail(&'a TailPart),
}

impl Source<'_> {
    fn time_range(&self) -> (i64, i64) {
        match self {
            Source::Block(b) => (b.header.min_time, b.header.max_time),
            Source::Tail(t) => (t.min_time, t.max_time),
        }
    }
}

struct Scan<'f> {
    filter: &'f Filter,
    deadline: Option<(Instant, Duration)>,
}

impl Scan<'_> {
    fn check_deadline(&self) -> Result<(), QueryError> {
        match self.deadline {
            Some((at, timeout)) if Instant::now() > at => Err(QueryError::Timeout(timeout)),
            _ => Ok(()),
        }
    }

    /// Every matching row, source by source.
    fn all(
        &self,
        sources: &[Source<'_>],
        pipeline: &mut Pipeline,
        sink: &mut dyn Sink,
    ) -> Result<(), QueryError> {
        for source in sources {
            self.check_deadline()?;
            let flow = match source {
                Source::Block(block) => {
                    let Some(decoded) = self.open(block) else {
                        continue;
                    };
                    let mut flow = Flow::Continue;
                    for i in 0..decoded.len() {
                        let view = LogRow::of_block(&decoded, i, &block.stream);
                        if self.filter.matches(&view) && pipeline.push(&view, sink) == Flow::Stop {
                            flow = Flow::Stop;
                            break;
                        }
                    }
                    flow
                }
                Source::Tail(part) => {
                    if !self.filter.may_match(&TailCandidate(part)) {
                        continue;
                    }
                    let mut flow = Flow::Continue;
                    for row in &part.rows {
                        let view = LogRow::of_row(row, &part.stream);
                        if self.filter.matches(&view) && pipeline.push(&view, sink) == Flow::Stop {
                            flow = Flow::Stop;
                            break;
                        }
                    }
                    flow
                }
            };
            if flow == Flow::Stop {
                break;
            }
        }
        Ok(())
    }

    /// The newest matching rows into `top`; sources come newest first, so once `top` is
    /// full and a source ends before its oldest row, every later source does too.
    fn newest(
        &self,
        sources: &[Source<'_>],
        pipeline: &mut Pipeline,
        top: &mut TopN,
    ) -> Result<(), QueryError> {
        for source in sources {
            self.check_deadline()?;
            if top.is_full() && source.time_range().1 < top.min_time() {
                break;
            }
            match source {
                Source::Block(block) => {
                    let Some(decoded) = self.open(block) else {
                        continue;
                    };
                    // Rows are sorted by time in a block: walk back from the newest.
                    for i in (0..decoded.len()).rev() {
                        if top.is_full() && decoded.time(i) < top.min_time() {
                            break;
                        }
                        let view = LogRow::of_block(&decoded, i, &block.stream);
                        if self.filter.matches(&view) && pipeline.push(&view, top) == Flow::Stop {
                            return Ok(());
                        }
                    }
                }
                Source::Tail(part) => {
                    if !self.filter.may_match(&TailCandidate(part)) {
                        continue;
                    }
                    // Latest arrivals first, so they win ties of equal timestamps.
                    for row in part.rows.iter().rev() {
                        if top.is_full() && row.time < top.min_time() {
                            continue;
                        }
                        let view = LogRow::of_row(row, &part.stream);
                        if self.filter.matches(&view) && pipeline.push(&view, top) == Flow::Stop {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Decodes a block unless its header and token filters rule it out. A block that cannot
    /// be read is skipped with a warning rather than failing the query.
    fn open(&self, block: &BlockRef) -> Option<crate::store::block::Decoded> {
        let candidate = BlockCandidate {
            block,
            filters: OnceCell::new(),
        };
        if !self.filter.may_match(&candidate) {
            return None;
        }
        match block.read() {
            Ok(decoded) => Some(decoded),
            Err(e) => {
                tracing::warn!(error = %e, stream = %block.stream.text(), "skipping an unreadable log block");
                None
            }
        }
    }
}

/// A sealed block as a pruning candidate; its token filters are read on first use.
struct BlockCandidate<'a> {
    block: &'a BlockRef,
    filters: OnceCell<Option<Vec<u8>>>,
}

impl Candidate for BlockCandidate<'_> {
    fn time_range(&self) -> (i64, i64) {
        (self.block.header.min_time, self.block.header.max_time)
    }

    fn stream(&self) -> Option<&Stream> {
        Some(&self.block.stream)
    }

    fn column(&self, name: &str) -> Column {
        match self.block.header.column(name) {
            Some(c) if c.present > 0 => Column::Present,
            _ => Column::Absent,
        }
    }

    fn may_contain(&self, name: &str, words: &[&str]) -> bool {
        if words.is_empty() {
            return true;
        }
        let Some(column) = self.block.header.column(name) else {
            return false;
        };
        let filters = self.filters.get_or_init(|| self.block.read_filters().ok());
        // Unreadable filters rule nothing out.
        let Some(filters) = filters else { return true };
        let start = column.filter_offset as usize;
        let Some(filter) = filters.get(start..start + column.filter_len as usize) else {
            return true;
        };
        words
            .iter()
            .all(|w| bloom::may_contain(filter, bloom::hash(w)))
    }
}

/// Unsealed rows of one stream: only the time range and stream are known.
struct TailCandidate<'a>(&'a TailPart);

impl Candidate for TailCandidate<'_> {
    fn time_range(&self) -> (i64, i64) {
        (self.0.min_time, self.0.max_time)
    }

    fn stream(&self) -> Option<&Stream> {
        Some(&self.0.stream)
    }

    fn column(&self, _: &str) -> Column {
        Column::Unknown
    }

    fn may_contain(&self, _: &str, _: &[&str]) -> bool {
        true
    }
}

/// The N newest rows seen. Rows come newest first, so among equal timestamps the first
/// seen is the latest written and is kept.
struct TopN {
    limit: usize,
    /// min-heap by time; among equal times the last seen (oldest written) is evicted first
    heap: BinaryHeap<Reverse<(i64, Reverse<u64>, Keep)>>,
    arrivals: u64,
}

/// A kept row; ordering ignores it (the heap orders by time, then by when it was seen).
struct Keep(OwnedRow);

impl PartialEq for Keep {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Keep {}
impl PartialOrd for Keep {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Keep {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl TopN {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::new(),
            arrivals: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.heap.len() >= self.limit
    }

    fn min_time(&self) -> i64 {
        self.heap.peek().map_or(i64::MIN, |Reverse((t, _, _))| *t)
    }

    fn into_ascending(self) -> Vec<OwnedRow> {
        let mut rows: Vec<(i64, u64, OwnedRow)> = self
            .heap
            .into_iter()
            .map(|Reverse((t, Reverse(n), Keep(row)))| (t, n, row))
            .collect();
        // Ascending time; among equal times, in the order they were written (the reverse
        // of the order they were seen).
        rows.sort_by_key(|(t, n, _)| (*t, Reverse(*n)));
        rows.into_iter().map(|(_, _, row)| row).collect()
    }
}

impl Sink for TopN {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        if self.limit == 0 {
            return Flow::Stop;
        }
        let time = row.time().unwrap_or(i64::MIN);
        if self.is_full() {
            if time <= self.min_time() {
                return Flow::Continue;
            }
            self.heap.pop();
        }
        self.arrivals += 1;
        self.heap.push(Reverse((
            time,
            Reverse(self.arrivals),
            Keep(OwnedRow::of(row)),
        )));
        Flow::Continue
    }
}

#[cfg(test)]
mod tests;
