//! How each Lambda runtime starts as a local process: AWS's runtime interface clients for
//! Python (`awslambdaric`) and Node.js (`aws-lambda-ric`), or the function's own `bootstrap`
//! for `provided.*` runtimes.

mod cache;
mod node;
mod python;

use std::path::{Path, PathBuf};

pub use node::{NODE_RIC, NodeEnvironment};
pub use python::{PythonEnvironment, RIC_REQUIREMENTS};

/// Prepares and finds the runtime interface clients, cached under one directory
/// (`~/.esb/runtimes`).
#[derive(Debug, Clone)]
pub struct RuntimeClients {
    cache_dir: PathBuf,
    /// Refuse a host runtime whose version differs from the template's.
    strict: bool,
}

impl RuntimeClients {
    pub fn new(cache_dir: PathBuf, strict: bool) -> RuntimeClients {
        RuntimeClients { cache_dir, strict }
    }
}

/// A runtime this box knows how to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// `python3.10` … `python3.13`: the minor version.
    Python { minor: u32 },
    /// `nodejs18.x` … `nodejs22.x`: the major version.
    Node { major: u32 },
    /// `provided`, `provided.al2`, `provided.al2023`: an executable `bootstrap`.
    Provided,
}

impl Runtime {
    pub fn parse(runtime: &str) -> Result<Runtime, RuntimeError> {
        let python_minor = runtime
            .strip_prefix("python3.")
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|minor| (10..=13).contains(minor));
        if let Some(minor) = python_minor {
            return Ok(Runtime::Python { minor });
        }
        let node_major = runtime
            .strip_prefix("nodejs")
            .and_then(|v| v.strip_suffix(".x"))
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|major| (18..=22).contains(major));
        if let Some(major) = node_major {
            return Ok(Runtime::Node { major });
        }
        if matches!(runtime, "provided" | "provided.al2" | "provided.al2023") {
            return Ok(Runtime::Provided);
        }
        Err(RuntimeError::Unsupported {
            runtime: runtime.to_string(),
        })
    }
}

/// The program and arguments that start one worker, run in the function's task root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Shown once per function when the host runtime differs from the template's.
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "runtime {runtime} is not supported by the process driver; use python3.10-python3.13, \
         nodejs18.x-nodejs22.x or provided.al2023"
    )]
    Unsupported { runtime: String },
    #[error("{task_root}/bootstrap is missing or not executable; a provided runtime needs it")]
    NoBootstrap { task_root: String },
    #[error(
        "no Python 3 interpreter found on PATH (looked for python3.10 … python3.13 and python3)"
    )]
    NoPython,
    #[error("no `node` found on PATH; install Node.js to run nodejs functions")]
    NoNode,
    #[error(
        "the template asks for {runtime} but this host has {found}; install it or drop \
         --strict-runtimes"
    )]
    StrictMismatch { runtime: String, found: String },
    #[error("cannot prepare the Python runtime environment in {dir}: {message}")]
    PythonEnvironment { dir: String, message: String },
    #[error("cannot install the runtime interface client in {dir}: {message}")]
    ClientInstall { dir: String, message: String },
}

/// The command for one function.
pub fn launch_command(
    runtime: &Runtime,
    handler: &str,
    task_root: &Path,
    clients: &RuntimeClients,
) -> Result<LaunchCommand, RuntimeError> {
    match runtime {
        Runtime::Python { minor } => {
            let environment = clients.python(*minor)?;
            Ok(LaunchCommand {
                program: environment.interpreter,
                args: vec!["-m".into(), "awslambdaric".into(), handler.to_string()],
                warning: environment.warning,
            })
        }
        Runtime::Node { major } => {
            let environment = clients.node(*major)?;
            Ok(LaunchCommand {
                program: environment.node,
                args: vec![environment.entry.display().to_string(), handler.to_string()],
                warning: environment.warning,
            })
        }
        Runtime::Provided => {
            let bootstrap = task_root.join("bootstrap");
            if !is_executable(&bootstrap) {
                return Err(RuntimeError::NoBootstrap {
                    task_root: task_root.display().to_string(),
                });
            }
            Ok(LaunchCommand {
                program: bootstrap,
                args: Vec::new(),
                warning: None,
            })
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_parse() {
        assert_eq!(
            Runtime::parse("python3.12").ok(),
            Some(Runtime::Python { minor: 12 })
        );
        assert_eq!(
            Runtime::parse("provided.al2023").ok(),
            Some(Runtime::Provided)
        );
        assert_eq!(
            Runtime::parse("nodejs20.x").ok(),
            Some(Runtime::Node { major: 20 })
        );
        assert!(Runtime::parse("python3.9").is_err());
        assert!(Runtime::parse("nodejs16.x").is_err());
        assert!(Runtime::parse("java21").is_err());
    }

    #[test]
    fn provided_needs_an_executable_bootstrap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clients = RuntimeClients::new(dir.path().join("cache"), false);
        let err = launch_command(&Runtime::Provided, "x", dir.path(), &clients);
        assert!(matches!(err, Err(RuntimeError::NoBootstrap { .. })));
        let bootstrap = dir.path().join("bootstrap");
        std::fs::write(&bootstrap, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let command =
            launch_command(&Runtime::Provided, "x", dir.path(), &clients).expect("command");
        assert_eq!(command.program, bootstrap);
    }
}
