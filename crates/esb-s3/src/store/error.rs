//! The store's typed errors; the mapping to S3 error codes lives in `crate::service::error`.

use std::io;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bucket does not exist.
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// The key does not exist in the bucket.
    #[error("key {0:?} does not exist")]
    NoSuchKey(String),
    /// The version does not exist.
    #[error("version {0:?} does not exist")]
    NoSuchVersion(String),
    /// The version asked for, or the latest when none was, is a delete marker.
    #[error("key {key:?} is deleted (its {} version is a delete marker)", if *requested { "requested" } else { "latest" })]
    DeleteMarker {
        /// the key
        key: String,
        /// the marker's version id as S3 shows it
        version_id: Option<String>,
        /// when the marker was created, unix milliseconds
        last_modified_ms: i64,
        /// the client named the marker's version (405) rather than the latest (404)
        requested: bool,
    },
    /// A bucket of that name already exists (and, in a single-owner store, is ours).
    #[error("bucket {0:?} already exists")]
    BucketAlreadyOwnedByYou(String),
    /// The bucket still holds objects.
    #[error("bucket {0:?} is not empty")]
    BucketNotEmpty(String),
    /// The bucket name breaks S3's naming rules.
    #[error("invalid bucket name {0:?}: {1}")]
    InvalidBucketName(String, &'static str),
    /// The key is empty or longer than 1024 bytes.
    #[error("invalid object key: {0}")]
    InvalidKey(&'static str),
    /// A conditional write found the object in the wrong state (e.g. `If-None-Match: *`
    /// and the key exists).
    #[error("precondition failed")]
    PreconditionFailed,
    /// A conditional write whose condition held when it started found, at its commit, that
    /// another write had changed the key meanwhile.
    #[error("a concurrent write changed the key during this conditional write")]
    ConditionalRequestConflict,
    /// The body is larger than one PUT or part may be (5 GiB).
    #[error("your proposed upload exceeds the maximum allowed object size (5 GiB per PUT or part)")]
    EntityTooLarge,
    /// The body's checksum does not match the one the client sent.
    #[error("the {0} you specified did not match the calculated checksum")]
    BadChecksum(&'static str),
    /// The body was shorter or longer than the declared length.
    #[error("body length {got} does not match the declared {expected}")]
    IncompleteBody {
        /// declared length
        expected: u64,
        /// received length
        got: u64,
    },
    /// The body's MD5 does not match `Content-MD5`.
    #[error("the body's MD5 does not match Content-MD5")]
    BadDigest,
    /// The request body stream failed (client went away, bad chunk signature …).
    #[error("reading the request body failed: {0}")]
    Body(String),
    /// The multipart upload does not exist (never created, completed or aborted).
    #[error("multipart upload {0:?} does not exist")]
    NoSuchUpload(String),
    /// A part named in a complete request was not uploaded or has another ETag.
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(i32),
    /// The parts of a complete request are not in ascending order.
    #[error("the list of parts was not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than 5 MiB.
    #[error("part {0} is smaller than the 5 MiB minimum for all but the last part")]
    EntityTooSmall(i32),
    /// A part of an upload created with one checksum algorithm sent another's.
    #[error(
        "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
        expected.to_ascii_lowercase(),
        got.to_ascii_lowercase()
    )]
    ChecksumTypeMismatch {
        /// the upload's algorithm
        expected: &'static str,
        /// the part's
        got: &'static str,
    },
    /// A complete request for an upload with a composite checksum left a part's out.
    #[error(
        "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {part} in the request.",
        algorithm.to_ascii_lowercase()
    )]
    MissingPartChecksum {
        /// the upload's algorithm
        algorithm: &'static str,
        /// the part
        part: i32,
    },
    /// A request argument is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// Another process has the data directory open.
    #[error(
        "the data directory {0} is in use by another process (an esb s3 server or esb up); stop it or choose another --data-dir"
    )]
    Locked(String),
    /// A file of the store could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// what the store was doing
        context: String,
        /// the OS error
        source: io::Error,
    },
    /// A metadata file could not be parsed.
    #[error("corrupt metadata file {path}: {source}")]
    Corrupt {
        /// the file
        path: String,
        /// the parse error
        source: serde_json::Error,
    },
}

impl StoreError {
    /// Wraps an I/O error with what the store was doing.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
