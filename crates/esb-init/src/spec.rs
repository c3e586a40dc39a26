//! What the box tells a worker's init (one JSON line on the init's standard input, a Unix
//! stream socket) and what the init reports back on the same socket (JSON lines).
//!
//! The protocol, from the box's side:
//! 1. spawn `<init> [--cgroup <cgroup.procs file>]… [--new-pid-namespace]` with standard input
//!    one end of a Unix socket pair, standard output and error the pipes the box reads the
//!    worker's log from;
//! 2. write one [`InitSpec`] as a JSON line;
//! 3. read [`Report`] lines until the socket closes. Closing its own end tells the init to kill
//!    every process of the worker and exit: a box that dies (even by `kill -9`) leaves nothing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything one worker's init needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitSpec {
    /// The file system, user and limits to set up before any program runs; `None` runs the
    /// programs as they are (PID 1 duties only, e.g. inside a container that is already isolated).
    pub sandbox: Option<SandboxSpec>,
    /// Started in this order, all with the same environment; by the box's convention the
    /// function's extensions first and the runtime last. The init exits when the last program
    /// exits, after reporting it.
    pub programs: Vec<ProgramSpec>,
    /// The whole environment of every program (nothing is inherited from the init).
    pub environment: Vec<(String, String)>,
}

/// One program of the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// Path as the program sees it (inside the sandbox when there is one).
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Working directory, as the program sees it.
    pub cwd: PathBuf,
}

/// A private root file system and an unprivileged user for the worker's programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// An existing, empty host directory the new root (a tmpfs) is mounted on, in the worker's
    /// own mount namespace (the host never sees that mount).
    pub root_mount_point: PathBuf,
    /// Host paths made visible inside, in order (a later target may lie inside an earlier one).
    pub binds: Vec<Bind>,
    /// Symbolic links created in the new root (e.g. `/bin -> usr/bin` on merged-/usr hosts).
    pub symlinks: Vec<Symlink>,
    /// Small files written into the new root before it is made read-only (`/etc/passwd`, …).
    pub files: Vec<File>,
    /// Size of the private `/tmp` tmpfs (Lambda's `EphemeralStorage`, 512 by default).
    pub tmp_size_mb: u32,
    /// The user and group the programs run as (never 0; the init refuses either), with no
    /// supplementary group.
    pub uid: u32,
    pub gid: u32,
    /// The worker's hostname, in its own UTS namespace.
    pub hostname: String,
}

/// A host path shown inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    /// Host path: a directory or a file.
    pub source: PathBuf,
    /// Absolute path inside the sandbox.
    pub target: PathBuf,
    /// Read-only unless set.
    #[serde(default)]
    pub writable: bool,
}

/// A symbolic link in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symlink {
    /// Absolute path of the link inside the sandbox.
    pub link: PathBuf,
    /// What it points to, as written (relative or absolute).
    pub target: PathBuf,
}

/// A small file created in the sandbox (never over an existing one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    /// Absolute path inside the sandbox.
    pub path: PathBuf,
    pub contents: String,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
}

/// One line the init writes back to the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Report {
    /// The sandbox is set up and every program was spawned.
    Started,
    /// Program `program` (its index in [`InitSpec::programs`]) ended: by `code`, or by `signal`.
    Exited {
        program: usize,
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// Setting up the sandbox or spawning a program failed; the init kills what it started and
    /// exits. `message` says what and why, e.g. `cannot mount /var/task: EPERM`.
    Failed { message: String },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The wire format the box relies on.
    #[test]
    fn wire_format() {
        let reports = [
            (Report::Started, r#"{"type":"started"}"#),
            (
                Report::Exited {
                    program: 1,
                    code: Some(3),
                    signal: None,
                },
                r#"{"type":"exited","program":1,"code":3,"signal":null}"#,
            ),
            (
                Report::Failed {
                    message: "m".into(),
                },
                r#"{"type":"failed","message":"m"}"#,
            ),
        ];
        for (report, line) in reports {
            assert_eq!(serde_json::to_string(&report).unwrap(), line);
            assert_eq!(serde_json::from_str::<Report>(line).unwrap(), report);
        }
        let spec: InitSpec = serde_json::from_str(
            r#"{"sandbox":null,"environment":[["A","1"]],
                "programs":[{"program":"/bin/sh","args":["-c","true"],"cwd":"/"}]}"#,
        )
        .unwrap();
        assert_eq!(spec.environment, vec![("A".to_string(), "1".to_string())]);
        let bind: Bind = serde_json::from_str(r#"{"source":"/a","target":"/b"}"#).unwrap();
        assert!(!bind.writable, "read-only unless set");
    }
}
