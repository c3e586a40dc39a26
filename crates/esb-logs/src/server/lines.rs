//! Rows written as JSON lines (`application/stream+json`): one object per row, every value
//! a JSON string, empty fields omitted.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::logsql::pipeline::{Flow, Sink};
use crate::logsql::view::RowView;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// A sink writing JSON lines; with a channel, it sends a chunk every [`CHUNK`] bytes from a
/// blocking thread and stops the query when the receiver (the client) is gone.
#[derive(Debug, Default)]
pub struct JsonLines {
    buf: Vec<u8>,
    tx: Option<mpsc::Sender<Result<Bytes, std::io::Error>>>,
}

impl JsonLines {
    /// Lines sent to `tx` (call from a blocking thread).
    pub fn streaming(tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> Self {
        Self {
            buf: Vec::new(),
            tx: Some(tx),
        }
    }

    /// Sends what is buffered; `false` when the receiver is gone.
    pub fn flush(&mut self) -> bool {
        let Some(tx) = &self.tx else { return true };
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        tx.blocking_send(Ok(chunk)).is_ok()
    }

    /// Takes the buffered lines (for a caller that sends them itself).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

impl Sink for JsonLines {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        write_row(&mut self.buf, row);
        if self.tx.is_some() && self.buf.len() >= CHUNK && !self.flush() {
            return Flow::Stop;
        }
        Flow::Continue
    }
}

/// Appends `row` as one JSON object and a newline.
pub fn write_row(out: &mut Vec<u8>, row: &dyn RowView) {
    out.push(b'{');
    let mut first = true;
    row.visit(&mut |name, value| {
        if value.is_empty() {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        push_json_string(out, name);
        out.push(b':');
        push_json_string(out, value);
    });
    out.extend_from_slice(b"}\n");
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logsql::view::OwnedRow;

    #[test]
    fn rows_are_objects_of_strings() {
        let row = OwnedRow {
            time: None,
            stream: None,
            fields: vec![
                ("_msg".into(), "say \"hi\"\n".into()),
                ("empty".into(), String::new()),
                ("n".into(), "5".into()),
            ],
        };
        let mut sink = JsonLines::default();
        sink.push(&row);
        assert_eq!(
            String::from_utf8(sink.take()).unwrap_or_default(),
            "{\"_msg\":\"say \\\"hi\\\"\\n\",\"n\":\"5\"}\n"
        );
    }
}
