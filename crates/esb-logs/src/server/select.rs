//! The query endpoints under `/select/logsql/`: `query` (streamed JSON lines), `hits`, and
//! the field, value and stream listings. Arguments come from the query string or a form
//! body; every query runs on a blocking thread under the `timeout` (at most the server's
//! limit).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use super::Service;
use super::args::Args;
use super::lines::JsonLines;
use super::response::{self, Body};
use crate::logsql::pipeline::{Flow, Sink};
use crate::logsql::view::RowView;
use crate::logsql::{self, Query};
use crate::query::{self, Options};
use crate::row::{STREAM, STREAM_ID};
use crate::store::Store;
use crate::timeutil;

/// A parsed request: the query and how to run it.
pub(super) struct Request {
    pub query: Query,
    pub options: Options,
}

/// Reads `query`, `start`, `end` and `timeout`.
pub(super) fn request(service: &Service, args: &Args) -> Result<Request, String> {
    let now = timeutil::now_ns();
    let text = args.get("query").ok_or("missing `query` arg")?;
    let query = logsql::parse(text, now).map_err(|e| e.to_string())?;
    let time = |name: &str, is_end| -> Result<Option<i64>, String> {
        match args.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => timeutil::parse_time_arg(v, now, is_end)
                .map(Some)
                .ok_or_else(|| format!("cannot parse {name}={v:?}: expected RFC3339, a Unix timestamp or a duration such as 5m")),
        }
    };
    let start = time("start", false)?;
    let end = time("end", true)?;
    let limit = service.config.max_query_duration;
    let timeout = match args.get("timeout").filter(|v| !v.is_empty()) {
        None => limit,
        Some(v) => {
            let ns = timeutil::parse_duration(v)
                .filter(|d| *d > 0)
                .ok_or_else(|| format!("cannot parse timeout={v:?}"))?;
            Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)).min(limit)
        }
    };
    Ok(Request {
        query,
        options: Options {
            start,
            end,
            deadline: Some((Instant::now() + timeout, timeout)),
            newest: None,
        },
    })
}

/// `/select/logsql/query`: rows as JSON lines. `limit=N` returns the newest N rows in
/// ascending time order, unless a pipe reorders rows (then it is a trailing `| limit N`).
pub(super) async fn query(service: &Service, args: &Args) -> Response<Body> {
    let mut request = match request(service, args) {
        Ok(request) => request,
        Err(e) => return response::bad_request(e),
    };
    match args
        .get("limit")
        .filter(|v| !v.is_empty())
        .map(str::parse::<usize>)
    {
        None | Some(Ok(0)) => {}
        Some(Ok(n)) => request.options.newest = Some(n),
        Some(Err(_)) => {
            return response::bad_request("cannot parse `limit` arg: expected a number");
        }
    }
    let (tx, mut rx) = mpsc::channel(8);
    let store = Arc::clone(&service.store);
    tokio::task::spawn_blocking(move || {
        let mut sink = JsonLines::streaming(tx.clone());
        let result = query::run(&store, &request.query, &request.options, &mut sink);
        if sink.flush()
            && let Err(e) = result
        {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    // Wait for the first chunk: a query failing before any output still gets its 400.
    match rx.recv().await {
        None => response::full(StatusCode::OK, "application/stream+json", Bytes::new()),
        Some(Err(e)) => response::bad_request(e),
        Some(Ok(first)) => response::streamed("application/stream+json", Some(first), rx),
    }
}

/// Runs a query to the end into `sink` on a blocking thread.
async fn collect<S: Sink + Send + 'static>(
    store: &Arc<Store>,
    request: Request,
    mut sink: S,
) -> Result<S, String> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        query::run(&store, &request.query, &request.options, &mut sink)
            .map(|_| sink)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// `/select/logsql/hits`: row counts per `step` bucket (shifted by `offset`), per value
/// combination of the `field` args.
pub(super) async fn hits(service: &Service, args: &Args) -> Response<Body> {
    let request = match request(service, args) {
        Ok(request) => request,
        Err(e) => return response::bad_request(e),
    };
    let duration = |name: &str, default: i64| -> Result<i64, String> {
        match args.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => {
                timeutil::parse_duration(v).ok_or_else(|| format!("cannot parse {name}={v:?}"))
            }
        }
    };
    let step = match duration("step", timeutil::DAY) {
        Ok(step) if step > 0 => step,
        Ok(_) => return response::bad_request("step must be positive"),
        Err(e) => return response::bad_request(e),
    };
    let offset = match duration("offset", 0) {
        Ok(offset) => offset,
        Err(e) => return response::bad_request(e),
    };
    let fields_limit = args
        .get("fields_limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0);
    let sink = Hits {
        fields: args.all("field").map(str::to_owned).collect(),
        step,
        offset,
        groups: HashMap::new(),
    };
    let hits = match collect(&service.store, request, sink).await {
        Ok(hits) => hits,
        Err(e) => return response::bad_request(e),
    };
    let mut groups: Vec<(Vec<String>, BTreeMap<i64, u64>)> = hits.groups.into_iter().collect();
    groups.sort_by_key(|(key, buckets)| {
        (
            std::cmp::Reverse(buckets.values().sum::<u64>()),
            key.clone(),
        )
    });
    if let Some(limit) = fields_limit {
        groups.truncate(limit);
    }
    let list: Vec<serde_json::Value> = groups
        .into_iter()
        .map(|(key, buckets)| {
            let fields: serde_json::Map<String, serde_json::Value> = hits
                .fields
                .iter()
                .zip(key)
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect();
            let total: u64 = buckets.values().sum();
            json!({
                "fields": fields,
                "timestamps": buckets.keys().map(|t| timeutil::format_rfc3339(*t)).collect::<Vec<_>>(),
                "values": buckets.values().collect::<Vec<_>>(),
                "total": total,
            })
        })
        .collect();
    response::json(StatusCode::OK, &json!({ "hits": list }))
}

struct Hits {
    fields: Vec<String>,
    step: i64,
    offset: i64,
    groups: HashMap<Vec<String>, BTreeMap<i64, u64>>,
}

impl Sink for Hits {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        let Some(time) = row.time() else {
            return Flow::Continue;
        };
        let bucket = (time - self.offset).div_euclid(self.step) * self.step + self.offset;
        let key = self
            .fields
            .iter()
            .map(|f| row.get(f).map(|v| v.into_owned()).unwrap_or_default())
            .collect();
        *self
            .groups
            .entry(key)
            .or_default()
            .entry(bucket)
            .or_default() += 1;
        Flow::Continue
    }
}

/// Which listing a `values` endpoint gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Listing {
    /// `field_names`: every field name with the rows having it
    FieldNames,
    /// `field_values`: the values of `field`
    FieldValues,
    /// `streams`: `_stream` values
    Streams,
    /// `stream_ids`: `_stream_id` values
    StreamIds,
    /// `stream_field_names`: names of stream fields
    StreamFieldNames,
    /// `stream_field_values`: values of the stream field `field`
    StreamFieldValues,
}

/// The listings: `{"values":[{"value":"…","hits":N},…]}`, most hits first (names in name
/// order). At `limit`, the list is cut and hits are zeroed, as VictoriaLogs does.
pub(super) async fn values(service: &Service, args: &Args, listing: Listing) -> Response<Body> {
    let request = match request(service, args) {
        Ok(request) => request,
        Err(e) => return response::bad_request(e),
    };
    let field = args.get("field").unwrap_or("").to_owned();
    if matches!(listing, Listing::FieldValues | Listing::StreamFieldValues) && field.is_empty() {
        return response::bad_request("missing `field` arg");
    }
    let limit = match args
        .get("limit")
        .filter(|v| !v.is_empty())
        .map(str::parse::<usize>)
    {
        None => None,
        Some(Ok(0)) => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return response::bad_request("cannot parse `limit` arg: expected a number");
        }
    };
    let sink = Counts {
        listing,
        field,
        counts: HashMap::new(),
    };
    let counts = match collect(&service.store, request, sink).await {
        Ok(counts) => counts.counts,
        Err(e) => return response::bad_request(e),
    };
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    match listing {
        Listing::FieldNames | Listing::StreamFieldNames => list.sort(),
        _ => list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))),
    }
    if let Some(limit) = limit
        && list.len() > limit
    {
        list.truncate(limit);
        for (_, hits) in &mut list {
            *hits = 0;
        }
    }
    let values: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(value, hits)| json!({ "value": value, "hits": hits }))
        .collect();
    response::json(StatusCode::OK, &json!({ "values": values }))
}

struct Counts {
    listing: Listing,
    field: String,
    counts: HashMap<String, u64>,
}

impl Counts {
    fn count(&mut self, value: &str) {
        match self.counts.get_mut(value) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(value.to_owned(), 1);
            }
        }
    }
}

impl Sink for Counts {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        match self.listing {
            Listing::FieldNames => {
                let mut names = Vec::new();
                row.visit(&mut |name, _| names.push(name.to_owned()));
                for name in names {
                    self.count(&name);
                }
            }
            Listing::FieldValues => {
                let value = row
                    .get(&self.field)
                    .map(|v| v.into_owned())
                    .unwrap_or_default();
                self.count(&value);
            }
            Listing::Streams | Listing::StreamIds => {
                let name = if self.listing == Listing::Streams {
                    STREAM
                } else {
                    STREAM_ID
                };
                if let Some(value) = row.get(name).map(|v| v.into_owned()) {
                    self.count(&value);
                }
            }
            Listing::StreamFieldNames => {
                if let Some(stream) = row.stream().cloned() {
                    for name in stream.names() {
                        self.count(name);
                    }
                }
            }
            Listing::StreamFieldValues => {
                if let Some(stream) = row.stream().cloned() {
                    self.count(stream.get(&self.field).unwrap_or(""));
                }
            }
        }
        Flow::Continue
    }
}
