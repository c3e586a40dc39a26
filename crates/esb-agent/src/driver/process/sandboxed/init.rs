//! The box's side of a worker's init (`esb-init`, see `esb_init::spec`): spawn it, send it the
//! worker's spec, and turn its reports into the exit watches of the worker's programs. The init
//! reports on its standard input, a Unix socket only the box holds the other end of: a program
//! of the worker cannot forge a report, and when the box dies the socket closes and the init
//! kills the worker.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::Arc;

use esb_init::spec::{InitSpec, Report};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch};

use super::super::output::pump;
use crate::driver::{Exit, WorkerOutput};
use crate::logs::LogSource;

/// A running init and its programs' exits.
#[derive(Debug)]
pub(super) struct RunningInit {
    /// The outer init process; killing it kills the worker (the PID-1 stage has it as its
    /// parent-death signal).
    child: tokio::process::Child,
    pub(super) exits: Vec<watch::Receiver<Option<Exit>>>,
    /// Reads the init's reports; holds our end of its socket until the init is gone.
    _reports: tokio::task::JoinHandle<()>,
}

/// An init spawned ahead of its worker: it waits for the worker's spec, having done the slow
/// parts (exec, joining its cgroup, entering its namespaces) already.
#[derive(Debug)]
pub(super) struct PendingInit {
    child: tokio::process::Child,
    socket: UnixStream,
}

impl PendingInit {
    /// The outer init's pid: a process in the worker's namespaces.
    pub(super) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Spawns `command` (the init program and its leading arguments) with `args`. Must run
    /// with a tokio runtime entered; the child inherits the calling thread's namespaces.
    pub(super) fn spawn(command: &[OsString], args: &[OsString]) -> Result<PendingInit, String> {
        let (program, leading) = command
            .split_first()
            .ok_or_else(|| "no init program configured".to_string())?;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| format!("cannot create the init's socket: {e}"))?;
        ours.set_nonblocking(true)
            .map_err(|e| format!("cannot set up the init's socket: {e}"))?;
        let child = tokio::process::Command::new(program)
            .args(leading)
            .args(args)
            .env_clear()
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run the worker init {}: {e}", program.display()))?;
        let socket =
            UnixStream::from_std(ours).map_err(|e| format!("cannot watch the init: {e}"))?;
        Ok(PendingInit { child, socket })
    }

    /// Gives the init its worker: `spec`, with the programs' output going to `output`.
    pub(super) fn start(mut self, spec: &InitSpec, output: &Arc<dyn WorkerOutput>) -> Spawned {
        if let Some(stdout) = self.child.stdout.take() {
            tokio::spawn(pump(stdout, LogSource::Stdout, Arc::clone(output)));
        }
        if let Some(stderr) = self.child.stderr.take() {
            tokio::spawn(pump(stderr, LogSource::Stderr, Arc::clone(output)));
        }
        // A spec always serialises; an empty line would be refused by the init, and said so.
        let mut line = serde_json::to_vec(spec).unwrap_or_default();
        line.push(b'\n');
        let (senders, exits): (Vec<_>, Vec<_>) =
            spec.programs.iter().map(|_| watch::channel(None)).unzip();
        let (started_tx, started) = oneshot::channel();
        let task = tokio::spawn(converse(self.socket, line, senders, started_tx));
        Spawned {
            init: RunningInit {
                child: self.child,
                exits,
                _reports: task,
            },
            started,
        }
    }
}

impl RunningInit {
    /// The outer init's pid, while it runs.
    pub(super) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the worker: SIGKILL to the outer init, whose death kills the PID-1 stage and with
    /// it every process of the worker's PID namespace.
    pub(super) fn kill(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A just-spawned init, and whether it got the worker started.
pub(super) struct Spawned {
    pub(super) init: RunningInit,
    /// `Ok` once every program runs, `Err` with the init's reason when it could not.
    pub(super) started: oneshot::Receiver<Result<(), String>>,
}

/// Sends the spec, then reads reports until the init closes the socket; every program without
/// a reported exit then counts as killed.
async fn converse(
    socket: UnixStream,
    spec_line: Vec<u8>,
    exits: Vec<watch::Sender<Option<Exit>>>,
    started: oneshot::Sender<Result<(), String>>,
) {
    let (reader, mut writer) = socket.into_split();
    let mut started = Some(started);
    let mut answer = |result: Result<(), String>| {
        if let Some(started) = started.take() {
            let _ = started.send(result);
        }
    };
    if let Err(error) = writer.write_all(&spec_line).await {
        answer(Err(format!(
            "cannot send the worker's spec to its init: {error}"
        )));
        return;
    }
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Report>(&line) {
            Ok(Report::Started) => answer(Ok(())),
            Ok(Report::Failed { message }) => answer(Err(message)),
            Ok(Report::Exited {
                program,
                code,
                signal,
            }) => {
                if let Some(exit) = exits.get(program) {
                    let _ = exit.send(Some(Exit { code, signal }));
                }
            }
            Err(error) => tracing::debug!(%error, line, "unreadable report from a worker init"),
        }
    }
    answer(Err(
        "the worker init exited before it started the worker".into()
    ));
    for exit in &exits {
        exit.send_if_modified(|exit| {
            let first = exit.is_none();
            if first {
                *exit = Some(Exit {
                    code: None,
                    signal: Some(9),
                });
            }
            first
        });
    }
    // Keep our write end open until here: closing it earlier would stop the worker.
    drop(writer);
}
