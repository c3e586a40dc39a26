//! Opening a data directory: read the last completed checkpoint, open the day partitions
//! (dropping blocks of checkpoints that never completed), delete WAL segments the
//! checkpoint covers and replay the others into the in-memory tail. A torn record at the end
//! of the last segment is cut; nothing here panics on damaged files.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::memtail::MemTail;
use super::partition::{Partition, replace_file};
use super::retention::allowed_days;
use super::wal::{self, ActiveSegment, Kind};
use super::{StoreConfig, StoreError};
use crate::row::{Stream, StreamId};
use crate::timeutil;

/// WAL segments live here.
pub(super) const WAL_DIR: &str = "wal";
/// Day partitions live here.
pub(super) const PARTITIONS_DIR: &str = "partitions";
/// The last completed checkpoint.
const CHECKPOINT_FILE: &str = "checkpoint";

/// What recovery hands to the store.
pub(super) struct Recovered {
    /// held open for the store's life: the data directory's lock
    pub lock: std::fs::File,
    pub wal: ActiveSegment,
    pub tail: MemTail,
    pub partitions: BTreeMap<i64, Arc<Partition>>,
    pub streams: HashMap<StreamId, Arc<Stream>>,
    pub applied: u64,
    pub last_seq: u64,
}

pub(super) fn recover(dir: &Path, config: &StoreConfig) -> Result<Recovered, StoreError> {
    let open_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Open { path, source }
    };
    let wal_dir = dir.join(WAL_DIR);
    let partitions_dir = dir.join(PARTITIONS_DIR);
    std::fs::create_dir_all(&wal_dir).map_err(open_err(&wal_dir))?;
    let lock_path = dir.join("lock");
    let lock = std::fs::File::create(&lock_path).map_err(open_err(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Locked(dir.to_path_buf()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(open_err(&lock_path)(e)),
    }
    std::fs::create_dir_all(&partitions_dir).map_err(open_err(&partitions_dir))?;
    let applied = read_checkpoint(dir)?;

    let mut streams: HashMap<StreamId, Arc<Stream>> = HashMap::new();
    let mut intern = |stream: Stream| -> Arc<Stream> {
        Arc::clone(
            streams
                .entry(stream.id())
                .or_insert_with(|| Arc::new(stream)),
        )
    };

    let mut partitions = BTreeMap::new();
    for entry in std::fs::read_dir(&partitions_dir).map_err(open_err(&partitions_dir))? {
        let entry = entry.map_err(open_err(&partitions_dir))?;
        let Some(day) = entry
            .file_name()
            .to_str()
            .and_then(timeutil::parse_day_name)
        else {
            continue;
        };
        let path = entry.path();
        let partition =
            Partition::open(path.clone(), day, applied, &mut intern).map_err(open_err(&path))?;
        partitions.insert(day, Arc::new(partition));
    }

    let segments = wal::list_segments(&wal_dir).map_err(open_err(&wal_dir))?;
    let (min_day, max_day) = allowed_days(timeutil::now_ns(), config);
    let mut tail = MemTail::default();
    let mut last_seq = 0;
    let mut replayed = 0usize;
    let last_segment = segments.last().copied();
    for &seg in &segments {
        let path = wal::segment_path(&wal_dir, seg);
        if seg <= applied {
            std::fs::remove_file(&path).map_err(open_err(&path))?;
            continue;
        }
        let contents = wal::read_segment(&path, &mut intern).map_err(open_err(&path))?;
        for record in contents.records {
            if let Kind::Carry { tag } = record.kind
                && tag > applied
            {
                // Checkpoint `tag` did not complete: the carried rows' own records are
                // replayed from the older segments instead.
                continue;
            }
            last_seq += 1;
            for row in record.rows {
                let day = timeutil::day_of(row.time);
                if (min_day..=max_day).contains(&day) {
                    tail.insert(Arc::new(row));
                    replayed += 1;
                }
            }
        }
        if contents.torn {
            if Some(seg) == last_segment {
                tracing::warn!(segment = %path.display(), "cutting a torn record at the end of the logs WAL");
                cut(&path, contents.valid_len).map_err(open_err(&path))?;
            } else {
                tracing::warn!(segment = %path.display(), "a logs WAL segment ends with a damaged record; rows after it are lost");
            }
        }
    }
    if replayed > 0 {
        tracing::info!(rows = replayed, "replayed the logs WAL");
    }
    let next = last_segment.unwrap_or(0).max(applied) + 1;
    let wal = ActiveSegment::create(&wal_dir, next).map_err(open_err(&wal_dir))?;
    Ok(Recovered {
        lock,
        wal,
        tail,
        partitions,
        streams,
        applied,
        last_seq,
    })
}

fn cut(path: &Path, len: u64) -> io::Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.set_len(len)?;
    file.sync_all()
}

/// The last completed checkpoint (0 when none ever completed).
fn read_checkpoint(dir: &Path) -> Result<u64, StoreError> {
    let path = dir.join(CHECKPOINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .strip_prefix("applied_through=")
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::CorruptCheckpoint(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(StoreError::Open { path, source }),
    }
}

/// Records that checkpoint `seg` completed (atomically).
pub(super) fn write_checkpoint(dir: &Path, seg: u64) -> io::Result<()> {
    replace_file(
        dir,
        CHECKPOINT_FILE,
        format!("applied_through={seg}\n").as_bytes(),
    )
}

/// The directory of a day's partition.
pub(super) fn partition_dir(dir: &Path, day: i64) -> PathBuf {
    dir.join(PARTITIONS_DIR).join(timeutil::day_name(day))
}
