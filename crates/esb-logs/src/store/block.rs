//! Sealed blocks: the rows of one stream over a time span, stored column by column and
//! compressed with zstd, preceded by one token filter per column. The header (kept in the
//! partition's index and in memory) says where the block is, what time it covers and which
//! columns it has, so most blocks are ruled out before any read.
//!
//! Body before compression: `[uvarint meta length][meta][text]`, where `meta` holds the row
//! count, the delta-encoded times and, per column, the name length, a kind byte (0 = one
//! value for every row, 1 = a value per row) and the value lengths; `text` holds the names
//! and values in the same order. Keeping all text together lets one UTF-8 check cover it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::codec::{Reader, put_bytes, put_ivarint, put_uvarint};
use crate::row::{Row, StreamId};
use crate::store::bloom;
use crate::tokenizer;

/// zstd level for block bodies: level 1 measured 4.9× at ~350 MB/s per core on Lambda-like
/// logs (design note §8); higher levels cost ingest CPU for a few percent.
const ZSTD_LEVEL: i32 = 1;

/// One column of a block, as the header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// field name
    pub name: Box<str>,
    /// rows where the field is present
    pub present: u32,
    /// where this column's token filter starts within the block's filters
    pub filter_offset: u32,
    /// its length
    pub filter_len: u32,
}

/// A block header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// the checkpoint the block belongs to; recovery drops blocks of unfinished checkpoints
    pub tag: u64,
    /// the block's stream
    pub stream: StreamId,
    /// oldest row time
    pub min_time: i64,
    /// newest row time
    pub max_time: i64,
    /// row count
    pub rows: u32,
    /// position of the token filters in the data file; the body follows them
    pub offset: u64,
    /// total length of the token filters
    pub filters_len: u32,
    /// compressed body length
    pub body_len: u32,
    /// crc32 of the compressed body
    pub body_crc: u32,
    /// bytes of field text the block holds (names and values)
    pub text_len: u64,
    /// the columns, sorted by name
    pub columns: Vec<ColumnInfo>,
}

impl Header {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .binary_search_by(|c| (*c.name).cmp(name))
            .ok()
            .and_then(|i| self.columns.get(i))
    }

    /// Encodes the header for the partition index.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.tag);
        out.extend_from_slice(&self.stream.0.to_le_bytes());
        put_ivarint(out, self.min_time);
        put_ivarint(out, self.max_time);
        put_uvarint(out, u64::from(self.rows));
        put_uvarint(out, self.offset);
        put_uvarint(out, u64::from(self.filters_len));
        put_uvarint(out, u64::from(self.body_len));
        put_uvarint(out, u64::from(self.body_crc));
        put_uvarint(out, self.text_len);
        put_uvarint(out, self.columns.len() as u64);
        for c in &self.columns {
            put_bytes(out, c.name.as_bytes());
            put_uvarint(out, u64::from(c.present));
            put_uvarint(out, u64::from(c.filter_offset));
            put_uvarint(out, u64::from(c.filter_len));
        }
    }

    /// Decodes a header; `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let u32_of = |v: u64| u32::try_from(v).ok();
        let tag = r.uvarint()?;
        let stream = StreamId(u128::from_le_bytes(r.take(16)?.try_into().ok()?));
        let min_time = r.ivarint()?;
        let max_time = r.ivarint()?;
        let rows = u32_of(r.uvarint()?)?;
        let offset = r.uvarint()?;
        let filters_len = u32_of(r.uvarint()?)?;
        let body_len = u32_of(r.uvarint()?)?;
        let body_crc = u32_of(r.uvarint()?)?;
        let text_len = r.uvarint()?;
        let count = r.len(bytes.len())?;
        let mut columns = Vec::with_capacity(count);
        for _ in 0..count {
            columns.push(ColumnInfo {
                name: r.str()?.into(),
                present: u32_of(r.uvarint()?)?,
                filter_offset: u32_of(r.uvarint()?)?,
                filter_len: u32_of(r.uvarint()?)?,
            });
        }
        let sorted = columns.windows(2).all(|w| w[0].name < w[1].name);
        (r.is_empty() && sorted && min_time <= max_time).then_some(Self {
            tag,
            stream,
            min_time,
            max_time,
            rows,
            offset,
            filters_len,
            body_len,
            body_crc,
            text_len,
            columns,
        })
    }
}

/// A block ready to be written: the header (with `offset` still 0), the token filters and
/// the compressed body.
#[derive(Debug)]
pub struct Encoded {
    /// the header
    pub header: Header,
    /// the token filters, one per column, concatenated
    pub filters: Vec<u8>,
    /// the zstd body
    pub body: Vec<u8>,
}

/// Encodes rows of one stream (sorted here by time) into a block.
pub fn encode(rows: &mut [Arc<Row>], tag: u64) -> std::io::Result<Encoded> {
    rows.sort_by_key(|r| r.time);
    let stream = rows.first().map_or(StreamId(0), |r| r.stream.id());
    let min_time = rows.first().map_or(0, |r| r.time);
    let max_time = rows.last().map_or(0, |r| r.time);

    // Column values per row (None = absent), columns sorted by name.
    let mut columns: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        for (name, value) in row.fields() {
            let values = columns
                .entry(name)
                .or_insert_with(|| vec![None; rows.len()]);
            if let Some(slot) = values.get_mut(i) {
                *slot = Some(value);
            }
        }
    }

    let mut meta = Vec::new();
    let mut text = Vec::new();
    put_uvarint(&mut meta, rows.len() as u64);
    let mut previous = 0i64;
    for row in rows.iter() {
        put_ivarint(&mut meta, row.time.wrapping_sub(previous));
        previous = row.time;
    }
    put_uvarint(&mut meta, columns.len() as u64);
    let mut infos = Vec::with_capacity(columns.len());
    let mut filters = Vec::new();
    let mut hashes = Vec::new();
    for (name, values) in &columns {
        put_uvarint(&mut meta, name.len() as u64);
        text.extend_from_slice(name.as_bytes());
        let first = values.first().copied().flatten();
        let constant = first.is_some() && values.iter().all(|v| *v == first);
        hashes.clear();
        if constant {
            meta.push(0);
            let value = first.unwrap_or_default();
            put_uvarint(&mut meta, value.len() as u64);
            text.extend_from_slice(value.as_bytes());
            hashes.extend(tokenizer::words(value).map(bloom::hash));
        } else {
            meta.push(1);
            for value in values {
                let value = value.unwrap_or_default();
                put_uvarint(&mut meta, value.len() as u64);
                text.extend_from_slice(value.as_bytes());
                hashes.extend(tokenizer::words(value).map(bloom::hash));
            }
        }
        // Distinct words only: the filter is sized by their count.
        hashes.sort_unstable();
        hashes.dedup();
        let filter = bloom::build(&hashes);
        infos.push(ColumnInfo {
            name: (*name).into(),
            present: values.iter().filter(|v| v.is_some()).count() as u32,
            filter_offset: filters.len() as u32,
            filter_len: filter.len() as u32,
        });
        filters.extend_from_slice(&filter);
    }

    let mut raw = Vec::with_capacity(meta.len() + text.len() + 10);
    put_uvarint(&mut raw, meta.len() as u64);
    raw.extend_from_slice(&meta);
    raw.extend_from_slice(&text);
    let body = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
    let too_big = || std::io::Error::other("block larger than 4 GiB");
    Ok(Encoded {
        header: Header {
            tag,
            stream,
            min_time,
            max_time,
            rows: u32::try_from(rows.len()).map_err(|_| too_big())?,
            offset: 0,
            filters_len: u32::try_from(filters.len()).map_err(|_| too_big())?,
            body_len: u32::try_from(body.len()).map_err(|_| too_big())?,
            body_crc: crc32fast::hash(&body),
            text_len: text.len() as u64,
            columns: infos,
        },
        filters,
        body,
    })
}

/// Where a column's values are: `(start, end)` byte ranges in [`Decoded::text`]; an empty
/// range is an absent value.
#[derive(Debug)]
enum Values {
    Constant((usize, usize)),
    PerRow(Vec<(usize, usize)>),
}

#[derive(Debug)]
struct DecodedColumn {
    name: (usize, usize),
    values: Values,
}

/// A block read back: times and columns, all text in one validated string.
#[derive(Debug)]
pub struct Decoded {
    times: Vec<i64>,
    text: String,
    columns: Vec<DecodedColumn>,
}

/// Why a block could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body does not match its crc or does not decompress.
    #[error("block body is corrupt")]
    Corrupt,
    /// Reading the data file failed.
    #[error("cannot read block: {0}")]
    Io(#[from] std::io::Error),
}

impl Decoded {
    /// Decodes a compressed body whose header is `header`.
    pub fn decode(header: &Header, body: &[u8]) -> Result<Self, DecodeError> {
        if crc32fast::hash(body) != header.body_crc {
            return Err(DecodeError::Corrupt);
        }
        // The raw size is bounded by what the header says the block holds, plus metadata.
        let capacity = usize::try_from(header.text_len)
            .unwrap_or(usize::MAX)
            .saturating_add(16 * (header.rows as usize + 1) * (header.columns.len() + 2));
        let raw = zstd::bulk::decompress(body, capacity).map_err(|_| DecodeError::Corrupt)?;
        Self::parse(&raw, header.rows as usize).ok_or(DecodeError::Corrupt)
    }

    fn parse(raw: &[u8], expected_rows: usize) -> Option<Self> {
        let mut r = Reader::new(raw);
        let meta_len = r.len(raw.len())?;
        let meta = r.take(meta_len)?;
        let text = String::from_utf8(raw.get(r.position()..)?.to_vec()).ok()?;
        let mut m = Reader::new(meta);
        let rows = m.len(expected_rows)?;
        if rows != expected_rows {
            return None;
        }
        let mut times = Vec::with_capacity(rows);
        let mut previous = 0i64;
        for _ in 0..rows {
            previous = previous.wrapping_add(m.ivarint()?);
            times.push(previous);
        }
        let count = m.len(meta.len())?;
        let mut columns = Vec::with_capacity(count);
        let mut at = 0usize;
        let mut span = |len: usize| -> Option<(usize, usize)> {
            let end = at.checked_add(len)?;
            text.get(at..end)?;
            let range = (at, end);
            at = end;
            Some(range)
        };
        for _ in 0..count {
            let name = span(m.len(text.len())?)?;
            let values = match m.byte()? {
                0 => Values::Constant(span(m.len(text.len())?)?),
                1 => {
                    let mut ranges = Vec::with_capacity(rows);
                    for _ in 0..rows {
                        ranges.push(span(m.len(text.len())?)?);
                    }
                    Values::PerRow(ranges)
                }
                _ => return None,
            };
            columns.push(DecodedColumn { name, values });
        }
        Some(Self {
            times,
            text,
            columns,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the block has no rows.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Time of row `row`.
    pub fn time(&self, row: usize) -> i64 {
        self.times.get(row).copied().unwrap_or_default()
    }

    /// Number of columns.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Name of column `col`.
    pub fn column_name(&self, col: usize) -> &str {
        self.columns
            .get(col)
            .and_then(|c| self.text.get(c.name.0..c.name.1))
            .unwrap_or_default()
    }

    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        (0..self.columns.len()).find(|&i| self.column_name(i) == name)
    }

    /// The value of column `col` in row `row`; `None` when absent.
    pub fn value(&self, col: usize, row: usize) -> Option<&str> {
        let (start, end) = match &self.columns.get(col)?.values {
            Values::Constant(range) => *range,
            Values::PerRow(ranges) => *ranges.get(row)?,
        };
        if start == end {
            return None;
        }
        self.text.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::row::Stream;

    fn rows() -> Vec<Arc<Row>> {
        let stream = Arc::new(Stream::new([("app".to_owned(), "a".to_owned())]));
        (0..50)
            .rev()
            .map(|i| {
                let mut fields = vec![
                    ("_msg".to_owned(), format!("request {i} done")),
                    ("app".to_owned(), "a".to_owned()),
                ];
                if i % 2 == 0 {
                    fields.push(("trace_id".to_owned(), format!("Root=1-abc-{i:04}")));
                }
                Arc::new(Row::new(1_000 + i * 10, Arc::clone(&stream), fields))
            })
            .collect()
    }

    #[test]
    fn blocks_round_trip_sorted_by_time() {
        let mut rows = rows();
        let encoded = encode(&mut rows, 3).unwrap();
        let header = &encoded.header;
        assert_eq!(
            (header.min_time, header.max_time, header.rows),
            (1_000, 1_490, 50)
        );
        let names: Vec<&str> = header.columns.iter().map(|c| &*c.name).collect();
        assert_eq!(names, ["_msg", "app", "trace_id"]);
        assert_eq!(header.column("trace_id").unwrap().present, 25);

        let mut bytes = Vec::new();
        header.encode(&mut bytes);
        assert_eq!(Header::decode(&bytes).as_ref(), Some(header));

        let block = Decoded::decode(header, &encoded.body).unwrap();
        assert_eq!(block.len(), 50);
        assert_eq!(block.time(0), 1_000);
        let msg = block.column_index("_msg").unwrap();
        let trace = block.column_index("trace_id").unwrap();
        assert_eq!(block.value(msg, 0), Some("request 0 done"));
        assert_eq!(block.value(trace, 0), Some("Root=1-abc-0000"));
        assert_eq!(block.value(trace, 1), None);
        assert_eq!(
            block.value(block.column_index("app").unwrap(), 49),
            Some("a")
        );

        let filter = |col: &str| {
            let c = header.column(col).unwrap();
            let start = c.filter_offset as usize;
            encoded.filters[start..start + c.filter_len as usize].to_vec()
        };
        assert!(bloom::may_contain(&filter("trace_id"), bloom::hash("0042")));
        assert!(bloom::may_contain(&filter("_msg"), bloom::hash("request")));
    }

    #[test]
    fn corrupt_bodies_are_errors() {
        let mut rows = rows();
        let encoded = encode(&mut rows, 1).unwrap();
        let mut body = encoded.body.clone();
        if let Some(b) = body.last_mut() {
            *b ^= 1;
        }
        assert!(Decoded::decode(&encoded.header, &body).is_err());
        let mut header = encoded.header.clone();
        header.rows += 1;
        assert!(Decoded::decode(&header, &encoded.body).is_err());
        assert!(Header::decode(b"\x01\x02").is_none());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), rows in 0usize..5) {
            let _ = Decoded::parse(&raw, rows);
            let _ = Header::decode(&raw);
        }
    }
}
