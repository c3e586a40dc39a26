//! Running pipes over rows: each row flows through the stages in order; `fields`,
//! `delete`, `filter`, `limit` and `offset` pass rows on as they come (a reached `limit`
//! stops the scan), while `sort`, `stats` and `uniq` keep what they need and emit when the
//! input ends.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::filter::Filter;
use super::natural;
use super::pipe::{Pipe, SortSpec};
use super::stats::Stats;
use super::view::{OwnedRow, Projection, RowView};
use crate::row::TIME;

/// Whether the producer should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Send more rows.
    Continue,
    /// Nothing more is wanted (a limit was reached, or the client left).
    Stop,
}

/// Where rows end up.
pub trait Sink {
    /// Takes one row.
    fn push(&mut self, row: &dyn RowView) -> Flow;
}

#[derive(Debug)]
enum Stage {
    Keep(Vec<String>),
    Drop(Vec<String>),
    Filter(Filter),
    Limit {
        n: usize,
        seen: usize,
    },
    Offset {
        n: usize,
        skipped: usize,
    },
    Sort {
        spec: SortSpec,
        rows: Vec<OwnedRow>,
    },
    Stats(Stats),
    Uniq {
        by: Vec<String>,
        limit: Option<usize>,
        seen: HashSet<Vec<String>>,
        order: Vec<Vec<String>>,
    },
}

/// The stages of a query's pipes.
#[derive(Debug)]
pub struct Pipeline {
    stages: Vec<Stage>,
}

impl Pipeline {
    /// Stages for `pipes`.
    pub fn new(pipes: &[Pipe]) -> Self {
        let stages = pipes
            .iter()
            .map(|pipe| match pipe {
                Pipe::Fields(f) => Stage::Keep(f.clone()),
                Pipe::Delete(f) => Stage::Drop(f.clone()),
                Pipe::Filter(f) => Stage::Filter(f.clone()),
                Pipe::Limit(n) => Stage::Limit { n: *n, seen: 0 },
                Pipe::Offset(n) => Stage::Offset { n: *n, skipped: 0 },
                Pipe::Sort(spec) => Stage::Sort {
                    spec: spec.clone(),
                    rows: Vec::new(),
                },
                Pipe::Stats(spec) => Stage::Stats(Stats::new(spec.clone())),
                Pipe::Uniq { by, limit } => Stage::Uniq {
                    by: by.clone(),
                    limit: *limit,
                    seen: HashSet::new(),
                    order: Vec::new(),
                },
            })
            .collect();
        Self { stages }
    }

    /// Sends a row through.
    pub fn push(&mut self, row: &dyn RowView, sink: &mut dyn Sink) -> Flow {
        push_at(&mut self.stages, row, sink)
    }

    /// Ends the input: buffering stages emit their rows.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        finish_at(&mut self.stages, sink);
    }
}

fn push_at(stages: &mut [Stage], row: &dyn RowView, sink: &mut dyn Sink) -> Flow {
    let Some((stage, rest)) = stages.split_first_mut() else {
        return sink.push(row);
    };
    match stage {
        Stage::Keep(patterns) => push_at(
            rest,
            &Projection {
                inner: row,
                patterns,
                keep: true,
            },
            sink,
        ),
        Stage::Drop(patterns) => push_at(
            rest,
            &Projection {
                inner: row,
                patterns,
                keep: false,
            },
            sink,
        ),
        Stage::Filter(filter) => {
            if filter.matches(row) {
                push_at(rest, row, sink)
            } else {
                Flow::Continue
            }
        }
        Stage::Limit { n, seen } => {
            if *seen >= *n {
                return Flow::Stop;
            }
            *seen += 1;
            let flow = push_at(rest, row, sink);
            if *seen >= *n { Flow::Stop } else { flow }
        }
        Stage::Offset { n, skipped } => {
            if *skipped < *n {
                *skipped += 1;
                Flow::Continue
            } else {
                push_at(rest, row, sink)
            }
        }
        Stage::Sort { rows, .. } => {
            rows.push(OwnedRow::of(row));
            Flow::Continue
        }
        Stage::Stats(stats) => {
            stats.add(row);
            Flow::Continue
        }
        Stage::Uniq {
            by,
            limit,
            seen,
            order,
        } => {
            let key: Vec<String> = by
                .iter()
                .map(|f| row.get(f).map(|v| v.into_owned()).unwrap_or_default())
                .collect();
            if !seen.contains(&key) {
                seen.insert(key.clone());
                order.push(key);
            }
            if limit.is_some_and(|l| order.len() >= l) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        }
    }
}

fn finish_at(stages: &mut [Stage], sink: &mut dyn Sink) {
    let Some((stage, rest)) = stages.split_first_mut() else {
        return;
    };
    let emitted = match stage {
        Stage::Sort { spec, rows } => sorted(spec, std::mem::take(rows)),
        Stage::Stats(stats) => stats.rows(),
        Stage::Uniq {
            by, order, limit, ..
        } => std::mem::take(order)
            .into_iter()
            .take(limit.unwrap_or(usize::MAX))
            .map(|values| OwnedRow {
                time: None,
                stream: None,
                fields: by.iter().cloned().zip(values).collect(),
            })
            .collect(),
        _ => Vec::new(),
    };
    for row in &emitted {
        if push_at(rest, row, sink) == Flow::Stop {
            break;
        }
    }
    finish_at(rest, sink);
}

fn sorted(spec: &SortSpec, mut rows: Vec<OwnedRow>) -> Vec<OwnedRow> {
    rows.sort_by(|a, b| {
        let order = compare(spec, a, b);
        if spec.desc { order.reverse() } else { order }
    });
    rows.into_iter()
        .skip(spec.offset)
        .take(spec.limit.unwrap_or(usize::MAX))
        .collect()
}

fn compare(spec: &SortSpec, a: &OwnedRow, b: &OwnedRow) -> Ordering {
    for key in &spec.keys {
        // `_time` as text loses order (trailing zeros are trimmed): compare the instants.
        let order = match (key.field == TIME, a.time, b.time) {
            (true, Some(x), Some(y)) => x.cmp(&y),
            _ => natural::compare(
                a.get(&key.field).as_deref().unwrap_or(""),
                b.get(&key.field).as_deref().unwrap_or(""),
            ),
        };
        let order = if key.desc { order.reverse() } else { order };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}
