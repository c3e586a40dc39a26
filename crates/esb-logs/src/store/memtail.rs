//! The in-memory tail: acknowledged rows not yet sealed into blocks, one buffer per (UTC
//! day, stream). Queries read it directly, so a row is searchable as soon as its append
//! returns; the WAL holds the same rows for recovery.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::row::{Row, Stream, StreamId};
use crate::timeutil;

/// The rows of one stream on one day.
#[derive(Debug)]
pub struct Buffer {
    /// UTC day number of every row
    pub day: i64,
    /// the stream of every row
    pub stream: Arc<Stream>,
    /// the rows, in arrival order
    pub rows: Vec<Arc<Row>>,
    /// text bytes of the rows
    pub bytes: usize,
    /// when the first row arrived (carried across checkpoints)
    pub since: Instant,
    /// oldest row time
    pub min_time: i64,
    /// newest row time
    pub max_time: i64,
}

impl Buffer {
    fn new(day: i64, stream: Arc<Stream>) -> Self {
        Self {
            day,
            stream,
            rows: Vec::new(),
            bytes: 0,
            since: Instant::now(),
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    fn push(&mut self, row: Arc<Row>) {
        self.bytes += row.text_len();
        self.min_time = self.min_time.min(row.time);
        self.max_time = self.max_time.max(row.time);
        self.rows.push(row);
    }

    fn absorb(&mut self, other: Buffer) {
        self.since = self.since.min(other.since);
        for row in other.rows {
            self.push(row);
        }
    }
}

/// Key of a buffer.
pub type Key = (i64, StreamId);

/// All buffers.
#[derive(Debug, Default)]
pub struct MemTail {
    buffers: HashMap<Key, Buffer>,
    bytes: usize,
}

impl MemTail {
    /// Adds a row; returns its buffer's key and size in bytes.
    pub fn insert(&mut self, row: Arc<Row>) -> (Key, usize) {
        let day = timeutil::day_of(row.time);
        let key = (day, row.stream.id());
        let buffer = self
            .buffers
            .entry(key)
            .or_insert_with(|| Buffer::new(day, Arc::clone(&row.stream)));
        self.bytes += row.text_len();
        buffer.push(row);
        (key, buffer.bytes)
    }

    /// Removes one buffer.
    pub fn take(&mut self, key: &Key) -> Option<Buffer> {
        let buffer = self.buffers.remove(key)?;
        self.bytes = self.bytes.saturating_sub(buffer.bytes);
        Some(buffer)
    }

    /// Removes every buffer.
    pub fn take_all(&mut self) -> Vec<Buffer> {
        self.bytes = 0;
        self.buffers.drain().map(|(_, b)| b).collect()
    }

    /// Puts a buffer back (merging with rows that arrived for it meanwhile).
    pub fn put_back(&mut self, buffer: Buffer) {
        self.bytes += buffer.bytes;
        match self.buffers.get_mut(&(buffer.day, buffer.stream.id())) {
            Some(existing) => existing.absorb(buffer),
            None => {
                self.buffers
                    .insert((buffer.day, buffer.stream.id()), buffer);
            }
        }
    }

    /// The buffers.
    pub fn buffers(&self) -> impl Iterator<Item = &Buffer> {
        self.buffers.values()
    }

    /// Text bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// When the oldest buffer received its first row.
    pub fn oldest(&self) -> Option<Instant> {
        self.buffers.values().map(|b| b.since).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_day_and_stream() {
        let a = Arc::new(Stream::new([("a".to_owned(), "1".to_owned())]));
        let b = Arc::new(Stream::new([]));
        let row = |stream: &Arc<Stream>, time| {
            Arc::new(Row::new(time, Arc::clone(stream), [("_msg", "m")]))
        };
        let mut tail = MemTail::default();
        tail.insert(row(&a, 1));
        tail.insert(row(&a, 2));
        tail.insert(row(&a, timeutil::DAY + 1));
        let (key, bytes) = tail.insert(row(&b, 3));
        assert_eq!(bytes, 13);
        assert_eq!(tail.buffers().count(), 3);
        let taken = tail.take(&key);
        assert!(taken.is_some());
        assert_eq!(tail.bytes(), 39);
        let all = tail.take_all();
        assert!(tail.is_empty());
        for buffer in all {
            tail.put_back(buffer);
        }
        tail.insert(row(&a, 0));
        let first = tail
            .buffers()
            .find(|b| b.day == 0)
            .map(|b| (b.rows.len(), b.min_time, b.max_time));
        assert_eq!(first, Some((3, 0, 2)));
    }
}
