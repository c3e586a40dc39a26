//! Dependency installs and compiles: `pip install -r requirements.txt -t <dir>`, `npm install
//! --omit=dev` and `cargo build` (see `cargo`), run on a few threads at once with a progress
//! bar on stderr (hidden when stderr is not a terminal).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cargo::Compile;
use crate::{BuildError, parallel};

/// Installs that run at once: each is mostly network and disk bound.
const INSTALL_WORKERS: usize = 4;
/// Lines of a failed tool's output kept in the error.
const TAIL_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    Pip,
    Npm,
    /// Compiles the crate in `cwd` and copies its binary to `into/bootstrap`.
    Cargo {
        /// `CARGO_TARGET_DIR`, shared by the project's Rust functions.
        target_dir: PathBuf,
    },
}

/// One install: what it is for, the tool, where the dependency file (or crate) is read and
/// where the packages (or binary) go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// `function Hello` or `layer Shared`.
    pub target: String,
    pub tool: Tool,
    /// The working directory: pip resolves relative requirements (`./localpkg`) from here.
    pub cwd: PathBuf,
    /// Where packages are installed (pip `-t`; npm installs into its working directory).
    pub into: PathBuf,
}

impl Install {
    /// The dependency file and tool, as reported: `pip: requirements.txt`.
    pub fn describe(&self) -> &'static str {
        match self.tool {
            Tool::Pip => "pip: requirements.txt",
            Tool::Npm => "npm: package.json",
            Tool::Cargo { .. } => "cargo: build --release",
        }
    }

    /// The install's command; for cargo, which runs several commands, the compile to run.
    fn command(&self) -> Result<Command, Compile<'_>> {
        let mut command = match &self.tool {
            Tool::Pip => {
                let mut command = Command::new("python3");
                command
                    .args(["-m", "pip", "install", "-r", "requirements.txt", "-t"])
                    .arg(&self.into)
                    // No byte-compiling: .pyc files would record the host Python, not the runtime.
                    .args([
                        "--disable-pip-version-check",
                        "--no-input",
                        "--quiet",
                        "--no-compile",
                    ]);
                command
            }
            Tool::Npm => {
                let mut command = Command::new("npm");
                command.args(["install", "--omit=dev", "--no-audit", "--no-fund"]);
                command
            }
            Tool::Cargo { target_dir } => {
                return Err(Compile {
                    target: &self.target,
                    crate_dir: &self.cwd,
                    target_dir,
                    into: &self.into,
                });
            }
        };
        command
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(command)
    }

    fn program(&self) -> &'static str {
        match self.tool {
            Tool::Pip => "python3 -m pip",
            Tool::Npm => "npm",
            Tool::Cargo { .. } => "cargo",
        }
    }

    /// Runs the install; `Ok(Some(warning))` when npm is missing (node dependencies are then
    /// the user's to provide), an error when the tool fails.
    fn run(&self) -> Result<Option<String>, BuildError> {
        tracing::debug!(target = %self.target, tool = self.program(), cwd = %self.cwd.display(), "installing dependencies");
        let mut command = match self.command() {
            Ok(command) => command,
            Err(compile) => return compile.run().map(|()| None),
        };
        let output = match command.output() {
            Ok(output) => output,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && self.tool == Tool::Npm => {
                return Ok(Some(format!(
                    "{}: npm not found, package.json dependencies were not installed; install Node.js and run `esb build --no-cache`",
                    self.target
                )));
            }
            Err(error) => {
                return Err(BuildError::ToolMissing {
                    tool: self.program().to_string(),
                    target: self.target.clone(),
                    error,
                });
            }
        };
        if output.status.success() {
            return Ok(None);
        }
        Err(BuildError::Install {
            tool: self.program().to_string(),
            target: self.target.clone(),
            status: output.status.to_string(),
            stderr_tail: tail(&output),
        })
    }
}

/// The last lines of a failed tool's stderr (its stdout when stderr is empty).
pub fn tail(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Runs every install (a few at once); returns warnings, or the first failure in order.
pub fn run_all(installs: &[Install]) -> Result<Vec<String>, BuildError> {
    if installs.is_empty() {
        return Ok(Vec::new());
    }
    let bar =
        ProgressBar::with_draw_target(Some(installs.len() as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} installing dependencies and compiling [{bar:30}] {pos}/{len} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let results = parallel::map(installs, INSTALL_WORKERS, |install| {
        bar.set_message(format!("{} ({})", install.target, install.describe()));
        let result = install.run();
        bar.inc(1);
        result
    });
    bar.finish_and_clear();
    let mut warnings = Vec::new();
    for result in results {
        warnings.extend(result?);
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_install_carries_the_tool_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("requirements.txt"),
            "./does-not-exist-anywhere\n",
        )
        .expect("write");
        let install = Install {
            target: "function Broken".into(),
            tool: Tool::Pip,
            cwd: dir.path().to_owned(),
            into: dir.path().join("task"),
        };
        let err = run_all(&[install]).expect_err("pip fails");
        let text = err.to_string();
        assert!(text.contains("function Broken"), "{text}");
        assert!(text.contains("does-not-exist-anywhere"), "{text}");
    }
}
