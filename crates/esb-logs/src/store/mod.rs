//! The log store (design note §8). Appends go to a write-ahead log and to an in-memory tail:
//! the append returns once the WAL `write(2)` is done (which alone survives SIGKILL) and the
//! rows are searchable; a flusher `fdatasync`s the WAL at most [`StoreConfig::sync_interval`]
//! later (or at once for [`Durability::Synced`]). A maintainer seals the tail into
//! compressed per-stream blocks in per-UTC-day partitions at checkpoints, after which the
//! WAL segments they covered are deleted, and applies retention.
//!
//! Modules: [`wal`], [`memtail`], [`block`] (+ [`bloom`]), [`partition`], [`checkpoint`],
//! [`recovery`], [`retention`].

pub mod block;
pub mod bloom;
mod checkpoint;
pub mod memtail;
pub mod partition;
mod recovery;
pub mod retention;
pub mod wal;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::row::{Row, Stream, StreamId};
use crate::timeutil;
use memtail::{Buffer, MemTail};
use partition::{BlockRef, Partition};
use wal::ActiveSegment;

/// How the store behaves; the defaults are the design note's.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Rows older than this (cut to the UTC day) are refused, and whole days past it are
    /// deleted. VictoriaLogs' `-retentionPeriod`; default 7 days, at least one day.
    pub retention: Duration,
    /// Rows newer than now plus this (cut to the UTC day) are refused (VictoriaLogs'
    /// `-futureRetention`, 2 days).
    pub future_retention: Duration,
    /// When set, the oldest days are deleted while the store is larger than this.
    pub max_disk_bytes: Option<u64>,
    /// Longest time an acknowledged row waits for `fdatasync` (group commit).
    pub sync_interval: Duration,
    /// A checkpoint runs once this many bytes were appended to the WAL segment…
    pub checkpoint_bytes: u64,
    /// …or once the segment with appended rows is this old.
    pub checkpoint_interval: Duration,
    /// A stream's buffer is sealed into a block once it holds this many bytes.
    pub seal_bytes: usize,
    /// At a checkpoint, smaller buffers are carried into the next WAL segment instead of
    /// becoming small blocks…
    pub carry_bytes: usize,
    /// …unless their first row is older than this…
    pub carry_age: Duration,
    /// …or the carried buffers would hold more than this in all.
    pub carry_total: usize,
    /// Appends wait while unsealed rows hold more than this many bytes of text, so a
    /// burst faster than sealing cannot exhaust memory (bounded queues, as everywhere in
    /// the box). At least twice `carry_total`.
    pub max_tail_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(7 * 86_400),
            future_retention: Duration::from_secs(2 * 86_400),
            max_disk_bytes: None,
            sync_interval: Duration::from_millis(50),
            checkpoint_bytes: 8 << 20,
            checkpoint_interval: Duration::from_secs(30),
            seal_bytes: 1 << 20,
            carry_bytes: 64 << 10,
            carry_age: Duration::from_secs(600),
            carry_total: 4 << 20,
            max_tail_bytes: 32 << 20,
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be opened or recovered.
    #[error("cannot open the logs data directory {path}: {source}")]
    Open {
        /// the path that failed
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// Another process has the data directory open.
    #[error(
        "the logs data directory {0} is in use by another process (a logs server or esb up); stop it or choose another data directory"
    )]
    Locked(PathBuf),
    /// The checkpoint file does not parse.
    #[error("the logs checkpoint file {0} is corrupt; it must read applied_through=<number>")]
    CorruptCheckpoint(PathBuf),
    /// Writing the WAL failed; nothing of the append was stored.
    #[error("cannot write the logs WAL: {0}")]
    Wal(std::io::Error),
    /// `fdatasync` of the WAL failed.
    #[error("cannot sync the logs WAL: {0}")]
    Sync(String),
    /// Sealing blocks or finishing a checkpoint failed; the WAL keeps the rows.
    #[error("cannot seal log blocks: {0}")]
    Seal(std::io::Error),
    /// The store was closed.
    #[error("the logs store is closed")]
    Closed,
}

/// When an append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After the WAL `write(2)`: survives the process being killed; `fdatasync` follows
    /// within [`StoreConfig::sync_interval`].
    #[default]
    Written,
    /// After the WAL `fdatasync`: survives power loss.
    Synced,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendOutcome {
    /// rows stored
    pub stored: usize,
    /// rows refused as older than the retention
    pub too_old: usize,
    /// rows refused as too far in the future
    pub too_new: usize,
}

/// Rows of one append, as live-tail subscribers receive them.
#[derive(Debug)]
pub struct Batch {
    /// the append's sequence number (increasing)
    pub seq: u64,
    /// its rows
    pub rows: Vec<Arc<Row>>,
}

/// Rows of the in-memory tail, as a query sees them.
#[derive(Debug)]
pub struct TailPart {
    /// their stream
    pub stream: Arc<Stream>,
    /// the rows (not sorted)
    pub rows: Vec<Arc<Row>>,
    /// oldest row time
    pub min_time: i64,
    /// newest row time
    pub max_time: i64,
}

/// Everything a query may read, taken atomically: rows move from the tail to blocks
/// between snapshots, never within one.
#[derive(Debug)]
pub struct Snapshot {
    /// sealed blocks
    pub blocks: Vec<Arc<BlockRef>>,
    /// unsealed rows
    pub tail: Vec<TailPart>,
    /// the last append included
    pub seq: u64,
}

struct State {
    wal: ActiveSegment,
    /// Set when a failed WAL write could not be undone; cleared by the next rotation.
    wal_broken: Option<String>,
    tail: MemTail,
    /// Buffers being sealed: still visible to queries until their blocks are registered.
    frozen: Vec<Arc<Buffer>>,
    partitions: BTreeMap<i64, Arc<Partition>>,
    last_seq: u64,
    closed: bool,
}

#[derive(Default)]
struct Durable {
    synced_seq: u64,
    error: Option<String>,
    wanted: bool,
    stop: bool,
}

/// What only the sealing side (checkpoints, sealing, retention) touches; its lock
/// serializes those jobs.
struct Sealer {
    /// the last completed checkpoint: WAL segments up to it are no longer needed
    applied: u64,
    /// partitions written since the last checkpoint, to sync at the next one
    dirty: HashMap<i64, Arc<Partition>>,
    last_retention: std::time::Instant,
}

struct Shared {
    dir: PathBuf,
    /// Locked while the store is open: one process per data directory.
    _lock: std::fs::File,
    config: StoreConfig,
    state: RwLock<State>,
    streams: Mutex<HashMap<StreamId, Arc<Stream>>>,
    durable: Mutex<Durable>,
    durable_changed: Condvar,
    sealer: Mutex<Sealer>,
    stop: Mutex<bool>,
    wake: Condvar,
    /// Signalled when sealing frees tail memory (appends may be waiting for room).
    room: Mutex<()>,
    room_freed: Condvar,
    live: broadcast::Sender<Arc<Batch>>,
}

/// The log store over one data directory.
pub struct Store {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .finish()
    }
}

/// How many appends a live-tail subscriber may fall behind before it misses some. The
/// channel keeps unread appends, so this bounds the memory a slow tail client can pin
/// (live tail is meant for human-rate logs, as in VictoriaLogs).
const LIVE_CAPACITY: usize = 256;

impl Store {
    /// Opens the store in `dir` (created if missing), recovering what a crash left: blocks
    /// of unfinished checkpoints are dropped and the WAL is replayed (a torn last record is
    /// cut). Starts the flusher and maintainer threads.
    pub fn open(dir: impl Into<PathBuf>, config: StoreConfig) -> Result<Self, StoreError> {
        let dir = dir.into();
        let recovered = recovery::recover(&dir, &config)?;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let shared = Arc::new(Shared {
            dir,
            _lock: recovered.lock,
            config,
            state: RwLock::new(State {
                wal: recovered.wal,
                wal_broken: None,
                tail: recovered.tail,
                frozen: Vec::new(),
                partitions: recovered.partitions,
                last_seq: recovered.last_seq,
                closed: false,
            }),
            streams: Mutex::new(recovered.streams),
            durable: Mutex::new(Durable {
                synced_seq: recovered.last_seq,
                ..Durable::default()
            }),
            durable_changed: Condvar::new(),
            sealer: Mutex::new(Sealer {
                applied: recovered.applied,
                dirty: HashMap::new(),
                last_retention: std::time::Instant::now(),
            }),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            room: Mutex::new(()),
            room_freed: Condvar::new(),
            live,
        });
        if let Err(e) = shared.enforce_retention() {
            tracing::warn!(error = %e, "logs retention failed at startup");
        }
        let flusher = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("esb-logs-flush".into())
                .spawn(move || shared.run_flusher())
        };
        let maintainer = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("esb-logs-maint".into())
                .spawn(move || shared.run_maintainer())
        };
        let spawn_error = |source| StoreError::Open {
            path: shared.dir.clone(),
            source,
        };
        let threads = vec![
            flusher.map_err(spawn_error)?,
            maintainer.map_err(spawn_error)?,
        ];
        Ok(Self {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Stores rows. Rows outside the retention window are counted, not stored. Blocking
    /// (file I/O): call it from a blocking thread.
    pub fn append(
        &self,
        rows: Vec<Row>,
        durability: Durability,
    ) -> Result<AppendOutcome, StoreError> {
        self.shared.append(rows, durability)
    }

    /// What a query over `[min_time, max_time]` and the streams `stream_ok` accepts may read.
    pub fn snapshot(
        &self,
        min_time: i64,
        max_time: i64,
        stream_ok: &dyn Fn(&Stream) -> bool,
    ) -> Snapshot {
        let state = self.shared.read_state();
        let mut blocks = Vec::new();
        let days = timeutil::day_of(min_time)..=timeutil::day_of(max_time);
        for partition in state.partitions.range(days).map(|(_, p)| p) {
            for block in partition.blocks() {
                let h = &block.header;
                if h.max_time >= min_time && h.min_time <= max_time && stream_ok(&block.stream) {
                    blocks.push(block);
                }
            }
        }
        let mut tail = Vec::new();
        let frozen = state.frozen.iter().map(|b| &**b);
        for buffer in state.tail.buffers().chain(frozen) {
            if buffer.max_time >= min_time
                && buffer.min_time <= max_time
                && stream_ok(&buffer.stream)
            {
                tail.push(TailPart {
                    stream: Arc::clone(&buffer.stream),
                    rows: buffer.rows.clone(),
                    min_time: buffer.min_time,
                    max_time: buffer.max_time,
                });
            }
        }
        Snapshot {
            blocks,
            tail,
            seq: state.last_seq,
        }
    }

    /// Receives every append from now on (a subscriber that falls more than 256 appends
    /// behind misses some and is told so by the channel).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.shared.live.subscribe()
    }

    /// Runs a checkpoint now: every buffered row goes into blocks and the WAL is trimmed
    /// (`/internal/force_flush`). Blocking.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.shared.checkpoint(true)
    }

    /// Bytes the store occupies on disk (blocks and WAL).
    pub fn disk_bytes(&self) -> u64 {
        let state = self.shared.read_state();
        state
            .partitions
            .values()
            .map(|p| p.disk_bytes())
            .sum::<u64>()
            + wal_bytes(&self.shared.dir)
    }

    /// Stops the background threads after a last WAL sync. Appends fail afterwards.
    pub fn close(&self) {
        self.shared.write_state().closed = true;
        if let Ok(mut stop) = self.shared.stop.lock() {
            *stop = true;
        }
        self.shared.wake.notify_all();
        if let Ok(mut durable) = self.shared.durable.lock() {
            durable.stop = true;
        }
        self.shared.durable_changed.notify_all();
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn wal_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join(recovery::WAL_DIR))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

impl Shared {
    // A poisoned lock means a thread panicked while holding it; the data under it is still
    // consistent at the points we release it, so keep serving rather than cascade.
    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_sealer(&self) -> MutexGuard<'_, Sealer> {
        self.sealer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_durable(&self) -> MutexGuard<'_, Durable> {
        self.durable.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, rows: Vec<Row>, durability: Durability) -> Result<AppendOutcome, StoreError> {
        let (min_day, max_day) = retention::allowed_days(timeutil::now_ns(), &self.config);
        let mut outcome = AppendOutcome::default();
        let mut kept = Vec::with_capacity(rows.len());
        {
            let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
            for mut row in rows {
                let day = timeutil::day_of(row.time);
                if day < min_day {
                    outcome.too_old += 1;
                    continue;
                }
                if day > max_day {
                    outcome.too_new += 1;
                    continue;
                }
                // One shared Stream per stream id keeps the tail and the blocks small.
                let stream = streams
                    .entry(row.stream.id())
                    .or_insert_with(|| Arc::clone(&row.stream));
                row.stream = Arc::clone(stream);
                kept.push(Arc::new(row));
            }
        }
        if outcome.too_old + outcome.too_new > 0 {
            tracing::warn!(
                too_old = outcome.too_old,
                too_new = outcome.too_new,
                "dropped log rows outside the retention window"
            );
        }
        if kept.is_empty() {
            return Ok(outcome);
        }
        outcome.stored = kept.len();
        self.wait_for_room();
        let mut record = Vec::new();
        wal::encode_record(wal::Kind::Rows, &kept, &mut record);

        let mut wake = false;
        let seq = {
            let mut state = self.write_state();
            if state.closed {
                return Err(StoreError::Closed);
            }
            if let Some(reason) = &state.wal_broken {
                return Err(StoreError::Wal(std::io::Error::other(format!(
                    "the WAL segment is unusable after a failed write ({reason}); retrying after the next checkpoint"
                ))));
            }
            match state.wal.write(&record) {
                Ok(()) => {}
                Err(wal::WriteError::Clean(e)) => return Err(StoreError::Wal(e)),
                Err(wal::WriteError::Broken(e)) => {
                    state.wal_broken = Some(e.to_string());
                    return Err(StoreError::Wal(e));
                }
            }
            state.wal.appended += record.len() as u64;
            wake |= state.wal.appended >= self.config.checkpoint_bytes;
            state.last_seq += 1;
            let seq = state.last_seq;
            for row in &kept {
                let (_, bytes) = state.tail.insert(Arc::clone(row));
                wake |= bytes >= self.config.seal_bytes;
            }
            // Sent under the lock so subscribers see appends in sequence order.
            let _ = self.live.send(Arc::new(Batch { seq, rows: kept }));
            seq
        };
        if wake {
            self.wake.notify_all();
        }
        if durability == Durability::Synced {
            self.wait_synced(seq)?;
        }
        Ok(outcome)
    }

    /// Blocks while the unsealed rows exceed `max_tail_bytes`, nudging the maintainer.
    fn wait_for_room(&self) {
        let mut guard = self.room.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let used = {
                let state = self.read_state();
                if state.closed {
                    return;
                }
                state.tail.bytes() + state.frozen.iter().map(|b| b.bytes).sum::<usize>()
            };
            if used < self.config.max_tail_bytes.max(2 * self.config.carry_total) {
                return;
            }
            self.wake.notify_all();
            guard = self
                .room_freed
                .wait_timeout(guard, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    fn wait_synced(&self, seq: u64) -> Result<(), StoreError> {
        let mut durable = self.lock_durable();
        durable.wanted = true;
        self.durable_changed.notify_all();
        while durable.synced_seq < seq {
            if let Some(error) = &durable.error {
                return Err(StoreError::Sync(error.clone()));
            }
            if durable.stop {
                return Err(StoreError::Closed);
            }
            durable = self
                .durable_changed
                .wait_timeout(durable, Duration::from_secs(1))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        Ok(())
    }

    /// Group commit: `fdatasync` the active WAL segment every `sync_interval`, or at once
    /// when an append waits for it.
    fn run_flusher(&self) {
        loop {
            let stop = {
                let mut durable = self.lock_durable();
                if !durable.wanted && !durable.stop {
                    durable = self
                        .durable_changed
                        .wait_timeout(durable, self.config.sync_interval)
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
                durable.wanted = false;
                durable.stop
            };
            // Older segments were synced when rotated away, so syncing the active one makes
            // every append up to `seq` durable.
            let (file, seq) = {
                let state = self.read_state();
                (Arc::clone(&state.wal.file), state.last_seq)
            };
            let synced = self.lock_durable().synced_seq;
            if seq > synced {
                let result = file.sync_data();
                let mut durable = self.lock_durable();
                match result {
                    Ok(()) => {
                        durable.synced_seq = durable.synced_seq.max(seq);
                        durable.error = None;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot fdatasync the logs WAL");
                        durable.error = Some(e.to_string());
                    }
                }
                self.durable_changed.notify_all();
            }
            if stop {
                return;
            }
        }
    }

    /// Seals oversized buffers, runs due checkpoints and retention.
    fn run_maintainer(&self) {
        const TICK: Duration = Duration::from_millis(250);
        const RETENTION_EVERY: Duration = Duration::from_secs(60);
        loop {
            {
                let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
                if *stop {
                    return;
                }
                let (stop, _) = self
                    .wake
                    .wait_timeout(stop, TICK)
                    .unwrap_or_else(|e| e.into_inner());
                if *stop {
                    return;
                }
            }
            if let Err(e) = self.seal_oversized() {
                tracing::error!(error = %e, "sealing log blocks failed");
            }
            if self.checkpoint_due()
                && let Err(e) = self.checkpoint(false)
            {
                tracing::error!(error = %e, "logs checkpoint failed; the WAL keeps the rows");
            }
            let retention_due = self.lock_sealer().last_retention.elapsed() >= RETENTION_EVERY;
            if retention_due && let Err(e) = self.enforce_retention() {
                tracing::error!(error = %e, "logs retention failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
