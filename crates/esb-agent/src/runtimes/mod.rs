//! How each Lambda runtime starts as a local process: AWS's runtime interface clients for
//! Python (`awslambdaric`) and Node.js (`aws-lambda-ric`), or the function's own `bootstrap`
//! for `provided.*` runtimes.

mod cache;
mod node;
mod node_sdk;
mod python;

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use esb_model::runtime::{NODE_MAJORS, PROVIDED, PYTHON_MINORS};

pub use node::{NODE_RIC, NodeEnvironment};
pub use node_sdk::{NODE_SDK, NodeSdk};
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
    /// `python3.9` … `python3.14`: the minor version.
    Python { minor: u32 },
    /// `nodejs18.x` … `nodejs24.x`: the major version.
    Node { major: u32 },
    /// `provided`, `provided.al2`, `provided.al2023`: an executable `bootstrap`.
    Provided,
}

impl Runtime {
    pub fn parse(runtime: &str) -> Result<Runtime, RuntimeError> {
        let unsupported = |because: String| RuntimeError::Unsupported {
            runtime: runtime.to_string(),
            because,
        };
        if let Some(minor) = runtime.strip_prefix("python3.") {
            return served_version(minor, &PYTHON_MINORS, "Python", |n| format!("python3.{n}"))
                .map(|minor| Runtime::Python { minor })
                .map_err(unsupported);
        }
        let node_major = runtime
            .strip_prefix("nodejs")
            .and_then(|version| version.strip_suffix(".x"));
        if let Some(major) = node_major {
            return served_version(major, &NODE_MAJORS, "Node.js", |n| format!("nodejs{n}.x"))
                .map(|major| Runtime::Node { major })
                .map_err(unsupported);
        }
        if PROVIDED.contains(&runtime) {
            return Ok(Runtime::Provided);
        }
        let family = ["java", "dotnet", "ruby", "go"]
            .into_iter()
            .find(|family| runtime.starts_with(family));
        Err(unsupported(match family {
            Some("go") => {
                "Go runs on provided.al2023 with a `bootstrap` (AWS retired go1.x)".to_string()
            }
            Some(family) => format!(
                "{family} runtimes are not served yet: the box runs Python, Node.js and \
                 provided (custom runtime) functions; a {family} function can run as \
                 provided.al2023 with its own bootstrap"
            ),
            None => "it is not a runtime AWS Lambda lists".to_string(),
        }))
    }
}

/// The version number of a `family` runtime when this box serves it, else why not: retired by
/// AWS (older than the range) or not one AWS lists. `name` spells a version as templates do.
fn served_version(
    version: &str,
    served: &RangeInclusive<u32>,
    family: &str,
    name: impl Fn(u32) -> String,
) -> Result<u32, String> {
    let range = format!("{}-{}", name(*served.start()), name(*served.end()));
    match version.parse::<u32>() {
        Ok(number) if served.contains(&number) => Ok(number),
        Ok(number) if number < *served.start() => {
            Err(format!("AWS Lambda no longer runs it; use {range}"))
        }
        _ => Err(format!(
            "it is not a {family} runtime AWS Lambda lists; use {range}"
        )),
    }
}

/// The program and arguments that start one worker, run in the function's task root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Host directories the program runs from besides the function's code and layers
    /// (interpreter, runtime interface client); a sandbox shows them read-only.
    pub mounts: Vec<PathBuf>,
    /// Libraries the runtime preinstalls (the Node.js AWS SDK), searched after the function's
    /// own modules and layers, as Lambda's `/var/runtime/node_modules`.
    pub libraries: Vec<PathBuf>,
    /// What runs the function on this host, for `esb status`: `Python 3.13 (/usr/bin/python3.13)`.
    pub runs_on: String,
    /// Shown once per function when the host runtime differs from the template's.
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("runtime {runtime} is not served, because {because}")]
    Unsupported { runtime: String, because: String },
    #[error("{task_root}/bootstrap is missing or not executable; a provided runtime needs it")]
    NoBootstrap { task_root: String },
    #[error(
        "no Python 3 interpreter found on PATH (looked for python3.8 … python3.14 and python3)"
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
                mounts: environment.mounts,
                libraries: Vec::new(),
                args: vec!["-m".into(), "awslambdaric".into(), handler.to_string()],
                runs_on: environment.runs_on,
                warning: environment.warning,
            })
        }
        Runtime::Node { major } => {
            let environment = clients.node(*major)?;
            let mut args = Vec::new();
            if environment.esm_hooks {
                // `module.register` needs Node.js 20 (or 18.19): older ones skip the hook.
                args.push("--import".to_string());
                args.push(environment.sdk.register.display().to_string());
            }
            args.push(environment.entry.display().to_string());
            args.push(handler.to_string());
            Ok(LaunchCommand {
                program: environment.node,
                mounts: environment.mounts,
                libraries: vec![environment.sdk.node_modules],
                args,
                runs_on: environment.runs_on,
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
                runs_on: format!("its own bootstrap ({})", bootstrap.display()),
                program: bootstrap,
                args: Vec::new(),
                mounts: Vec::new(),
                libraries: Vec::new(),
                warning: None,
            })
        }
    }
}

pub(crate) fn is_executable(path: &Path) -> bool {
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
        assert_eq!(
            Runtime::parse("python3.14").ok(),
            Some(Runtime::Python { minor: 14 })
        );
        assert_eq!(
            Runtime::parse("python3.9").ok(),
            Some(Runtime::Python { minor: 9 })
        );
        assert_eq!(
            Runtime::parse("nodejs24.x").ok(),
            Some(Runtime::Node { major: 24 })
        );
        assert_eq!(
            Runtime::parse("nodejs18.x").ok(),
            Some(Runtime::Node { major: 18 })
        );
    }

    #[test]
    fn unserved_runtimes_say_why() {
        let because = |runtime: &str| match Runtime::parse(runtime) {
            Err(error) => error.to_string(),
            Ok(parsed) => panic!("{runtime} parsed as {parsed:?}"),
        };
        assert!(because("python3.8").contains("no longer runs it; use python3.9-python3.14"));
        assert!(because("nodejs16.x").contains("no longer runs it; use nodejs18.x-nodejs24.x"));
        assert!(because("python3.99").contains("not a Python runtime"));
        assert!(because("java21").contains("java runtimes are not served yet"));
        assert!(because("dotnet8").contains("dotnet runtimes are not served yet"));
        assert!(because("ruby3.3").contains("ruby runtimes are not served yet"));
        assert!(because("go1.x").contains("provided.al2023"));
        assert!(because("cobol").contains("not a runtime AWS Lambda lists"));
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
