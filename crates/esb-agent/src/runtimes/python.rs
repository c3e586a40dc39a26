//! Python workers run under AWS's own runtime interface client (`awslambdaric`) in a virtual
//! environment that `esb` creates once per host interpreter and caches. Like AWS's managed
//! runtime, that environment also holds `boto3`, so functions relying on the preinstalled SDK
//! work without listing it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::RuntimeError;

/// What the cached environment holds, pinned so every host gets the same clients.
pub const RIC_REQUIREMENTS: [&str; 2] = ["awslambdaric==4.2.2", "boto3==1.44.5"];

/// Finds host interpreters and prepares their environments under a cache directory.
#[derive(Debug)]
pub struct PythonRuntimes {
    cache_dir: PathBuf,
    strict: bool,
}

/// Serialises environment creation inside this process; separate processes race safely
/// through distinct staging directories and an atomic rename.
static PREPARING: Mutex<()> = Mutex::new(());

/// A ready environment for one function's runtime.
#[derive(Debug, Clone)]
pub struct PythonEnvironment {
    pub interpreter: PathBuf,
    /// Set when the host's minor version differs from the template's.
    pub warning: Option<String>,
}

impl PythonRuntimes {
    /// `cache_dir` is typically `~/.esb/runtimes`; `strict` refuses a different minor version.
    pub fn new(cache_dir: PathBuf, strict: bool) -> PythonRuntimes {
        PythonRuntimes { cache_dir, strict }
    }

    /// The environment for `python3.<wanted>`, created on first use (blocking: pip runs).
    pub fn environment_for(&self, wanted: u32) -> Result<PythonEnvironment, RuntimeError> {
        let (host, found) = closest_interpreter(wanted)?;
        if found != wanted && self.strict {
            return Err(RuntimeError::StrictMismatch { wanted, found });
        }
        let dir = self.cache_dir.join(format!("python3.{found}"));
        let interpreter = dir.join("bin/python3");
        if !interpreter.exists() {
            let _guard = PREPARING
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if !interpreter.exists() {
                create_environment(&host, &dir)?;
            }
        }
        let warning = (found != wanted).then(|| {
            format!(
                "the template asks for python3.{wanted}; running it with this host's Python \
                 3.{found} (pass --strict-runtimes to refuse)"
            )
        });
        Ok(PythonEnvironment {
            interpreter,
            warning,
        })
    }
}

/// The host interpreter whose minor version is closest to `wanted` (exact first).
fn closest_interpreter(wanted: u32) -> Result<(PathBuf, u32), RuntimeError> {
    // A name on PATH is not proof: pyenv shims exist for versions that are not active.
    let mut found: Vec<(PathBuf, u32)> = (8..=14)
        .filter_map(|minor| which(&format!("python3.{minor}")))
        .filter_map(|path| minor_version(&path).map(|minor| (path, minor)))
        .collect();
    if found.is_empty() {
        let path = which("python3").ok_or(RuntimeError::NoPython)?;
        let minor = minor_version(&path).ok_or(RuntimeError::NoPython)?;
        found.push((path, minor));
    }
    found
        .into_iter()
        .min_by_key(|(_, minor)| (minor.abs_diff(wanted), u32::MAX - minor))
        .ok_or(RuntimeError::NoPython)
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn minor_version(interpreter: &Path) -> Option<u32> {
    let output = Command::new(interpreter)
        .args(["-c", "import sys; print(sys.version_info[1])"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// `python -m venv` into a temporary directory, install the clients, then rename into place,
/// so a half-made environment is never used.
fn create_environment(host: &Path, dir: &Path) -> Result<(), RuntimeError> {
    let fail = |message: String| RuntimeError::PythonEnvironment {
        dir: dir.display().to_string(),
        message,
    };
    let name = dir
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let staging = dir.with_file_name(format!("{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    }
    tracing::info!(interpreter = %host.display(), dir = %dir.display(), "creating the Python runtime environment (once)");
    run(Command::new(host).arg("-m").arg("venv").arg(&staging)).map_err(&fail)?;
    run(Command::new(staging.join("bin/python3"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(RIC_REQUIREMENTS))
    .map_err(&fail)?;
    match std::fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Another process finished first: use its environment.
        Err(_) if dir.join("bin/python3").exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

fn run(command: &mut Command) -> Result<(), String> {
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
