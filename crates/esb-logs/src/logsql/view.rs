//! Rows as filters and pipes see them: a [`RowView`] gives fields by name (including the
//! virtual `_time`, `_stream`, `_stream_id` of log rows) and visits them in output order.
//! Log rows are viewed in place — in the in-memory tail or in a decoded block — and only
//! materialized ([`OwnedRow`]) by pipes that must keep them (sort, the newest-N selection).

use std::borrow::Cow;
use std::sync::Arc;

use crate::ingest::params::matches_any;
use crate::row::{Row, STREAM, STREAM_ID, Stream, TIME};
use crate::store::block::Decoded;
use crate::timeutil;

/// A row passing through a query.
pub trait RowView {
    /// The row's time, while it is a log row (stats results have none).
    fn time(&self) -> Option<i64>;
    /// The row's stream, while it is a log row.
    fn stream(&self) -> Option<&Arc<Stream>>;
    /// A field's value; `None` when missing.
    fn get(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Calls `f` with every non-empty field, in output order.
    fn visit(&self, f: &mut dyn FnMut(&str, &str));
}

/// Where a log row's stored fields are.
#[derive(Debug, Clone, Copy)]
pub enum Stored<'a> {
    /// a row of the in-memory tail
    Row(&'a Row),
    /// row `.1` of a decoded block
    Block(&'a Decoded, usize),
}

/// A log row viewed in place.
#[derive(Debug, Clone, Copy)]
pub struct LogRow<'a> {
    /// its time
    pub time: i64,
    /// its stream
    pub stream: &'a Arc<Stream>,
    /// its fields
    pub stored: Stored<'a>,
}

impl<'a> LogRow<'a> {
    /// A tail row.
    pub fn of_row(row: &'a Row, stream: &'a Arc<Stream>) -> Self {
        Self {
            time: row.time,
            stream,
            stored: Stored::Row(row),
        }
    }

    /// Row `index` of a block.
    pub fn of_block(block: &'a Decoded, index: usize, stream: &'a Arc<Stream>) -> Self {
        Self {
            time: block.time(index),
            stream,
            stored: Stored::Block(block, index),
        }
    }

    fn stored_field(&self, name: &str) -> Option<&'a str> {
        match self.stored {
            Stored::Row(row) => row.field(name),
            Stored::Block(block, i) => block.column_index(name).and_then(|c| block.value(c, i)),
        }
    }
}

impl RowView for LogRow<'_> {
    fn time(&self) -> Option<i64> {
        Some(self.time)
    }

    fn stream(&self) -> Option<&Arc<Stream>> {
        Some(self.stream)
    }

    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            TIME => Some(Cow::Owned(timeutil::format_rfc3339(self.time))),
            STREAM => Some(Cow::Borrowed(self.stream.text())),
            STREAM_ID => Some(Cow::Borrowed(self.stream.id_text())),
            _ => self.stored_field(name).map(Cow::Borrowed),
        }
    }

    fn visit(&self, f: &mut dyn FnMut(&str, &str)) {
        f(TIME, &timeutil::format_rfc3339(self.time));
        f(STREAM_ID, self.stream.id_text());
        f(STREAM, self.stream.text());
        match self.stored {
            Stored::Row(row) => {
                for (name, value) in row.fields() {
                    f(name, value);
                }
            }
            Stored::Block(block, i) => {
                for c in 0..block.column_count() {
                    if let Some(value) = block.value(c, i) {
                        f(block.column_name(c), value);
                    }
                }
            }
        }
    }
}

/// `fields` (keep) or `delete` applied to a row: a view hiding fields by pattern.
#[derive(Clone, Copy)]
pub struct Projection<'a> {
    /// the row
    pub inner: &'a dyn RowView,
    /// names, or prefixes ending in `*`
    pub patterns: &'a [String],
    /// keep the matching fields (`fields`) or drop them (`delete`)
    pub keep: bool,
}

impl std::fmt::Debug for Projection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection")
            .field("patterns", &self.patterns)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl Projection<'_> {
    fn shows(&self, name: &str) -> bool {
        matches_any(self.patterns, name) == self.keep
    }
}

impl RowView for Projection<'_> {
    fn time(&self) -> Option<i64> {
        self.inner.time()
    }

    fn stream(&self) -> Option<&Arc<Stream>> {
        self.inner.stream()
    }

    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        if self.shows(name) {
            self.inner.get(name)
        } else {
            None
        }
    }

    fn visit(&self, f: &mut dyn FnMut(&str, &str)) {
        self.inner.visit(&mut |name, value| {
            if self.shows(name) {
                f(name, value);
            }
        });
    }
}

/// A materialized row.
#[derive(Debug, Clone, Default)]
pub struct OwnedRow {
    /// the time, if a log row
    pub time: Option<i64>,
    /// the stream, if a log row
    pub stream: Option<Arc<Stream>>,
    /// the fields in output order
    pub fields: Vec<(String, String)>,
}

impl OwnedRow {
    /// Copies a row.
    pub fn of(row: &dyn RowView) -> Self {
        let mut fields = Vec::new();
        row.visit(&mut |name, value| fields.push((name.to_owned(), value.to_owned())));
        Self {
            time: row.time(),
            stream: row.stream().cloned(),
            fields,
        }
    }
}

impl RowView for OwnedRow {
    fn time(&self) -> Option<i64> {
        self.time
    }

    fn stream(&self) -> Option<&Arc<Stream>> {
        self.stream.as_ref()
    }

    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }

    fn visit(&self, f: &mut dyn FnMut(&str, &str)) {
        for (name, value) in &self.fields {
            if !value.is_empty() {
                f(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rows_show_virtual_fields_and_projections_hide_fields() {
        let stream = Arc::new(Stream::new([("app".to_owned(), "a".to_owned())]));
        let row = Row::new(
            1_500_000_000,
            Arc::clone(&stream),
            [("_msg", "hello"), ("app", "a"), ("level", "INFO")],
        );
        let view = LogRow::of_row(&row, &stream);
        assert_eq!(view.get("_time").as_deref(), Some("1970-01-01T00:00:01.5Z"));
        assert_eq!(view.get("_stream").as_deref(), Some(r#"{app="a"}"#));
        assert_eq!(view.get("level").as_deref(), Some("INFO"));
        assert_eq!(view.get("nope"), None);

        let keep = ["_msg".to_owned(), "lev*".to_owned()];
        let projected = Projection {
            inner: &view,
            patterns: &keep,
            keep: true,
        };
        let owned = OwnedRow::of(&projected);
        assert_eq!(
            owned.fields,
            [
                ("_msg".to_owned(), "hello".to_owned()),
                ("level".to_owned(), "INFO".to_owned())
            ]
        );
        assert_eq!(owned.time, Some(1_500_000_000));
        let dropped = Projection {
            inner: &view,
            patterns: &keep,
            keep: false,
        };
        assert_eq!(dropped.get("_msg"), None);
        assert!(dropped.get("app").is_some());
    }
}
