//! The storage and expression engine: `dynoxide-rs`, embedded behind [`Engine::call`].
//!
//! [`Engine::call`] queues one DynamoDB JSON request for the engine thread, which runs it
//! through dynoxide's JSON dispatch (exposed by our vendored patch,
//! `vendor/dynoxide-rs/ESB-PATCH.md`). The operations are blocking SQLite work, so they never
//! run on the caller's async runtime; and the thread has a large stack
//! ([`EngineConfig::stack_size`]) because the engine parses expressions recursively: a deeply
//! nested expression overflows a default 2 MiB stack and aborts the process. A bounded queue
//! pushes back on callers when the engine is saturated. Another thread sweeps expired TTL items.
//!
//! Durability with group commit: SQLite commits without syncing (WAL, `synchronous=NORMAL`),
//! and the engine thread fsyncs the write-ahead log once for every batch of requests it took
//! from the queue, before answering any request of the batch that ran after a write. An
//! acknowledged write is therefore on disk, as with `synchronous=FULL`, but concurrent writers
//! share one fsync instead of queueing for one each. One thread runs everything (dynoxide
//! serialises on one SQLite connection anyway), so no reader can answer with a write that is
//! not yet on disk.

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::error::DynamoError;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "dynamodb.sqlite";

/// Stack size of the engine's threads: 16 MiB, enough for any expression DynamoDB accepts.
pub const DEFAULT_STACK_SIZE: usize = 16 * 1024 * 1024;

/// Requests waiting for the engine thread before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1024;

/// Most requests run between two fsyncs: bounds how long the first of a batch waits.
const MAX_BATCH: usize = 256;

/// Operations that never write, answered without waiting for an fsync unless they ran after
/// a write of the same batch. Anything else (including an operation this list does not know)
/// is treated as a write.
const READ_ONLY: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "DescribeTable",
    "ListTables",
    "DescribeTimeToLive",
    "ListTagsOfResource",
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
    "SearchVectors",
];

/// How to open the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Directory holding [`DATABASE_FILE`]; `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    /// Stack size of the engine's threads.
    pub stack_size: usize,
    /// How often expired TTL items are deleted; `None` disables the sweep.
    pub ttl_sweep_interval: Option<Duration>,
}

impl EngineConfig {
    /// A durable engine storing its data under `data_dir`.
    pub fn on_disk(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: Some(data_dir.into()),
            ..Self::in_memory()
        }
    }

    /// An engine keeping its data in memory.
    pub fn in_memory() -> Self {
        Self {
            data_dir: None,
            stack_size: DEFAULT_STACK_SIZE,
            ttl_sweep_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// What the engine answered: an HTTP status and a DynamoDB JSON body (a result or an error
/// with `__type` and `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineReply {
    /// HTTP status (200, or DynamoDB's error status).
    pub status: u16,
    /// The JSON body.
    pub body: Bytes,
}

/// One request for an engine thread.
struct Job {
    target: String,
    body: Bytes,
    reply: oneshot::Sender<EngineReply>,
}

/// The running engine. Dropping it stops it.
#[derive(Debug)]
pub struct Engine {
    /// `None` once shut down; the engine thread exits when the last sender is gone.
    jobs: RwLock<Option<mpsc::Sender<Job>>>,
    /// Dropping it wakes and stops the TTL sweep.
    stop_sweep: Mutex<Option<std_mpsc::Sender<()>>>,
    database_path: Option<PathBuf>,
}

impl Engine {
    /// Open the database and start the engine and TTL threads. Blocking (opens SQLite): call it
    /// before entering async code or from `spawn_blocking`.
    pub fn open(config: &EngineConfig) -> Result<Self, DynamoError> {
        let (database, database_path) = open_database(config.data_dir.as_deref())?;
        let (tx, rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let log = database_path.as_ref().map(|p| wal_path(p));
        let db = database.clone();
        std::thread::Builder::new()
            .name("esb-dynamodb-engine".to_owned())
            .stack_size(config.stack_size)
            .spawn(move || work(&db, rx, log.as_deref()))
            .map_err(|e| DynamoError::Start(e.to_string()))?;
        let stop_sweep = match config.ttl_sweep_interval {
            Some(every) => {
                let (stop_tx, stop_rx) = std_mpsc::channel();
                std::thread::Builder::new()
                    .name("esb-dynamodb-ttl".to_owned())
                    .spawn(move || sweep_ttl(&database, every, &stop_rx))
                    .map_err(|e| DynamoError::Start(e.to_string()))?;
                Some(stop_tx)
            }
            None => None,
        };
        Ok(Self {
            jobs: RwLock::new(Some(tx)),
            stop_sweep: Mutex::new(stop_sweep),
            database_path,
        })
    }

    /// Run one DynamoDB operation. `target` is the `X-Amz-Target` header value
    /// (`DynamoDB_20120810.PutItem`), `body` the JSON request. DynamoDB API errors (validation,
    /// conditional check failed, missing table…) come back as an [`EngineReply`] with their
    /// status; `Err` means the engine itself could not answer.
    pub async fn call(&self, target: &str, body: Bytes) -> Result<EngineReply, DynamoError> {
        let jobs = self
            .jobs
            .read()
            .ok()
            .and_then(|jobs| jobs.clone())
            .ok_or_else(|| DynamoError::EngineStopped("shut down".to_owned()))?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            target: target.to_owned(),
            body,
            reply,
        };
        jobs.send(job)
            .await
            .map_err(|_| DynamoError::EngineStopped("the engine thread exited".to_owned()))?;
        answer
            .await
            .map_err(|_| DynamoError::EngineStopped("the engine thread failed".to_owned()))
    }

    /// The database file, when on disk.
    pub fn database_path(&self) -> Option<&Path> {
        self.database_path.as_deref()
    }

    /// Stop the engine: queued and running requests finish, new calls fail.
    pub fn shutdown(&self) {
        if let Ok(mut jobs) = self.jobs.write() {
            jobs.take();
        }
        if let Ok(mut stop) = self.stop_sweep.lock() {
            stop.take();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The engine thread: take a batch of requests, run them, fsync the log if any wrote, answer;
/// until the queue closes.
fn work(db: &dynoxide::Database, mut jobs: mpsc::Receiver<Job>, log: Option<&Path>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Answers held back until the log is synced.
    let mut held: Vec<(oneshot::Sender<EngineReply>, EngineReply)> = Vec::new();
    while jobs.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        let mut wrote = false;
        for job in batch.drain(..) {
            let operation = job.target.rsplit('.').next().unwrap_or("");
            wrote |= !READ_ONLY.contains(&operation);
            let reply = run_guarded(db, &job.target, &job.body);
            if wrote && log.is_some() {
                held.push((job.reply, reply));
            } else {
                // The caller may have gone (client disconnected); nothing to undo.
                let _ = job.reply.send(reply);
            }
        }
        if held.is_empty() {
            continue;
        }
        let synced = log.map_or(Ok(()), sync_log);
        if let Err(e) = &synced {
            tracing::error!(error = %e, "cannot fsync the DynamoDB write-ahead log");
        }
        for (reply_to, reply) in held.drain(..) {
            let reply = match &synced {
                Ok(()) => reply,
                // Committed but maybe not on disk: the client must not take it as durable.
                Err(_) => internal_error(),
            };
            let _ = reply_to.send(reply);
        }
    }
}

/// Run one request; a panic inside the engine is a bug there, not the client's fault: answer
/// 500 and keep the thread (and the box) serving.
fn run_guarded(db: &dynoxide::Database, target: &str, body: &[u8]) -> EngineReply {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(db, target, body))).unwrap_or_else(
        |_| {
            tracing::error!(target, "the DynamoDB engine panicked on a request");
            internal_error()
        },
    )
}

fn internal_error() -> EngineReply {
    EngineReply {
        status: 500,
        body: Bytes::from_static(
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
        ),
    }
}

/// SQLite's write-ahead log beside the database file.
fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Make every commit written so far durable: fdatasync the write-ahead log, as SQLite does at
/// each commit with `synchronous=FULL`. fsync works per file, not per descriptor, so a
/// descriptor of our own covers what SQLite's connection wrote.
fn sync_log(log: &Path) -> std::io::Result<()> {
    match std::fs::File::open(log) {
        Ok(file) => file.sync_data(),
        // No log yet means nothing was committed to it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Run one request through dynoxide's JSON dispatch. A write is committed (not yet synced)
/// when this returns.
fn run(db: &dynoxide::Database, target: &str, body: &[u8]) -> EngineReply {
    let Ok(body) = std::str::from_utf8(body) else {
        return EngineReply {
            status: 400,
            body: Bytes::from_static(
                br#"{"__type":"com.amazon.coral.service#SerializationException"}"#,
            ),
        };
    };
    let (status, json) = dynoxide::server::handle_json(db, Some(target), body);
    EngineReply {
        status,
        body: Bytes::from(json),
    }
}

/// Open (or create) the database: a file under `data_dir`, or memory.
///
/// Durability: dynoxide opens SQLite in WAL mode; `synchronous` goes to NORMAL (commits are
/// not synced) because the engine thread syncs the log itself, once per batch ([`work`]).
fn open_database(
    data_dir: Option<&Path>,
) -> Result<(dynoxide::Database, Option<PathBuf>), DynamoError> {
    let Some(dir) = data_dir else {
        let db = dynoxide::Database::memory().map_err(|e| DynamoError::Open {
            path: PathBuf::from(":memory:"),
            message: e.to_string(),
        })?;
        return Ok((db, None));
    };
    std::fs::create_dir_all(dir).map_err(|source| DynamoError::CreateDataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(DATABASE_FILE);
    let path_str = path
        .to_str()
        .ok_or_else(|| DynamoError::NonUtf8Path(path.clone()))?;
    let open_error = |e: dynoxide::DynoxideError| DynamoError::Open {
        path: path.clone(),
        message: e.to_string(),
    };
    let db = dynoxide::Database::new(path_str).map_err(open_error)?;
    // "Restore normal settings" is dynoxide's name for SQLite's defaults with
    // `synchronous=NORMAL`; see [`sync_log`] for why that is enough.
    db.disable_bulk_loading().map_err(open_error)?;
    Ok((db, Some(path)))
}

/// Delete expired TTL items every `every`, as DynamoDB does in the background, until `stop`
/// is dropped.
fn sweep_ttl(db: &dynoxide::Database, every: Duration, stop: &std_mpsc::Receiver<()>) {
    while let Err(std_mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        match db.sweep_ttl() {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "TTL sweep"),
            Err(e) => tracing::warn!(error = %e, "TTL sweep failed"),
        }
    }
}
