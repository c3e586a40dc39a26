//! `POST /insert/loki/api/v1/push` in Loki's JSON form: the labels of each stream become the
//! stream fields (unless `_stream_fields` says otherwise), each value is
//! `["<unix ns>", "<line>", {structured metadata}?]`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::normalize::{Normalizer, flatten_object};
use super::{IngestParams, Parsed};
use crate::row::MSG;

#[derive(Deserialize)]
struct Push {
    #[serde(default)]
    streams: Vec<LokiStream>,
}

#[derive(Deserialize)]
struct LokiStream {
    #[serde(default)]
    stream: Map<String, Value>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

/// Parses a Loki JSON push body. A body that is not Loki JSON fails as a whole.
pub fn parse(body: &[u8], params: &IngestParams, now: i64) -> Result<Parsed, String> {
    let push: Push = serde_json::from_slice(body)
        .map_err(|e| format!("cannot parse Loki JSON push request: {e}"))?;
    let mut normalizer = Normalizer::new(params, now);
    let mut parsed = Parsed::default();
    for stream in push.streams {
        let mut labels = Vec::new();
        flatten_object(&mut String::new(), stream.stream, &mut labels);
        let label_names: Vec<String> = labels.iter().map(|(n, _)| n.clone()).collect();
        for value in stream.values {
            parsed.entries += 1;
            match entry(&mut normalizer, &labels, &label_names, value, now) {
                Ok(row) => parsed.rows.push(row),
                Err(e) => parsed.fail(e),
            }
        }
    }
    Ok(parsed)
}

fn entry(
    normalizer: &mut Normalizer<'_>,
    labels: &[(String, String)],
    label_names: &[String],
    value: Vec<Value>,
    now: i64,
) -> Result<crate::row::Row, String> {
    let mut parts = value.into_iter();
    let time = match parts.next() {
        Some(Value::String(ts)) => parse_ns(&ts, now)?,
        _ => return Err("a Loki entry must start with a timestamp string".to_owned()),
    };
    let line = match parts.next() {
        Some(Value::String(line)) => line,
        _ => return Err("a Loki entry needs a log line string".to_owned()),
    };
    let mut fields = labels.to_vec();
    match parts.next() {
        Some(Value::Object(metadata)) => flatten_object(&mut String::new(), metadata, &mut fields),
        Some(Value::Null) | None => {}
        Some(_) => return Err("Loki structured metadata must be an object".to_owned()),
    }
    fields.push((MSG.to_owned(), line));
    let mut row = normalizer
        .fields(fields, label_names)
        .map_err(|e| e.to_string())?;
    row.time = time;
    Ok(row)
}

/// Loki timestamps are Unix nanoseconds; `"0"` or empty means now.
fn parse_ns(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return Ok(now);
    }
    text.parse::<i64>()
        .map_err(|_| format!("cannot parse Loki timestamp {text:?}: expected Unix nanoseconds"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_become_the_stream() {
        let body = br#"{"streams":[{"stream":{"instance":"host123","job":"app42"},"values":[["0","foo fizzbuzz bar"],["1700000000000000001","x",{"trace_id":"t1"}]]}]}"#;
        let parsed = parse(body, &IngestParams::default(), 9).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        let first = parsed.rows.first().unwrap();
        assert_eq!(first.time, 9);
        assert_eq!(first.stream.text(), r#"{instance="host123",job="app42"}"#);
        assert_eq!(first.field("_msg"), Some("foo fizzbuzz bar"));
        let second = parsed.rows.get(1).unwrap();
        assert_eq!(second.time, 1_700_000_000_000_000_001);
        assert_eq!(second.field("trace_id"), Some("t1"));
    }

    #[test]
    fn stream_fields_override_the_labels() {
        let params = IngestParams {
            stream_fields: Some(vec!["instance".into()]),
            ..IngestParams::default()
        };
        let body = br#"{"streams":[{"stream":{"instance":"h","ip":"foo"},"values":[["0","l"]]}]}"#;
        let parsed = parse(body, &params, 9).unwrap();
        let row = parsed.rows.first().unwrap();
        assert_eq!(row.stream.text(), r#"{instance="h"}"#);
        assert_eq!(row.field("ip"), Some("foo"));
    }

    #[test]
    fn bad_entries_and_bodies() {
        let body =
            br#"{"streams":[{"stream":{},"values":[["soon","l"],[1,"l"],["0"],["0","ok"]]}]}"#;
        let parsed = parse(body, &IngestParams::default(), 9).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.errors, 3);
        assert!(parse(b"not json", &IngestParams::default(), 9).is_err());
    }
}
