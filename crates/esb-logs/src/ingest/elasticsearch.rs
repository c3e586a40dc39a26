//! `POST /insert/elasticsearch/_bulk`: Elasticsearch bulk requests (an action line, then a
//! document for `create`/`index`), answered as Elasticsearch answers; plus the root document
//! that makes Elasticsearch clients believe they talk to 8.9.0.

use serde_json::{Map, Value, json};

use super::normalize::Normalizer;
use super::{IngestParams, Parsed};

/// The version reported to Elasticsearch clients (shippers check it before sending bulks).
pub const VERSION: &str = "8.9.0";

/// The parse of a bulk body: the rows, and the action of each stored document, in order.
#[derive(Debug, Default)]
pub struct Bulk {
    /// rows and failures
    pub parsed: Parsed,
    /// `create` or `index` per stored document, for the response items
    pub actions: Vec<&'static str>,
}

/// Parses a bulk body. As VictoriaLogs does, parsing stops at the first bad line; the
/// documents before it are kept.
pub fn parse(body: &[u8], params: &IngestParams, now: i64) -> Bulk {
    let mut normalizer = Normalizer::new(params, now);
    let mut bulk = Bulk::default();
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    while let Some(action_line) = lines.next() {
        let action = match action_of(action_line) {
            Ok(action) => action,
            Err(e) => {
                bulk.parsed.entries += 1;
                bulk.parsed.fail(e);
                break;
            }
        };
        match action {
            Action::Store(name) => {
                bulk.parsed.entries += 1;
                let Some(doc) = lines.next() else {
                    bulk.parsed
                        .fail(format!("missing document after the {name:?} action"));
                    break;
                };
                match normalizer.json_line(doc) {
                    Ok(row) => {
                        bulk.parsed.rows.push(row);
                        bulk.actions.push(name);
                    }
                    Err(e) => {
                        bulk.parsed.fail(e.to_string());
                        break;
                    }
                }
            }
            Action::SkipDocument => {
                let _ = lines.next();
            }
            Action::Nothing => {}
        }
    }
    bulk
}

enum Action {
    Store(&'static str),
    /// `update`: its partial document is not a log entry.
    SkipDocument,
    /// `delete`: there is nothing to delete in an append-only log.
    Nothing,
}

fn action_of(line: &[u8]) -> Result<Action, String> {
    let object: Map<String, Value> = serde_json::from_slice(line)
        .map_err(|e| format!("cannot parse the bulk action line: {e}"))?;
    let Some(name) = object.keys().next() else {
        return Err("empty bulk action line".to_owned());
    };
    match name.as_str() {
        "create" => Ok(Action::Store("create")),
        "index" => Ok(Action::Store("index")),
        "update" => Ok(Action::SkipDocument),
        "delete" => Ok(Action::Nothing),
        other => Err(format!("unknown bulk action {other:?}")),
    }
}

/// The bulk response body: one `{"<action>":{"status":201}}` item per stored document.
pub fn response(actions: &[&'static str], took_ms: u64) -> Value {
    let items: Vec<Value> = actions
        .iter()
        .map(|action| json!({ *action: { "status": 201 } }))
        .collect();
    json!({ "took": took_ms, "errors": false, "items": items })
}

/// `GET /insert/elasticsearch/`: the root document of an Elasticsearch node.
pub fn root() -> Value {
    json!({
        "name": "esb-logs",
        "cluster_name": "esb-logs",
        "cluster_uuid": "esb-logs",
        "version": {
            "number": VERSION,
            "build_flavor": "default",
            "build_type": "docker",
            "lucene_version": "9.7.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"
        },
        "tagline": "You Know, for Search"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_documents() {
        let body = b"{\"create\":{}}\n{\"_msg\":\"a\"}\n{\"index\":{\"_index\":\"x\"}}\n{\"_msg\":\"b\",\"@timestamp\":\"2026-01-01T00:00:00Z\"}\n{\"delete\":{}}\n{\"update\":{}}\n{\"doc\":{}}\n";
        let bulk = parse(body, &IngestParams::default(), 5);
        assert_eq!(bulk.actions, ["create", "index"]);
        assert_eq!(bulk.parsed.rows.len(), 2);
        // @timestamp is an ordinary field unless _time_field says otherwise.
        assert_eq!(bulk.parsed.rows.get(1).map(|r| r.time), Some(5));
        let response = response(&bulk.actions, 3);
        assert_eq!(response["items"][1]["index"]["status"], 201);
        assert_eq!(response["errors"], false);
    }

    #[test]
    fn parsing_stops_at_the_first_bad_line() {
        let body = b"{\"create\":{}}\n{\"_msg\":\"a\"}\n{\"create\":{}}\nbad\n{\"create\":{}}\n{\"_msg\":\"c\"}\n";
        let bulk = parse(body, &IngestParams::default(), 5);
        assert_eq!(bulk.parsed.rows.len(), 1);
        assert_eq!(bulk.parsed.errors, 1);
        let missing = parse(b"{\"create\":{}}", &IngestParams::default(), 5);
        assert!(missing.parsed.all_failed());
        assert!(
            parse(b"{\"frobnicate\":{}}\n{}", &IngestParams::default(), 5)
                .parsed
                .all_failed()
        );
    }
}
