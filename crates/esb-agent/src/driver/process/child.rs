//! One process of an unconfined worker (the runtime or an extension): spawned in the worker's
//! process group with exactly the environment it is given, its stdout/stderr read line by
//! line into the worker's output, its exit watched.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::output::pump;
use crate::driver::{Exit, Program, WorkerOutput};
use crate::logs::LogSource;

#[derive(Debug)]
pub(super) struct Child {
    pid: u32,
    /// The process group it runs in: the worker's.
    pgid: u32,
    exit: watch::Receiver<Option<Exit>>,
}

impl Child {
    /// Starts `program` in process group `group` (`None`: a new group, led by this process).
    pub(super) fn spawn(
        program: &Program,
        environment: &[(String, String)],
        group: Option<u32>,
        output: &Arc<dyn WorkerOutput>,
    ) -> Result<Child, String> {
        let command = |group: u32| {
            let mut command = tokio::process::Command::new(&program.program);
            command
                .args(&program.args)
                .current_dir(&program.cwd)
                .env_clear()
                .envs(environment.iter().cloned())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // The worker's own group, so a kill reaches every process of it.
                .process_group(group as i32)
                .kill_on_drop(true);
            command
        };
        // Joining fails when every member of the group has gone: then start a new one.
        let (mut child, joined) = match group.map(|group| (command(group).spawn(), group)) {
            Some((Ok(child), group)) => (child, Some(group)),
            _ => (
                command(0)
                    .spawn()
                    .map_err(|e| format!("cannot run {}: {e}", program.program.display()))?,
                None,
            ),
        };
        let pid = child
            .id()
            .ok_or_else(|| "the process exited before it could be watched".to_string())?;
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, LogSource::Stdout, Arc::clone(output)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, LogSource::Stderr, Arc::clone(output)));
        }
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let exit = match child.wait().await {
                Ok(status) => Exit {
                    code: status.code(),
                    signal: status.signal(),
                },
                Err(_) => Exit::UNKNOWN,
            };
            let _ = exit_tx.send(Some(exit));
        });
        Ok(Child {
            pid,
            pgid: joined.unwrap_or(pid),
            exit,
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// The process group, for the next process of the same worker to join.
    pub(super) fn pgid(&self) -> u32 {
        self.pgid
    }

    pub(super) fn exit_watch(&self) -> watch::Receiver<Option<Exit>> {
        self.exit.clone()
    }

    /// SIGKILL to the whole process group (while this process is alive, the group id cannot
    /// have been reused); the exit watcher records the end.
    pub(super) fn kill(&self) {
        if self.exit.borrow().is_some() {
            return;
        }
        if let Ok(pgid) = i32::try_from(self.pgid) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}
