//! The write-ahead log: numbered segment files of crc32-framed records. A record is one
//! acknowledged batch (or, at a checkpoint, the rows carried over from older segments), with
//! its rows grouped by stream. Recovery reads records until the first torn or corrupt one.
//!
//! Framing: `[u32 LE payload length][u32 LE crc32(payload)][payload]`.
//! Payload: `kind u8`, `tag uvarint` (for carry records: the checkpoint they belong to),
//! `groups uvarint`, then per group the stream fields and the rows (time, fields).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{
    FRAME_HEADER, Reader, begin_frame, end_frame, put_bytes, put_ivarint, put_uvarint, read_frame,
};
use crate::row::{Row, Stream};

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Rows of acknowledged appends.
    Rows,
    /// Rows kept in memory across the checkpoint `tag` and rewritten into the next segment.
    /// Replayed only if checkpoint `tag` completed (otherwise their original records are
    /// replayed).
    Carry {
        /// the checkpoint the carry belongs to
        tag: u64,
    },
}

/// File name of segment `seg`.
pub fn segment_path(dir: &Path, seg: u64) -> PathBuf {
    dir.join(format!("{seg:020}.wal"))
}

/// The segment numbers present in `dir`, ascending.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut segs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seg) = name
            .strip_suffix(".wal")
            .and_then(|n| n.parse::<u64>().ok())
        {
            segs.push(seg);
        }
    }
    segs.sort_unstable();
    Ok(segs)
}

/// Encodes one framed record of `rows` into `out`.
pub fn encode_record(kind: Kind, rows: &[Arc<Row>], out: &mut Vec<u8>) {
    let start = begin_frame(out);
    match kind {
        Kind::Rows => {
            out.push(1);
            put_uvarint(out, 0);
        }
        Kind::Carry { tag } => {
            out.push(2);
            put_uvarint(out, tag);
        }
    }
    // Group by stream, keeping the first-seen order: a batch usually has few streams.
    let mut groups: Vec<(&Arc<Stream>, Vec<&Row>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(s, _)| s.id() == row.stream.id()) {
            Some((_, members)) => members.push(row),
            None => groups.push((&row.stream, vec![row])),
        }
    }
    put_uvarint(out, groups.len() as u64);
    for (stream, members) in groups {
        let fields: Vec<(&str, &str)> = stream.fields().collect();
        put_uvarint(out, fields.len() as u64);
        for (name, value) in fields {
            put_bytes(out, name.as_bytes());
            put_bytes(out, value.as_bytes());
        }
        put_uvarint(out, members.len() as u64);
        for row in members {
            put_ivarint(out, row.time);
            put_uvarint(out, row.fields().len() as u64);
            for (name, value) in row.fields() {
                put_bytes(out, name.as_bytes());
                put_bytes(out, value.as_bytes());
            }
        }
    }
    end_frame(out, start);
}

/// A decoded record.
#[derive(Debug)]
pub struct Record {
    /// what the record holds
    pub kind: Kind,
    /// its rows, streams interned through the caller
    pub rows: Vec<Row>,
}

/// The readable part of a segment.
#[derive(Debug)]
pub struct Contents {
    /// whole, valid records in order
    pub records: Vec<Record>,
    /// bytes covered by them; anything after is torn or corrupt
    pub valid_len: u64,
    /// whether bytes follow the last valid record
    pub torn: bool,
}

/// Reads a segment, stopping at the first record that is short, fails its crc or does not
/// decode. `intern` turns stream fields into the shared stream.
pub fn read_segment(
    path: &Path,
    intern: &mut dyn FnMut(Stream) -> Arc<Stream>,
) -> io::Result<Contents> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut pos = 0usize;
    let mut records = Vec::new();
    while let Some(payload) = read_frame(&data, pos) {
        let Some(record) = decode_payload(payload, intern) else {
            break;
        };
        records.push(record);
        pos += FRAME_HEADER + payload.len();
    }
    Ok(Contents {
        records,
        valid_len: pos as u64,
        torn: pos < data.len(),
    })
}

fn decode_payload(payload: &[u8], intern: &mut dyn FnMut(Stream) -> Arc<Stream>) -> Option<Record> {
    let mut r = Reader::new(payload);
    let kind = match r.byte()? {
        1 => {
            r.uvarint()?;
            Kind::Rows
        }
        2 => Kind::Carry { tag: r.uvarint()? },
        _ => return None,
    };
    let groups = r.len(payload.len())?;
    let mut rows = Vec::new();
    for _ in 0..groups {
        let n = r.len(payload.len())?;
        let mut stream_fields = Vec::with_capacity(n);
        for _ in 0..n {
            stream_fields.push((r.str()?.to_owned(), r.str()?.to_owned()));
        }
        let stream = intern(Stream::new(stream_fields));
        let count = r.len(payload.len())?;
        for _ in 0..count {
            let time = r.ivarint()?;
            let n = r.len(payload.len())?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                fields.push((r.str()?, r.str()?));
            }
            rows.push(Row::new(time, Arc::clone(&stream), fields));
        }
    }
    r.is_empty().then_some(Record { kind, rows })
}

/// The segment being appended to.
#[derive(Debug)]
pub struct ActiveSegment {
    /// its number
    pub seg: u64,
    /// the file, shared with the flusher that `fdatasync`s it
    pub file: Arc<File>,
    /// bytes written
    pub len: u64,
    /// bytes written by appends (not by carried rows): what triggers a checkpoint
    pub appended: u64,
    /// when the segment was opened
    pub opened: std::time::Instant,
}

impl ActiveSegment {
    /// Creates segment `seg` in `dir` (which must exist) and syncs the directory so the
    /// file survives a power loss.
    pub fn create(dir: &Path, seg: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(segment_path(dir, seg))?;
        sync_dir(dir)?;
        Ok(Self {
            seg,
            file: Arc::new(file),
            len: 0,
            appended: 0,
            opened: std::time::Instant::now(),
        })
    }

    /// Appends encoded records with one `write(2)` sequence. On failure the file is cut back
    /// to its previous length so no torn record sits before later ones; if even that fails
    /// the error says so and the caller must stop appending to this segment.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let mut file: &File = &self.file;
        match file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            // Opened in append mode: after the cut, the next write lands at the new end.
            Err(e) => match self.file.set_len(self.len) {
                Ok(()) => Err(WriteError::Clean(e)),
                Err(_) => Err(WriteError::Broken(e)),
            },
        }
    }
}

/// A failed WAL write.
#[derive(Debug)]
pub enum WriteError {
    /// Nothing of the record remains; the segment is usable.
    Clean(io::Error),
    /// Part of the record may remain; the segment must not be appended to.
    Broken(io::Error),
}

/// `fsync` of a directory, so entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(stream: &Arc<Stream>, time: i64, msg: &str) -> Arc<Row> {
        Arc::new(Row::new(
            time,
            Arc::clone(stream),
            [("_msg", msg), ("k", "v")],
        ))
    }

    fn read(path: &Path) -> Contents {
        read_segment(path, &mut |s| Arc::new(s)).unwrap()
    }

    #[test]
    fn records_round_trip_and_torn_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let a = Arc::new(Stream::new([("app".to_owned(), "a".to_owned())]));
        let b = Arc::new(Stream::new([]));
        let mut seg = ActiveSegment::create(dir.path(), 1).unwrap();
        let mut buf = Vec::new();
        encode_record(
            Kind::Rows,
            &[row(&a, 1, "x"), row(&b, 2, "y"), row(&a, -3, "z")],
            &mut buf,
        );
        encode_record(Kind::Carry { tag: 7 }, &[row(&b, 4, "w")], &mut buf);
        seg.write(&buf).unwrap();
        let whole = buf.len() as u64;
        // A torn third record: only half of it reached the file.
        let mut third = Vec::new();
        encode_record(Kind::Rows, &[row(&a, 5, "torn")], &mut third);
        seg.write(&third[..third.len() / 2]).unwrap();

        let contents = read(&segment_path(dir.path(), 1));
        assert!(contents.torn);
        assert_eq!(contents.valid_len, whole);
        assert_eq!(contents.records.len(), 2);
        let first = &contents.records[0];
        assert_eq!(first.kind, Kind::Rows);
        let times: Vec<i64> = first.rows.iter().map(|r| r.time).collect();
        assert_eq!(times, [1, -3, 2]);
        assert_eq!(first.rows[0].stream.text(), r#"{app="a"}"#);
        assert_eq!(first.rows[2].field("_msg"), Some("y"));
        assert_eq!(contents.records[1].kind, Kind::Carry { tag: 7 });
        assert_eq!(list_segments(dir.path()).unwrap(), [1]);
    }

    #[test]
    fn a_flipped_byte_ends_the_readable_part() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(Stream::new([]));
        let mut buf = Vec::new();
        encode_record(Kind::Rows, &[row(&s, 1, "a")], &mut buf);
        let first = buf.len();
        encode_record(Kind::Rows, &[row(&s, 2, "b")], &mut buf);
        if let Some(b) = buf.get_mut(first + 12) {
            *b ^= 0xff;
        }
        std::fs::write(segment_path(dir.path(), 3), &buf).unwrap();
        let contents = read(&segment_path(dir.path(), 3));
        assert_eq!(contents.records.len(), 1);
        assert_eq!(contents.valid_len, first as u64);
    }

    proptest::proptest! {
        #[test]
        fn garbage_segments_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let dir = tempfile::tempdir().unwrap();
            let path = segment_path(dir.path(), 9);
            std::fs::write(&path, &data).unwrap();
            let contents = read(&path);
            proptest::prop_assert!(contents.valid_len <= data.len() as u64);
        }
    }
}
