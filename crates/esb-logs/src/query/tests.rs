//! Queries over a real store: the same answers from the in-memory tail and from sealed
//! blocks (so pruning never loses a row), newest-N order, limits, time arguments.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::logsql;
use crate::row::Row;
use crate::store::{Durability, StoreConfig};
use crate::timeutil::{self, SECOND};

struct Collect(Vec<OwnedRow>);

impl Sink for Collect {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        self.0.push(OwnedRow::of(row));
        Flow::Continue
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        checkpoint_interval: Duration::from_secs(3600),
        carry_age: Duration::from_secs(3600),
        seal_bytes: 4096,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    (dir, store)
}

/// 600 rows over 3 functions, one every 100 ms ending now.
fn load(store: &Store) -> i64 {
    let now = timeutil::now_ns();
    let rows: Vec<Row> = (0..600)
        .map(|i| {
            let function = format!("fn-{}", i % 3);
            let stream = Arc::new(crate::row::Stream::new([
                ("container_name".to_owned(), function.clone()),
                ("job".to_owned(), "lambda".to_owned()),
            ]));
            let level = ["INFO", "INFO", "WARN", "ERROR"][i % 4];
            let mut fields = vec![
                (
                    "_msg",
                    format!("[{level}] request {i} handled in {} ms", i % 50),
                ),
                ("container_name", function),
                ("job", "lambda".to_owned()),
                ("level", level.to_owned()),
                (
                    "trace_id",
                    format!("Root=1-{:08x}-{:024x};Sampled=1", i / 10, i),
                ),
            ];
            if i % 5 == 0 {
                fields.push(("cold", "true".to_owned()));
            }
            Row::new(now - (600 - i as i64) * SECOND / 10, stream, fields)
        })
        .collect();
    store.append(rows, Durability::Written).unwrap();
    now
}

fn answer(store: &Store, query: &str, options: &Options) -> Vec<Vec<(String, String)>> {
    let q = logsql::parse(query, timeutil::now_ns()).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Collect(Vec::new());
    run(store, &q, options, &mut sink).unwrap();
    // Field order is not part of the answer (clients parse JSON objects).
    let mut rows: Vec<Vec<(String, String)>> = sink
        .0
        .into_iter()
        .map(|r| {
            let mut fields = r.fields;
            fields.sort();
            fields
        })
        .collect();
    if !q.reorders() && options.newest.is_none() {
        rows.sort();
    }
    rows
}

const QUERIES: &[&str] = &[
    "*",
    "error",
    "ERROR",
    "request",
    "\"request 42 handled\"",
    "handl*",
    "level:ERROR",
    "level:=WARN",
    "level:in(WARN, ERROR)",
    "-level:INFO",
    "cold:*",
    "cold:\"\"",
    "nope:\"\"",
    "nope:*",
    "trace_id:\"Root=1-0000002a\"",
    "trace_id:\"Root=1-0000002a-000000000000000000000000\"",
    "trace_id:\"Root=1-0000003b-00000000000000000000024f\"",
    "{container_name=\"fn-1\"} ERROR",
    "{container_name=~\"fn-[02]\"} _msg:~\"in 4[0-9] ms\"",
    "i(error) OR cold:true",
    "_time:1h",
    "=\"[INFO] request 1\"*",
    "* | stats by (level) count() n",
    "* | stats by (container_name, level) count() n, count_uniq(trace_id) t",
    "ERROR | sort by (_time desc) limit 5 | fields _msg",
    "* | uniq by (level)",
];

#[test]
fn blocks_answer_exactly_like_the_tail() {
    let (_dir, store) = store();
    load(&store);
    let before: Vec<_> = QUERIES
        .iter()
        .map(|q| answer(&store, q, &Options::default()))
        .collect();
    store.flush().unwrap();
    assert!(
        store
            .snapshot(i64::MIN, i64::MAX, &|_| true)
            .tail
            .is_empty()
    );
    assert!(store.snapshot(i64::MIN, i64::MAX, &|_| true).blocks.len() > 3);
    for (query, expected) in QUERIES.iter().zip(before) {
        let got = answer(&store, query, &Options::default());
        assert_eq!(got.len(), expected.len(), "{query}");
        let differing = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert!(differing.is_none(), "{query}: row {differing:?} differs");
    }
    assert_eq!(answer(&store, "*", &Options::default()).len(), 600);
    assert_eq!(
        answer(&store, "trace_id:\"Root=1-0000002a\"", &Options::default()).len(),
        10
    );
}

#[test]
fn newest_rows_come_back_ascending() {
    let (_dir, store) = store();
    load(&store);
    store.flush().unwrap();
    load(&store); // a second round stays in the tail, newer than the blocks
    let options = Options {
        newest: Some(5),
        ..Options::default()
    };
    let rows = answer(
        &store,
        "{container_name=\"fn-2\"} | fields _time, _msg",
        &options,
    );
    assert_eq!(rows.len(), 5);
    let field = |row: &Vec<(String, String)>, name: &str| {
        row.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let times: Vec<String> = rows.iter().map(|r| field(r, "_time")).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let last = field(&rows[4], "_msg");
    assert!(last.contains("request 599"), "{last}");
    // With a reordering pipe, limit is a trailing | limit N.
    let limited = answer(&store, "* | sort by (_msg)", &options);
    assert_eq!(limited.len(), 5);
    assert!(field(&limited[0], "_msg").starts_with("[ERROR] request 3 "));
}

#[test]
fn start_and_end_bound_the_rows() {
    let (_dir, store) = store();
    let now = load(&store);
    let options = Options {
        start: Some(now - 10 * SECOND),
        end: Some(now - 5 * SECOND),
        ..Options::default()
    };
    let rows = answer(&store, "*", &options);
    assert_eq!(rows.len(), 51);
    let past = Options {
        deadline: Some((
            Instant::now() - Duration::from_secs(1),
            Duration::from_secs(1),
        )),
        ..Options::default()
    };
    let q = logsql::parse("*", now).unwrap();
    assert!(matches!(
        run(&store, &q, &past, &mut Collect(Vec::new())),
        Err(QueryError::Timeout(_))
    ));
}
