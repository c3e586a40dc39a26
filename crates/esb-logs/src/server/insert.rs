//! The insert endpoints: `/insert/jsonline`, `/insert/elasticsearch/_bulk` (and the
//! Elasticsearch pose shippers probe before sending), `/insert/loki/api/v1/push`. The body
//! is decoded and parsed on a blocking thread, then appended; the answer waits for the WAL
//! write (or its `fdatasync` with `durability=sync`).

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, request::Parts};

use super::Service;
use super::args::Args;
use super::response::{self, Body};
use crate::ingest::{self, IngestParams, Parsed, body::BodyError};
use crate::store::{Durability, StoreError};
use crate::timeutil;

/// The ingestion formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    JsonLine,
    Bulk,
    Loki,
}

const ELASTIC_PRODUCT: &str = "X-Elastic-Product";

pub(super) async fn insert(
    service: &Service,
    parts: &Parts,
    body: Bytes,
    format: Format,
) -> Response<Body> {
    if parts.method != Method::POST {
        return response::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "unsupported method; use POST",
        );
    }
    let args = Args::from_query(parts.uri.query());
    let params = match IngestParams::resolve(|n| args.get(n), |h| header(&parts.headers, h)) {
        Ok(params) => params,
        Err(e) => return response::bad_request(e),
    };
    if format == Format::Loki
        && header(&parts.headers, "content-type").is_some_and(|ct| ct.contains("protobuf"))
    {
        return response::bad_request(
            "Loki protobuf pushes are not supported yet; send Loki JSON (Content-Type: application/json)",
        );
    }
    let durability = if args.get("durability") == Some("sync") {
        Durability::Synced
    } else {
        Durability::Written
    };
    let encoding = header(&parts.headers, "content-encoding").map(str::to_owned);
    let store = std::sync::Arc::clone(&service.store);
    let limit = service.config.max_request_bytes;
    let started = Instant::now();
    let job = tokio::task::spawn_blocking(move || -> Result<Stored, Refusal> {
        let body = ingest::body::decode(encoding.as_deref(), body.to_vec(), limit).map_err(
            |e| match e {
                BodyError::TooLarge(_) => Refusal::TooLarge(e.to_string()),
                other => Refusal::Bad(other.to_string()),
            },
        )?;
        let now = timeutil::now_ns();
        let (parsed, actions) = match format {
            Format::JsonLine => (ingest::jsonline::parse(&body, &params, now), Vec::new()),
            Format::Bulk => {
                let bulk = ingest::elasticsearch::parse(&body, &params, now);
                (bulk.parsed, bulk.actions)
            }
            Format::Loki => (
                ingest::loki::parse(&body, &params, now).map_err(Refusal::Bad)?,
                Vec::new(),
            ),
        };
        let Parsed {
            rows,
            entries,
            errors,
            first_error,
        } = parsed;
        if errors > 0 {
            tracing::warn!(
                entries,
                errors,
                first_error = first_error.as_deref().unwrap_or(""),
                "skipped bad log entries"
            );
        }
        if entries > 0 && errors >= entries {
            return Err(Refusal::Bad(first_error.unwrap_or_default()));
        }
        if params.debug {
            for row in &rows {
                tracing::info!(time = %timeutil::format_rfc3339(row.time), stream = %row.stream.text(), fields = ?row.fields().collect::<Vec<_>>(), "debug=1: not stored");
            }
        } else {
            store.append(rows, durability).map_err(Refusal::Store)?;
        }
        // Elasticsearch bulk stops at its first bad line and reports it, as VictoriaLogs does.
        let bulk_error =
            (format == Format::Bulk && errors > 0).then(|| first_error.unwrap_or_default());
        Ok(Stored {
            actions,
            bulk_error,
        })
    });
    let stored = match job.await {
        Ok(Ok(stored)) => stored,
        Ok(Err(refusal)) => return refusal.response(),
        Err(e) => {
            return response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("ingestion failed: {e}"),
            );
        }
    };
    match format {
        Format::JsonLine => response::empty(StatusCode::OK),
        Format::Loki => response::empty(StatusCode::NO_CONTENT),
        Format::Bulk => {
            if let Some(error) = stored.bulk_error {
                return elastic(response::bad_request(error));
            }
            let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            elastic(response::json(
                StatusCode::OK,
                &ingest::elasticsearch::response(&stored.actions, took),
            ))
        }
    }
}

struct Stored {
    actions: Vec<&'static str>,
    bulk_error: Option<String>,
}

/// Why an insert was refused; the one mapping to statuses.
enum Refusal {
    /// The body is larger than the limit, compressed or decoded.
    TooLarge(String),
    /// The request is malformed, or every entry in it is.
    Bad(String),
    /// The store could not take the rows (disk full, closed): nothing was stored.
    Store(StoreError),
}

impl Refusal {
    fn response(self) -> Response<Body> {
        match self {
            Refusal::TooLarge(message) => response::text(StatusCode::PAYLOAD_TOO_LARGE, message),
            Refusal::Bad(message) => response::bad_request(message),
            Refusal::Store(e) => {
                tracing::error!(error = %e, "cannot store log rows");
                response::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot store the rows: {e}"),
                )
            }
        }
    }
}

/// Everything under `/insert/elasticsearch/` but `_bulk`: the root document, and empty
/// answers to the template, ILM, pipeline, node and license calls shippers make.
pub(super) fn elasticsearch_pose(parts: &Parts) -> Response<Body> {
    let path = parts.uri.path().trim_end_matches('/');
    if path == "/insert/elasticsearch" {
        return elastic(response::json(
            StatusCode::OK,
            &ingest::elasticsearch::root(),
        ));
    }
    elastic(response::json(StatusCode::OK, &serde_json::json!({})))
}

fn elastic(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(ELASTIC_PRODUCT, HeaderValue::from_static("Elasticsearch"));
    response
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
