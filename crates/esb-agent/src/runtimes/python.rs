//! Python workers run under AWS's own runtime interface client (`awslambdaric`) in a virtual
//! environment that `esb` creates once per host interpreter and caches. Like AWS's managed
//! runtime, that environment also holds `boto3`, so functions relying on the preinstalled SDK
//! work without listing it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::cache::{prepare, run, which};
use super::{RuntimeClients, RuntimeError};

/// What the cached environment holds, pinned so every host gets the same clients.
pub const RIC_REQUIREMENTS: [&str; 2] = ["awslambdaric==4.2.2", "boto3==1.44.5"];

/// A ready environment for one function's runtime.
#[derive(Debug, Clone)]
pub struct PythonEnvironment {
    pub interpreter: PathBuf,
    /// The directories the interpreter runs from: the environment and the host installation
    /// behind it (a sandbox shows only these of the host, read-only).
    pub mounts: Vec<PathBuf>,
    /// The host interpreter behind the environment, for `esb status`.
    pub runs_on: String,
    /// Set when the host's minor version differs from the template's.
    pub warning: Option<String>,
}

impl RuntimeClients {
    /// The environment for `python3.<wanted>`, created on first use (blocking: pip runs).
    pub fn python(&self, wanted: u32) -> Result<PythonEnvironment, RuntimeError> {
        let (host, found) = closest_interpreter(wanted)?;
        if found != wanted && self.strict {
            return Err(RuntimeError::StrictMismatch {
                runtime: format!("python3.{wanted}"),
                found: format!("Python 3.{found}"),
            });
        }
        let dir = self.cache_dir.join(format!("python3.{found}"));
        prepare(&dir, "bin/python3", |staging| {
            create_environment(&host, staging)
        })
        .map_err(|message| RuntimeError::PythonEnvironment {
            dir: dir.display().to_string(),
            message,
        })?;
        let interpreter = dir.join("bin/python3");
        let warning = (found != wanted).then(|| {
            format!(
                "the template asks for python3.{wanted}; running it with this host's Python \
                 3.{found} (pass --strict-runtimes to refuse)"
            )
        });
        let mut mounts = vec![dir.clone()];
        mounts.extend(installation_prefix(&dir));
        Ok(PythonEnvironment {
            interpreter,
            mounts,
            runs_on: format!("Python 3.{found} ({})", host.display()),
            warning,
        })
    }
}

/// The installation a virtual environment runs on: `home` in its `pyvenv.cfg` names the
/// installation's `bin` directory.
fn installation_prefix(environment: &Path) -> Option<PathBuf> {
    let config = std::fs::read_to_string(environment.join("pyvenv.cfg")).ok()?;
    let home = config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "home").then(|| PathBuf::from(value.trim()))
    })?;
    let home = home.canonicalize().unwrap_or(home);
    home.parent().map(Path::to_path_buf)
}

/// The host interpreter whose minor version is closest to `wanted` (exact first).
fn closest_interpreter(wanted: u32) -> Result<(PathBuf, u32), RuntimeError> {
    host_interpreters()
        .iter()
        .min_by_key(|(_, minor)| (minor.abs_diff(wanted), u32::MAX - minor))
        .cloned()
        .ok_or(RuntimeError::NoPython)
}

/// The Python interpreters on PATH and their minor versions, probed once per process and all
/// at once: each probe starts an interpreter, a few hundred milliseconds through pyenv shims,
/// and a box with several Python functions would otherwise pay that per function at start.
fn host_interpreters() -> &'static [(PathBuf, u32)] {
    static FOUND: OnceLock<Vec<(PathBuf, u32)>> = OnceLock::new();
    FOUND.get_or_init(|| {
        // A name on PATH is not proof: pyenv shims exist for versions that are not active.
        let probes: Vec<_> = (8..=15)
            .filter_map(|minor| which(&format!("python3.{minor}")))
            .map(|path| std::thread::spawn(move || minor_version(&path).map(|m| (path, m))))
            .collect();
        let mut found: Vec<(PathBuf, u32)> = probes
            .into_iter()
            .filter_map(|probe| probe.join().ok().flatten())
            .collect();
        if found.is_empty()
            && let Some(path) = which("python3")
            && let Some(minor) = minor_version(&path)
        {
            found.push((path, minor));
        }
        found
    })
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

/// `python -m venv`, then the runtime interface client and boto3 into it.
fn create_environment(host: &Path, staging: &Path) -> Result<(), String> {
    tracing::info!(interpreter = %host.display(), "creating the Python runtime environment (once)");
    run(Command::new(host).arg("-m").arg("venv").arg(staging))?;
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
}
