//! One ingested entry → one [`Row`]: nested JSON flattened with `.`, every value a string,
//! `ignore_fields`/`extra_fields` applied, the timestamp and message taken from their
//! fields, empty values dropped, the stream built from the stream fields. The rules are
//! VictoriaLogs' (design note §3).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::params::IngestParams;
use crate::row::{MSG, Row, STREAM, STREAM_ID, Stream, TIME};
use crate::timeutil;

/// Longest accepted line (VictoriaLogs' `-insert.maxLineSizeBytes`).
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// Most fields in one row (VictoriaLogs' `-insert.maxFieldsPerLine`).
pub const MAX_FIELDS: usize = 1000;
/// Longest field name; longer names are dropped.
pub const MAX_FIELD_NAME_BYTES: usize = 128;
/// `_msg` of a row that has none (VictoriaLogs' `-defaultMsgValue`).
pub const MISSING_MSG: &str = "missing _msg field; see https://docs.victoriametrics.com/victorialogs/keyconcepts/#message-field";

/// Why one entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("line of {0} bytes exceeds the limit of {MAX_LINE_BYTES} bytes")]
    TooLong(usize),
    /// Not a JSON object.
    #[error("cannot parse JSON object: {0}")]
    Json(String),
    /// More than [`MAX_FIELDS`] fields.
    #[error("{0} fields exceed the limit of {MAX_FIELDS} fields per row")]
    TooManyFields(usize),
    /// The timestamp field holds something that is not a time.
    #[error("{0}")]
    BadTime(#[from] timeutil::BadTimestamp),
}

/// Builds rows for one request: the parameters, the request's "now", and a cache of the
/// streams seen so far (a request usually carries few).
#[derive(Debug)]
pub struct Normalizer<'p> {
    params: &'p IngestParams,
    now: i64,
    streams: HashMap<Vec<(String, String)>, Arc<Stream>>,
}

impl<'p> Normalizer<'p> {
    /// A normalizer for one request received at `now` (ns).
    pub fn new(params: &'p IngestParams, now: i64) -> Self {
        Self {
            params,
            now,
            streams: HashMap::new(),
        }
    }

    /// A row from one NDJSON line.
    pub fn json_line(&mut self, line: &[u8]) -> Result<Row, EntryError> {
        if line.len() > MAX_LINE_BYTES {
            return Err(EntryError::TooLong(line.len()));
        }
        let object: Map<String, Value> =
            serde_json::from_slice(line).map_err(|e| EntryError::Json(e.to_string()))?;
        self.object(object, &[])
    }

    /// A row from a JSON object; `default_stream` names the stream fields unless
    /// `_stream_fields` is given.
    pub fn object(
        &mut self,
        object: Map<String, Value>,
        default_stream: &[String],
    ) -> Result<Row, EntryError> {
        let mut fields = Vec::with_capacity(object.len());
        let mut prefix = String::new();
        flatten_object(&mut prefix, object, &mut fields);
        self.fields(fields, default_stream)
    }

    /// A row from flat fields; `default_stream` as in [`Normalizer::object`].
    pub fn fields(
        &mut self,
        mut fields: Vec<(String, String)>,
        default_stream: &[String],
    ) -> Result<Row, EntryError> {
        let params = self.params;
        if !params.ignore_fields.is_empty() {
            fields.retain(|(name, _)| !params.ignored(name));
        }
        for (name, value) in &params.extra_fields {
            fields.retain(|(n, _)| n != name);
            fields.push((name.clone(), value.clone()));
        }
        let mut time = None;
        for time_field in &params.time_fields {
            if let Some((_, value)) = fields
                .iter()
                .find(|(n, v)| n == time_field && !v.is_empty())
            {
                time = Some(timeutil::parse_ingest_time(value, self.now)?);
                break;
            }
        }
        fields.retain(|(n, _)| !params.time_fields.contains(n));
        if let Some(message) = take_message(&mut fields, &params.msg_fields) {
            fields.retain(|(n, _)| n != MSG);
            fields.push((MSG.to_owned(), message));
        }
        fields.retain(|(name, value)| {
            !value.is_empty()
                && name.len() <= MAX_FIELD_NAME_BYTES
                && !name.is_empty()
                && name != TIME
                && name != STREAM
                && name != STREAM_ID
        });
        dedup_last_wins(&mut fields);
        if !params.decolorize_fields.is_empty() {
            for (name, value) in &mut fields {
                if params.decolorized(name) {
                    *value = decolorize(value);
                }
            }
            fields.retain(|(_, value)| !value.is_empty());
        }
        if !fields.iter().any(|(n, _)| n == MSG) {
            fields.push((MSG.to_owned(), MISSING_MSG.to_owned()));
        }
        // Sorted by name, as sealed blocks store columns: a row reads the same before and
        // after it is sealed.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        if fields.len() > MAX_FIELDS {
            return Err(EntryError::TooManyFields(fields.len()));
        }
        let stream_names = params.stream_fields.as_deref().unwrap_or(default_stream);
        let stream = self.stream(&fields, stream_names);
        Ok(Row::new(time.unwrap_or(self.now), stream, fields))
    }

    fn stream(&mut self, fields: &[(String, String)], names: &[String]) -> Arc<Stream> {
        let key: Vec<(String, String)> = names
            .iter()
            .filter_map(|name| {
                fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(n, v)| (n.clone(), v.clone()))
            })
            .collect();
        if let Some(stream) = self.streams.get(&key) {
            return Arc::clone(stream);
        }
        let stream = Arc::new(Stream::new(key.clone()));
        self.streams.insert(key, Arc::clone(&stream));
        stream
    }
}

/// The value of the first non-empty message field, removed from `fields`.
fn take_message(fields: &mut Vec<(String, String)>, names: &[String]) -> Option<String> {
    for name in names {
        if let Some(pos) = fields.iter().position(|(n, v)| n == name && !v.is_empty()) {
            let (_, value) = fields.remove(pos);
            return Some(value);
        }
    }
    None
}

/// Keeps the last occurrence of each name, in order of first appearance.
fn dedup_last_wins(fields: &mut Vec<(String, String)>) {
    let mut seen = HashSet::with_capacity(fields.len());
    let mut keep = vec![false; fields.len()];
    for (i, (name, _)) in fields.iter().enumerate().rev() {
        if seen.insert(name.as_str())
            && let Some(k) = keep.get_mut(i)
        {
            *k = true;
        }
    }
    let mut flags = keep.into_iter();
    fields.retain(|_| flags.next().unwrap_or(false));
}

/// Flattens a JSON object: nested objects join names with `.`, arrays become their JSON
/// text, numbers and booleans their literal text, `null` and empty strings disappear.
pub fn flatten_object(
    prefix: &mut String,
    object: Map<String, Value>,
    out: &mut Vec<(String, String)>,
) {
    for (key, value) in object {
        let base = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(&key);
        match value {
            Value::Null => {}
            Value::Object(inner) => flatten_object(prefix, inner, out),
            Value::String(s) => out.push((prefix.clone(), s)),
            Value::Bool(b) => out.push((prefix.clone(), b.to_string())),
            Value::Number(n) => out.push((prefix.clone(), n.to_string())),
            array @ Value::Array(_) => out.push((prefix.clone(), array.to_string())),
        }
        prefix.truncate(base);
    }
}

/// Removes ANSI escape sequences (`ESC [ … final`) and lone escapes from `text`.
fn decolorize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(params: &IngestParams, line: &str) -> Result<Row, EntryError> {
        Normalizer::new(params, 7).json_line(line.as_bytes())
    }

    fn fields(row: &Row) -> Vec<(&str, &str)> {
        let mut f: Vec<(&str, &str)> = row.fields().collect();
        f.sort();
        f
    }

    #[test]
    fn nested_objects_flatten_and_values_become_strings() {
        let r = row(
            &IngestParams::default(),
            r#"{"_msg":"hi","a":{"b":{"c":1}},"n":12.50,"t":true,"arr":[1,"x"],"nul":null,"e":"","o":{}}"#,
        )
        .unwrap();
        assert_eq!(
            fields(&r),
            [
                ("_msg", "hi"),
                ("a.b.c", "1"),
                ("arr", "[1,\"x\"]"),
                ("n", "12.5"),
                ("t", "true")
            ]
        );
        assert_eq!(r.time, 7);
        assert_eq!(r.stream.text(), "{}");
    }

    #[test]
    fn message_and_time_fields() {
        let params = IngestParams {
            msg_fields: vec!["message".into(), "log".into()],
            time_fields: vec!["ts".into()],
            ..IngestParams::default()
        };
        let r = row(
            &params,
            r#"{"message":"","log":"L","ts":"1700000000","other":"x"}"#,
        )
        .unwrap();
        assert_eq!(fields(&r), [("_msg", "L"), ("other", "x")]);
        assert_eq!(r.time, 1_700_000_000 * timeutil::SECOND);
        assert!(matches!(
            row(&params, r#"{"ts":"soon"}"#),
            Err(EntryError::BadTime(_))
        ));
    }

    #[test]
    fn missing_message_gets_the_default_text() {
        let r = row(&IngestParams::default(), r#"{"a":"b"}"#).unwrap();
        assert_eq!(r.field("_msg"), Some(MISSING_MSG));
    }

    #[test]
    fn ignore_extra_and_stream_fields() {
        let params = IngestParams {
            ignore_fields: vec!["secret*".into()],
            extra_fields: vec![("job".into(), "lambda".into())],
            stream_fields: Some(vec!["job".into(), "container_name".into(), "absent".into()]),
            ..IngestParams::default()
        };
        let r = row(
            &params,
            r#"{"_msg":"m","secret.key":"k","secretive":"v","job":"body","container_name":"fn"}"#,
        )
        .unwrap();
        assert_eq!(
            fields(&r),
            [("_msg", "m"), ("container_name", "fn"), ("job", "lambda")]
        );
        assert_eq!(r.stream.text(), r#"{container_name="fn",job="lambda"}"#);
    }

    #[test]
    fn duplicate_names_keep_the_last_value() {
        let r = row(
            &IngestParams::default(),
            r#"{"a.b":"1","a":{"b":"2"},"_msg":"m"}"#,
        )
        .unwrap();
        assert_eq!(r.field("a.b"), Some("2"));
        assert_eq!(r.fields().len(), 2);
    }

    #[test]
    fn reserved_and_overlong_names_are_dropped() {
        let long = "n".repeat(MAX_FIELD_NAME_BYTES + 1);
        let line = format!(r#"{{"_msg":"m","_stream":"x","_stream_id":"y","{long}":"v"}}"#);
        let r = row(&IngestParams::default(), &line).unwrap();
        assert_eq!(fields(&r), [("_msg", "m")]);
    }

    #[test]
    fn limits_reject_the_line() {
        let many: Vec<String> = (0..=MAX_FIELDS)
            .map(|i| format!("\"f{i}\":\"v\""))
            .collect();
        let line = format!("{{{}}}", many.join(","));
        assert!(matches!(
            row(&IngestParams::default(), &line),
            Err(EntryError::TooManyFields(_))
        ));
        let huge = format!(r#"{{"_msg":"{}"}}"#, "x".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            row(&IngestParams::default(), &huge),
            Err(EntryError::TooLong(_))
        ));
        assert!(matches!(
            row(&IngestParams::default(), "[1]"),
            Err(EntryError::Json(_))
        ));
        assert!(matches!(
            row(&IngestParams::default(), "{"),
            Err(EntryError::Json(_))
        ));
    }

    #[test]
    fn decolorize_strips_ansi_codes() {
        assert_eq!(decolorize("\u{1b}[31mred\u{1b}[0m plain"), "red plain");
        let params = IngestParams {
            decolorize_fields: vec!["_msg".into()],
            ..IngestParams::default()
        };
        let r = row(&params, "{\"_msg\":\"\\u001b[1;32mok\\u001b[0m\"}").unwrap();
        assert_eq!(r.field("_msg"), Some("ok"));
    }
}
