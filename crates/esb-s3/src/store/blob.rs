//! Writing a request body into a new blob file: the bytes go to disk while their MD5 and
//! additional checksums are computed, then the declared length, `Content-MD5`, checksum
//! headers and a trailing checksum are checked, and the file and its directory entry are made
//! durable. The caller commits (or, on error, deletes) the blob.
//!
//! A small body is handled on the request's task with one blocking write. A large one is a
//! pipeline over three threads, so the per-byte costs overlap instead of adding up: the
//! request task receives (s3s checks the signed SHA-256 there), one blocking thread hashes (MD5
//! is the slowest step, ≈0.75 GB/s on one core), another writes and starts writeback early so
//! the final fsync has little left to do. Bounded queues keep memory per upload to a few MiB
//! whatever the object's size.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};

use super::blocking;
use super::checksum::{ChecksumAlgorithm, Hasher, TrailingChecksum};
use super::error::{StoreError, StoreResult};
use super::object::MAX_PUT_SIZE;
use super::paths::fsync_dir;

/// Bytes gathered before one write to the file.
const WRITE_CHUNK: usize = 1 << 20;
/// Bodies declared at most this long are written without the pipeline.
const INLINE_MAX: u64 = 1 << 20;
/// Chunks (as received, typically 8–64 KiB) queued to the hashing and writing threads.
const QUEUE: usize = 64;
/// The writer flushes to disk every this many bytes, so the final fsync is short.
const SYNC_EVERY: u64 = 64 << 20;

/// What a written body must match, the same for an object and for a part.
#[derive(Debug, Clone, Default)]
pub struct BodyChecks {
    /// `Content-Length`, if the client declared it
    pub expected_len: Option<u64>,
    /// `Content-MD5`, decoded
    pub content_md5: Option<[u8; 16]>,
    /// additional checksums to compute, each with the client's value to check if it sent one
    pub checksums: BTreeMap<ChecksumAlgorithm, Option<String>>,
    /// a checksum sent after the body, to compute and check
    pub trailing: Option<TrailingChecksum>,
}

/// What [`write_blob`] wrote.
pub(crate) struct Written {
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) checksums: BTreeMap<ChecksumAlgorithm, String>,
}

/// The running digests of a body.
struct Digests {
    md5: Md5,
    others: Vec<(ChecksumAlgorithm, Hasher)>,
}

impl Digests {
    fn new(algorithms: Vec<ChecksumAlgorithm>) -> Self {
        Self {
            md5: Md5::new(),
            others: algorithms
                .into_iter()
                .map(|a| (a, Hasher::new(a)))
                .collect(),
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        for (_, hasher) in &mut self.others {
            hasher.update(chunk);
        }
    }
}

/// Checks a received length against the 5 GiB limit and the declared length.
fn check_len(size: u64, expected_len: Option<u64>) -> StoreResult<()> {
    if size > MAX_PUT_SIZE {
        return Err(StoreError::EntityTooLarge);
    }
    match expected_len {
        Some(expected) if size > expected => Err(StoreError::IncompleteBody {
            expected,
            got: size,
        }),
        _ => Ok(()),
    }
}

/// Streams `body` into a new file at `path` (see the module docs) and checks it against
/// `checks`. Memory use is bounded whatever the body's size.
pub(crate) async fn write_blob<S, E>(
    path: PathBuf,
    body: S,
    checks: &BodyChecks,
) -> StoreResult<Written>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let (expected_len, content_md5) = (checks.expected_len, checks.content_md5);
    let (checksums, trailing) = (&checks.checksums, checks.trailing.as_ref());
    if expected_len.is_some_and(|n| n > MAX_PUT_SIZE) {
        return Err(StoreError::EntityTooLarge);
    }
    let mut algorithms: Vec<ChecksumAlgorithm> = checksums.keys().copied().collect();
    if let Some(t) = trailing
        && !algorithms.contains(&t.algorithm)
    {
        algorithms.push(t.algorithm);
    }
    let digests = Digests::new(algorithms);
    let create_path = path.clone();
    let file = blocking(move || std::fs::File::create(create_path))
        .await?
        .map_err(StoreError::io(format!("creating {}", path.display())))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (size, digests) = if expected_len.is_some_and(|n| n <= INLINE_MAX) {
        write_inline(file, dir, body, expected_len, digests).await?
    } else {
        write_pipelined(file, dir, body, expected_len, digests).await?
    };
    if let Some(expected) = expected_len
        && size != expected
    {
        return Err(StoreError::IncompleteBody {
            expected,
            got: size,
        });
    }
    let digest: [u8; 16] = digests.md5.finalize().into();
    if let Some(want) = content_md5
        && want != digest
    {
        return Err(StoreError::BadDigest);
    }
    // The trailer arrives with the end of the body, so it can be read only now.
    let trailed = match trailing {
        Some(t) => Some((
            t.algorithm,
            t.value().ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "the trailing x-amz-checksum-{} announced in x-amz-trailer was not sent",
                    t.algorithm.name().to_ascii_lowercase()
                ))
            })?,
        )),
        None => None,
    };
    let mut computed = BTreeMap::new();
    for (algorithm, hasher) in digests.others {
        let value = hasher.finalize();
        let header = checksums.get(&algorithm).cloned().flatten();
        let trailer = trailed
            .as_ref()
            .filter(|(a, _)| *a == algorithm)
            .map(|(_, v)| v.clone());
        if [header, trailer]
            .iter()
            .flatten()
            .any(|want| *want != value)
        {
            return Err(StoreError::BadChecksum(algorithm.name()));
        }
        computed.insert(algorithm, value);
    }
    Ok(Written {
        size,
        md5: digest,
        checksums: computed,
    })
}

/// A small body: gathered and hashed on this task, written and synced in one blocking call.
async fn write_inline<S, E>(
    mut file: std::fs::File,
    dir: PathBuf,
    mut body: S,
    expected_len: Option<u64>,
    mut digests: Digests,
) -> StoreResult<(u64, Digests)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let mut buf = Vec::with_capacity(usize::try_from(expected_len.unwrap_or(0)).unwrap_or(0));
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| StoreError::Body(err.to_string()))?;
        size += chunk.len() as u64;
        check_len(size, expected_len)?;
        digests.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    blocking(move || {
        file.write_all(&buf)?;
        file.sync_all()?;
        fsync_dir(&dir)
    })
    .await?
    .map_err(StoreError::io("writing a blob"))?;
    Ok((size, digests))
}

/// A large body: received here, hashed on one blocking thread, written on another.
async fn write_pipelined<S, E>(
    file: std::fs::File,
    dir: PathBuf,
    mut body: S,
    expected_len: Option<u64>,
    mut digests: Digests,
) -> StoreResult<(u64, Digests)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
    let (write_tx, mut write_rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
    let hasher = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = hash_rx.blocking_recv() {
            digests.update(&chunk);
        }
        digests
    });
    let writer = tokio::task::spawn_blocking(move || write_all(file, &dir, &mut write_rx));
    let mut size = 0u64;
    let mut failed = None;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                failed = Some(StoreError::Body(err.to_string()));
                break;
            }
        };
        size += chunk.len() as u64;
        if let Err(err) = check_len(size, expected_len) {
            failed = Some(err);
            break;
        }
        // A closed queue means the writer stopped on an error, reported below.
        if hash_tx.send(chunk.clone()).await.is_err() || write_tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop((hash_tx, write_tx));
    let written = writer.await;
    let digests = hasher.await;
    if let Some(err) = failed {
        return Err(err);
    }
    let join = |err: tokio::task::JoinError| StoreError::Io {
        context: "file-system task".into(),
        source: std::io::Error::other(err),
    };
    written
        .map_err(join)?
        .map_err(StoreError::io("writing a blob"))?;
    Ok((size, digests.map_err(join)?))
}

/// The writing thread: batches chunks into [`WRITE_CHUNK`] writes, flushes every
/// [`SYNC_EVERY`] bytes, and at the end syncs the file and its directory.
fn write_all(
    mut file: std::fs::File,
    dir: &Path,
    chunks: &mut tokio::sync::mpsc::Receiver<Bytes>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(WRITE_CHUNK);
    let mut unsynced = 0u64;
    while let Some(chunk) = chunks.blocking_recv() {
        buf.extend_from_slice(&chunk);
        if buf.len() >= WRITE_CHUNK {
            file.write_all(&buf)?;
            unsynced += buf.len() as u64;
            buf.clear();
            if unsynced >= SYNC_EVERY {
                file.sync_data()?;
                unsynced = 0;
            }
        }
    }
    file.write_all(&buf)?;
    file.sync_all()?;
    fsync_dir(dir)
}
