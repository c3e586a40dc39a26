//! The row model, as VictoriaLogs has it: a row is a flat set of non-empty string fields
//! plus a timestamp; `_msg` is an ordinary field; the stream is the set of the row's stream
//! fields (which stay ordinary fields too), named by `_stream` (`{a="b",c="d"}`) and
//! `_stream_id`. `_time`, `_stream` and `_stream_id` are never stored as fields.

use std::sync::Arc;

/// The message field.
pub const MSG: &str = "_msg";
/// The time field.
pub const TIME: &str = "_time";
/// The stream field (`{a="b"}`).
pub const STREAM: &str = "_stream";
/// The stream id field.
pub const STREAM_ID: &str = "_stream_id";

/// One log row: its time, its stream, and its fields — every non-empty field, `_msg` and
/// the stream fields included, each name once. The fields' text is kept in one buffer
/// (names and values back to back) with a span per field: a row costs three allocations
/// whatever its field count, which keeps the in-memory tail small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// nanoseconds since the epoch, UTC
    pub time: i64,
    /// the stream the row belongs to
    pub stream: Arc<Stream>,
    text: Box<str>,
    spans: Box<[Span]>,
}

/// Where one field lies in [`Row::text`]: the name is `name..value`, the value
/// `value..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: u32,
    value: u32,
    end: u32,
}

impl Row {
    /// A row of these fields, in this order. (A row's text is bounded by the request size
    /// limit, far below the 4 GiB its spans can address; fields past that would be dropped.)
    pub fn new<N: AsRef<str>, V: AsRef<str>>(
        time: i64,
        stream: Arc<Stream>,
        fields: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        // Sized once: a row is built on every ingested line.
        let fields: Vec<(N, V)> = fields.into_iter().collect();
        let len = fields
            .iter()
            .map(|(n, v)| n.as_ref().len() + v.as_ref().len())
            .sum();
        let mut text = String::with_capacity(len);
        let mut spans = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            let (name, value) = (name.as_ref(), value.as_ref());
            let name_at = text.len();
            text.push_str(name);
            let value_at = text.len();
            text.push_str(value);
            let (Ok(name), Ok(value), Ok(end)) = (
                u32::try_from(name_at),
                u32::try_from(value_at),
                u32::try_from(text.len()),
            ) else {
                text.truncate(name_at);
                break;
            };
            spans.push(Span { name, value, end });
        }
        Self {
            time,
            stream,
            text: text.into_boxed_str(),
            spans: spans.into_boxed_slice(),
        }
    }

    /// The fields, as `(name, value)`, in stored order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(|s| {
            let name = self
                .text
                .get(s.name as usize..s.value as usize)
                .unwrap_or("");
            let value = self
                .text
                .get(s.value as usize..s.end as usize)
                .unwrap_or("");
            (name, value)
        })
    }

    /// The value of a stored field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Bytes the row's text takes: what limits and block sizes count.
    pub fn text_len(&self) -> usize {
        self.text.len() + 8
    }
}

/// A stream's identity: a 128-bit hash of its fields. Shown as 48 hex digits, the first 16
/// being the tenant (always 0:0 here), as VictoriaLogs shows `_stream_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u128);

/// A stream: its fields sorted by name, its `_stream` text and `_stream_id`.
#[derive(Debug, PartialEq, Eq)]
pub struct Stream {
    id: StreamId,
    fields: Vec<(Box<str>, Box<str>)>,
    text: Box<str>,
    id_text: Box<str>,
}

impl Stream {
    /// The stream of these fields (empty values dropped, names deduplicated keeping the
    /// last value, sorted by name).
    pub fn new(fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut fields: Vec<(Box<str>, Box<str>)> = fields
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.into_boxed_str(), v.into_boxed_str()))
            .collect();
        // Stable sort keeps input order among equal names, so the last one wins below.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(fields.len());
        for field in fields {
            match deduped.last_mut() {
                Some(last) if last.0 == field.0 => *last = field,
                _ => deduped.push(field),
            }
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut text = String::from("{");
        for (i, (name, value)) in deduped.iter().enumerate() {
            // Length-prefixed, so `a="b,c"` and `a="b",c=…` never hash alike.
            hasher.update(&(name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update(&(value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
            if i > 0 {
                text.push(',');
            }
            text.push_str(name);
            text.push('=');
            push_quoted(&mut text, value);
        }
        text.push('}');
        let id = StreamId(hasher.digest128());
        Self {
            id,
            fields: deduped,
            text: text.into_boxed_str(),
            id_text: format!("{:016x}{:032x}", 0u64, id.0).into_boxed_str(),
        }
    }

    /// The stream's id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// `_stream`: `{a="b",c="d"}`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `_stream_id`: 48 hex digits.
    pub fn id_text(&self) -> &str {
        &self.id_text
    }

    /// The stream fields, sorted by name.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (&**n, &**v))
    }

    /// One stream field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }

    /// The names of the stream fields, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| &**n)
    }
}

/// Appends `value` in double quotes with `"`, `\` and control characters escaped.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(pairs: &[(&str, &str)]) -> Stream {
        Stream::new(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn stream_text_is_sorted_and_quoted() {
        let s = stream(&[("job", "lambda"), ("container_name", "fn \"x\"")]);
        assert_eq!(s.text(), r#"{container_name="fn \"x\"",job="lambda"}"#);
        assert_eq!(s.id_text().len(), 48);
        assert!(s.id_text().starts_with("0000000000000000"));
        assert_eq!(stream(&[]).text(), "{}");
    }

    #[test]
    fn stream_identity_ignores_order_and_empty_values() {
        let a = stream(&[("a", "1"), ("b", "2"), ("c", "")]);
        let b = stream(&[("b", "2"), ("a", "1")]);
        assert_eq!(a.id(), b.id());
        assert_ne!(
            stream(&[("a", "1,b=2")]).id(),
            stream(&[("a", "1"), ("b", "2")]).id()
        );
    }

    #[test]
    fn duplicate_stream_names_keep_the_last_value() {
        let s = stream(&[("a", "1"), ("a", "2")]);
        assert_eq!(s.get("a"), Some("2"));
        assert_eq!(s.fields().count(), 1);
    }
}
