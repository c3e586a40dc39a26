//! The crate's error type: what can go wrong opening, running or calling the engine.

use std::path::PathBuf;

/// An error of the embedded DynamoDB service (not a DynamoDB API error: those are answered on
/// the wire by the engine).
#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// The data directory could not be created.
    #[error("cannot create the DynamoDB data directory {path}: {source}")]
    CreateDataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The data directory path is not valid UTF-8 (the engine takes a UTF-8 path).
    #[error(
        "the DynamoDB data path {0} is not valid UTF-8; choose a data directory with a UTF-8 name"
    )]
    NonUtf8Path(PathBuf),
    /// The engine could not open its database file.
    #[error("cannot open the DynamoDB database {path}: {message}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The engine's message.
        message: String,
    },
    /// The engine's thread or runtime could not be started.
    #[error("cannot start the DynamoDB engine: {0}")]
    Start(String),
    /// The engine has stopped (shut down or crashed) and cannot answer.
    #[error("the DynamoDB engine is not running: {0}")]
    EngineStopped(String),
    /// Serving a listener failed.
    #[error("the DynamoDB server failed: {0}")]
    Serve(#[source] std::io::Error),
}
