//! One ingested entry → one [`Row`]: nested JSON flattened with `.`, every value a string,
//! `ignore_fields`/`extra_fields` applied, the timestamp and message taken from their
//! fields, empty values dropped, the stream built from the stream fields. The rules are
//! VictoriaLogs' (design note §3).

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
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
    /// streams seen in this request, by a hash of their fields
    streams: HashMap<u64, Vec<Arc<Stream>>>,
    /// indexes of the current row's stream fields (reused to avoid an allocation per row)
    stream_fields: Vec<usize>,
}

impl<'p> Normalizer<'p> {
    /// A normalizer for one request received at `now` (ns).
    pub fn new(params: &'p IngestParams, now: i64) -> Self {
        Self {
            params,
            now,
            streams: HashMap::new(),
            stream_fields: Vec::new(),
        }
    }

    /// A row from one NDJSON line.
    pub fn json_line(&mut self, line: &[u8]) -> Result<Row, EntryError> {
        if line.len() > MAX_LINE_BYTES {
            return Err(EntryError::TooLong(line.len()));
        }
        let Members(members) =
            serde_json::from_slice(line).map_err(|e| EntryError::Json(e.to_string()))?;
        let mut fields = Vec::with_capacity(members.len());
        for (key, value) in members {
            match value {
                Value::Object(inner) => {
                    let mut prefix = key;
                    flatten_object(&mut prefix, inner, &mut fields);
                }
                // A top-level name is moved, not copied.
                other => fields.extend(scalar_text(other).map(|text| (key, text))),
            }
        }
        self.fields(fields, &[])
    }

    /// A row from flat fields; `default_stream` names the stream fields unless
    /// `_stream_fields` is given.
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
        // Sorted by name, as sealed blocks store columns, so a row reads the same before
        // and after it is sealed; a repeated name keeps its last value (the sort is stable,
        // and dedup keeps the first of a run, so dedup the reversed order).
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.reverse();
        fields.dedup_by(|a, b| a.0 == b.0);
        fields.reverse();
        if !params.decolorize_fields.is_empty() {
            for (name, value) in &mut fields {
                if params.decolorized(name) {
                    *value = decolorize(value);
                }
            }
            fields.retain(|(_, value)| !value.is_empty());
        }
        if !fields.iter().any(|(n, _)| n == MSG) {
            let at = fields.partition_point(|(n, _)| n.as_str() < MSG);
            fields.insert(at, (MSG.to_owned(), MISSING_MSG.to_owned()));
        }
        if fields.len() > MAX_FIELDS {
            return Err(EntryError::TooManyFields(fields.len()));
        }
        let stream_names = params.stream_fields.as_deref().unwrap_or(default_stream);
        let stream = self.stream(&fields, stream_names);
        Ok(Row::new(time.unwrap_or(self.now), stream, fields))
    }

    /// The stream of a row; looked up by a hash of its stream fields, so the common case
    /// (a stream seen earlier in the request) allocates nothing.
    fn stream(&mut self, fields: &[(String, String)], names: &[String]) -> Arc<Stream> {
        self.stream_fields.clear();
        for name in names {
            if let Some(i) = fields.iter().position(|(n, _)| n == name)
                && !self.stream_fields.contains(&i)
            {
                self.stream_fields.push(i);
            }
        }
        let pairs = || self.stream_fields.iter().filter_map(|&i| fields.get(i));
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for (name, value) in pairs() {
            hasher.update(&(name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update(&(value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
        }
        let candidates = self.streams.entry(hasher.digest()).or_default();
        let same = |stream: &Stream| {
            stream.fields().count() == self.stream_fields.len()
                && pairs().all(|(n, v)| stream.get(n) == Some(v.as_str()))
        };
        if let Some(stream) = candidates.iter().find(|s| same(s)) {
            return Arc::clone(stream);
        }
        let stream = Arc::new(Stream::new(pairs().cloned()));
        candidates.push(Arc::clone(&stream));
        stream
    }
}

/// A JSON object's members in order, without building a map: a row's fields are
/// flattened into a list anyway.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
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

/// Flattens a JSON object under `prefix`: nested objects join names with `.`, arrays
/// become their JSON text, numbers and booleans their literal text, `null` disappears.
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
            Value::Object(inner) => flatten_object(prefix, inner, out),
            other => out.extend(scalar_text(other).map(|text| (prefix.clone(), text))),
        }
        prefix.truncate(base);
    }
}

/// The stored text of a non-object JSON value (`None` for `null`).
fn scalar_text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
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
