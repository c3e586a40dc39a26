//! Runtime client environments (a Python venv, a Node package directory) are prepared once
//! under the cache directory: built in a staging directory, then renamed into place, so a
//! half-made environment is never used and concurrent preparers do not collide.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Serialises preparation inside this process; separate processes race safely through
/// distinct staging directories and an atomic rename.
static PREPARING: Mutex<()> = Mutex::new(());
static STAGING: AtomicU64 = AtomicU64::new(0);

/// Makes sure `dir` holds a ready environment (`ready` is a file inside it), building it with
/// `build(staging_dir)` when it does not.
pub(super) fn prepare(
    dir: &Path,
    ready: &str,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    if dir.join(ready).exists() {
        return Ok(());
    }
    let _guard = PREPARING
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    if dir.join(ready).exists() {
        return Ok(());
    }
    let name = dir
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let staging = dir.with_file_name(format!(
        "{name}.tmp-{}-{}",
        std::process::id(),
        STAGING.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&staging);
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let built = build(&staging);
    if let Err(message) = built {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(message);
    }
    match std::fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Another process finished first: use its environment.
        Err(_) if dir.join(ready).exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs a preparation step; on failure, the command and the tail of its stderr.
pub(super) fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
    Err(format!(
        "{command:?} failed ({}): {}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// An executable of this name on `PATH`.
pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
