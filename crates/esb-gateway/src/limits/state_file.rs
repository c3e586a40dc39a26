//! The gateway's small JSON state files (generated key values, quota use): read whole, a
//! missing file as empty, and replaced whole or not at all.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;

/// The file's contents, or `T::default()` when there is no file yet. `what` names the contents
/// in the error for a file that does not parse.
pub(crate) fn read<T: DeserializeOwned + Default>(path: &Path, what: &str) -> std::io::Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not {what}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e),
    }
}

/// Replaces `path` whole or not at all: written beside it, synced, renamed over it. Its
/// directory is made when missing (the first state a box keeps may be quota use alone).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("partial");
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}
