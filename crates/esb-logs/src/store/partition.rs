//! One UTC day on disk: `partitions/YYYYMMDD/` with `blocks.dat` (token filters and
//! compressed bodies, append-only), `blocks.idx` (framed block headers) and `streams.idx`
//! (framed stream definitions, one per stream first seen that day). Retention deletes the
//! directory. Opening a partition drops what an unfinished checkpoint left behind.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::codec::{
    FRAME_HEADER, Reader, begin_frame, end_frame, put_bytes, put_uvarint, read_frame,
};
use crate::row::{Stream, StreamId};
use crate::store::block::{DecodeError, Decoded, Encoded, Header};
use crate::store::wal::sync_dir;

const DATA: &str = "blocks.dat";
const INDEX: &str = "blocks.idx";
const STREAMS: &str = "streams.idx";

/// A sealed block as queries see it: its header, its stream, and the file holding it.
#[derive(Debug)]
pub struct BlockRef {
    /// the header
    pub header: Header,
    /// the stream of every row in the block
    pub stream: Arc<Stream>,
    data: Arc<File>,
}

impl BlockRef {
    /// The block's token filters (one per column, see [`Header::columns`]).
    pub fn read_filters(&self) -> io::Result<Vec<u8>> {
        let mut filters = vec![0u8; self.header.filters_len as usize];
        self.data.read_exact_at(&mut filters, self.header.offset)?;
        Ok(filters)
    }

    /// Reads and decodes the block.
    pub fn read(&self) -> Result<Decoded, DecodeError> {
        let mut body = vec![0u8; self.header.body_len as usize];
        self.data.read_exact_at(
            &mut body,
            self.header.offset + u64::from(self.header.filters_len),
        )?;
        Decoded::decode(&self.header, &body)
    }

    /// Bytes the block occupies in the data file.
    pub fn stored_len(&self) -> u64 {
        u64::from(self.header.filters_len) + u64::from(self.header.body_len)
    }
}

/// What queries read of a partition.
#[derive(Debug, Default)]
pub struct Index {
    /// the sealed blocks, in the order they were written
    pub blocks: Vec<Arc<BlockRef>>,
}

#[derive(Debug)]
struct Files {
    data: Arc<File>,
    index: File,
    streams: File,
    data_len: u64,
    index_len: u64,
    streams_len: u64,
    known: HashSet<StreamId>,
    /// written since the last sync
    dirty: bool,
    /// a failed write could not be undone: refuse further writes until reopened
    broken: bool,
}

/// One day's blocks.
#[derive(Debug)]
pub struct Partition {
    /// the UTC day number
    pub day: i64,
    dir: PathBuf,
    files: Mutex<Files>,
    index: RwLock<Index>,
}

impl Partition {
    /// Opens (creating if needed) the partition of `day` in `dir`. Blocks whose tag is
    /// above `applied` (their checkpoint never completed: the WAL still holds their rows),
    /// whose stream is unknown or whose bytes are missing are dropped; torn tails of the
    /// index files are cut.
    pub fn open(
        dir: PathBuf,
        day: i64,
        applied: u64,
        intern: &mut dyn FnMut(Stream) -> Arc<Stream>,
    ) -> io::Result<Self> {
        let created = !dir.exists();
        std::fs::create_dir_all(&dir)?;
        if created && let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join(name))
        };
        let data = open(DATA)?;
        let index = open(INDEX)?;
        let streams = open(STREAMS)?;

        let mut known_streams: HashMap<StreamId, Arc<Stream>> = HashMap::new();
        let stream_bytes = read_all(&streams)?;
        let mut pos = 0;
        while let Some(payload) = read_frame(&stream_bytes, pos) {
            let Some(stream) = decode_stream(payload) else {
                break;
            };
            let stream = intern(stream);
            known_streams.insert(stream.id(), stream);
            pos += FRAME_HEADER + payload.len();
        }
        let streams_len = pos as u64;
        if streams_len < stream_bytes.len() as u64 {
            streams.set_len(streams_len)?;
        }

        let data_len_on_disk = data.metadata()?.len();
        let data = Arc::new(data);
        let index_bytes = read_all(&index)?;
        let mut kept = Vec::new();
        let mut kept_bytes = Vec::new();
        let mut pos = 0;
        let mut dropped = false;
        while let Some(payload) = read_frame(&index_bytes, pos) {
            pos += FRAME_HEADER + payload.len();
            let Some(header) = Header::decode(payload) else {
                dropped = true;
                continue;
            };
            let end = header.offset + u64::from(header.filters_len) + u64::from(header.body_len);
            let stream = known_streams.get(&header.stream);
            match stream {
                Some(stream) if header.tag <= applied && end <= data_len_on_disk => {
                    let start = begin_frame(&mut kept_bytes);
                    kept_bytes.extend_from_slice(payload);
                    end_frame(&mut kept_bytes, start);
                    kept.push(Arc::new(BlockRef {
                        header,
                        stream: Arc::clone(stream),
                        data: Arc::clone(&data),
                    }));
                }
                _ => dropped = true,
            }
        }
        let torn = pos < index_bytes.len();
        if dropped || torn {
            replace_file(&dir, INDEX, &kept_bytes)?;
        }
        let index = if dropped || torn {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(dir.join(INDEX))?
        } else {
            index
        };
        let data_len = kept
            .iter()
            .map(|b| b.header.offset + b.stored_len())
            .max()
            .unwrap_or(0);
        if data_len < data_len_on_disk {
            data.set_len(data_len)?;
        }
        Ok(Self {
            day,
            files: Mutex::new(Files {
                data,
                index,
                streams,
                data_len,
                index_len: kept_bytes.len() as u64,
                streams_len,
                known: known_streams.keys().copied().collect(),
                dirty: false,
                broken: false,
            }),
            index: RwLock::new(Index { blocks: kept }),
            dir,
        })
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a block (no sync: see [`Partition::sync`]) and returns it, ready to be
    /// registered with [`Partition::register`]. A failed write is undone.
    pub fn write_block(
        &self,
        mut encoded: Encoded,
        stream: &Arc<Stream>,
    ) -> io::Result<Arc<BlockRef>> {
        let mut files = self
            .files
            .lock()
            .map_err(|_| io::Error::other("partition lock poisoned"))?;
        if files.broken {
            return Err(io::Error::other(format!(
                "partition {} could not undo a failed write; restart to recover it",
                self.dir.display()
            )));
        }
        encoded.header.offset = files.data_len;
        let new_stream = !files.known.contains(&stream.id());
        let mut stream_record = Vec::new();
        if new_stream {
            let start = begin_frame(&mut stream_record);
            encode_stream(stream, &mut stream_record);
            end_frame(&mut stream_record, start);
        }
        let mut index_record = Vec::new();
        let start = begin_frame(&mut index_record);
        encoded.header.encode(&mut index_record);
        end_frame(&mut index_record, start);

        let f = &*files;
        let written = f
            .data
            .write_all_at(&encoded.filters, f.data_len)
            .and_then(|()| {
                f.data
                    .write_all_at(&encoded.body, f.data_len + encoded.filters.len() as u64)
            })
            .and_then(|()| f.streams.write_all_at(&stream_record, f.streams_len))
            .and_then(|()| f.index.write_all_at(&index_record, f.index_len));
        if let Err(e) = written {
            let undone = f
                .data
                .set_len(f.data_len)
                .and_then(|()| f.streams.set_len(f.streams_len))
                .and_then(|()| f.index.set_len(f.index_len));
            if undone.is_err() {
                files.broken = true;
            }
            return Err(e);
        }
        files.data_len += (encoded.filters.len() + encoded.body.len()) as u64;
        files.streams_len += stream_record.len() as u64;
        files.index_len += index_record.len() as u64;
        files.known.insert(stream.id());
        files.dirty = true;
        Ok(Arc::new(BlockRef {
            header: encoded.header,
            stream: Arc::clone(stream),
            data: Arc::clone(&files.data),
        }))
    }

    /// Makes a written block visible to queries.
    pub fn register(&self, block: Arc<BlockRef>) {
        if let Ok(mut index) = self.index.write() {
            index.blocks.push(block);
        }
    }

    /// `fdatasync`s everything written since the last sync.
    pub fn sync(&self) -> io::Result<()> {
        let mut files = self
            .files
            .lock()
            .map_err(|_| io::Error::other("partition lock poisoned"))?;
        if files.dirty {
            files.data.sync_data()?;
            files.streams.sync_data()?;
            files.index.sync_data()?;
            files.dirty = false;
        }
        Ok(())
    }

    /// The blocks, for a query.
    pub fn blocks(&self) -> Vec<Arc<BlockRef>> {
        self.index
            .read()
            .map(|index| index.blocks.clone())
            .unwrap_or_default()
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.files
            .lock()
            .map(|f| f.data_len + f.index_len + f.streams_len)
            .unwrap_or(0)
    }
}

fn read_all(mut file: &File) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Replaces `dir/name` with `bytes` atomically (temp file, fsync, rename, directory fsync).
pub fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let file = File::create(&tmp)?;
        file.write_all_at(bytes, 0)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

fn encode_stream(stream: &Stream, out: &mut Vec<u8>) {
    let fields: Vec<(&str, &str)> = stream.fields().collect();
    put_uvarint(out, fields.len() as u64);
    for (name, value) in fields {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

fn decode_stream(payload: &[u8]) -> Option<Stream> {
    let mut r = Reader::new(payload);
    let count = r.len(payload.len())?;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        fields.push((r.str()?.to_owned(), r.str()?.to_owned()));
    }
    r.is_empty().then(|| Stream::new(fields))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::row::Row;
    use crate::store::block;

    fn block_of(stream: &Arc<Stream>, tag: u64, base: i64) -> Encoded {
        let mut rows: Vec<Arc<Row>> = (0..10)
            .map(|i| {
                Arc::new(Row::new(
                    base + i,
                    Arc::clone(stream),
                    [("_msg", format!("m{i}"))],
                ))
            })
            .collect();
        block::encode(&mut rows, tag).unwrap()
    }

    fn open(dir: &Path, applied: u64) -> Partition {
        Partition::open(dir.join("20260101"), 1, applied, &mut |s| Arc::new(s)).unwrap()
    }

    #[test]
    fn blocks_survive_reopen_unless_their_checkpoint_did_not_finish() {
        let dir = tempfile::tempdir().unwrap();
        let stream = Arc::new(Stream::new([("a".to_owned(), "b".to_owned())]));
        let p = open(dir.path(), 0);
        for (tag, base) in [(1, 0), (2, 100), (3, 200)] {
            let b = p
                .write_block(block_of(&stream, tag, base), &stream)
                .unwrap();
            p.register(b);
        }
        p.sync().unwrap();
        assert_eq!(p.blocks().len(), 3);
        drop(p);

        let p = open(dir.path(), 2);
        let blocks = p.blocks();
        assert_eq!(blocks.len(), 2);
        let block = blocks[1].read().unwrap();
        assert_eq!(block.time(0), 100);
        assert_eq!(blocks[1].stream.text(), r#"{a="b"}"#);
        // The dropped block's bytes are gone and new blocks go after the kept ones.
        let b = p.write_block(block_of(&stream, 3, 300), &stream).unwrap();
        assert_eq!(
            b.header.offset,
            blocks[1].header.offset + blocks[1].stored_len()
        );
        drop(p);
        assert_eq!(open(dir.path(), 3).blocks().len(), 3);
    }

    #[test]
    fn torn_index_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let stream = Arc::new(Stream::new([]));
        let p = open(dir.path(), 0);
        p.register(p.write_block(block_of(&stream, 0, 0), &stream).unwrap());
        drop(p);
        let index = dir.path().join("20260101").join(INDEX);
        let mut bytes = std::fs::read(&index).unwrap();
        bytes.extend_from_slice(&[9, 9, 9]);
        std::fs::write(&index, &bytes).unwrap();
        let p = open(dir.path(), 0);
        assert_eq!(p.blocks().len(), 1);
        assert_eq!(std::fs::read(&index).unwrap().len(), bytes.len() - 3);
        assert!(p.blocks()[0].read().is_ok());
    }
}
