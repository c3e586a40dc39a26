//! A worker's child process (the runtime or an extension): spawned in the worker's process
//! group with exactly the Lambda environment, its stdout/stderr read line by line into the
//! worker's log, its exit watched.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

use super::WorkerLog;
use super::cgroup::WorkerCgroup;
use crate::logs::LogSource;
use crate::runtimes::LaunchCommand;

/// One line longer than this is split: a runaway print must not exhaust memory.
const MAX_LINE_BYTES: usize = 256 * 1024;

/// How a worker process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit status {code}"),
            (None, Some(signal)) => {
                let name = Signal::try_from(signal).map_or("unknown", Signal::as_str);
                write!(f, "signal: {signal} ({name})")
            }
            (None, None) => f.write_str("unknown exit"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Child {
    pid: u32,
    /// The process group it runs in: the worker's.
    pgid: u32,
    exit: watch::Receiver<Option<Exit>>,
    cgroup: Option<WorkerCgroup>,
    /// The last `VmHWM` read and when.
    peak_memory: Mutex<Option<(Instant, u64)>>,
    /// The worker's own temporary directory (`TMPDIR`), removed with the worker's runtime.
    tmp_dir: Option<PathBuf>,
}

/// How to start one worker process.
pub(crate) struct SpawnRequest<'a> {
    pub worker_id: &'a str,
    pub memory_mb: u32,
    pub launch: &'a LaunchCommand,
    /// The working directory: the task root for the runtime, the opt dir for an extension.
    pub cwd: &'a Path,
    pub environment: Vec<(String, String)>,
    /// The process group to join; `None` starts a new one.
    pub group: Option<u32>,
    /// Whether this process owns the worker's cgroup and `TMPDIR` (the runtime does).
    pub owner: bool,
}

impl Child {
    pub(crate) fn spawn(request: SpawnRequest, log: Arc<WorkerLog>) -> Result<Child, String> {
        let SpawnRequest {
            worker_id,
            memory_mb,
            launch,
            cwd,
            environment,
            group,
            owner,
        } = request;
        // Each environment has its own /tmp on Lambda; here, its own TMPDIR.
        let tmp_dir = std::env::temp_dir().join(format!("esb-worker-{worker_id}"));
        std::fs::create_dir_all(&tmp_dir)
            .map_err(|e| format!("cannot create {}: {e}", tmp_dir.display()))?;
        let command = |group: u32| {
            let mut command = tokio::process::Command::new(&launch.program);
            command
                .args(&launch.args)
                .current_dir(cwd)
                .env_clear()
                .env("TMPDIR", &tmp_dir)
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
                    .map_err(|e| format!("cannot run {}: {e}", launch.program.display()))?,
                None,
            ),
        };
        let pid = child
            .id()
            .ok_or_else(|| "the process exited before it could be watched".to_string())?;
        let pgid = joined.unwrap_or(pid);
        let cgroup = owner
            .then(|| WorkerCgroup::apply(worker_id, memory_mb, pid))
            .flatten();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, LogSource::Stdout, Arc::clone(&log)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, LogSource::Stderr, log));
        }
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let exit = match status {
                Ok(status) => Exit {
                    code: status.code(),
                    signal: status.signal(),
                },
                Err(_) => Exit {
                    code: None,
                    signal: None,
                },
            };
            let _ = exit_tx.send(Some(exit));
        });
        Ok(Child {
            pid,
            pgid,
            exit,
            cgroup,
            peak_memory: Mutex::new(None),
            tmp_dir: owner.then_some(tmp_dir),
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The process group, for the next process of the same worker to join.
    pub(crate) fn pgid(&self) -> u32 {
        self.pgid
    }

    /// Moves another process of the worker (an extension) into this one's cgroup.
    pub(crate) fn adopt(&self, other: &Child) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.add(other.pid);
        }
    }

    /// A receiver of the exit, for waiting on several processes at once.
    pub(crate) fn exit_watch(&self) -> watch::Receiver<Option<Exit>> {
        self.exit.clone()
    }

    /// How the process ended, if it has.
    pub(crate) fn exit(&self) -> Option<Exit> {
        self.exit.borrow().clone()
    }

    /// Waits until the process has ended.
    pub(crate) async fn exited(&self) -> Exit {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone().unwrap_or(Exit {
                code: None,
                signal: None,
            }),
            Err(_) => Exit {
                code: None,
                signal: None,
            },
        }
    }

    /// SIGKILL to the whole process group (while this process is alive, the group id cannot
    /// have been reused); the exit watcher records the end.
    pub(crate) fn kill(&self) {
        if self.exit().is_some() {
            return;
        }
        if let Ok(pgid) = i32::try_from(self.pgid) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }

    /// Whether the kernel killed the worker for going over its memory limit.
    pub(crate) fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(WorkerCgroup::oom_killed)
    }

    /// Peak resident memory of the runtime process in MB (`VmHWM`), 0 when unknown. The
    /// kernel renders all of `/proc/<pid>/status` for it, so the value is re-read at most
    /// once per second; a peak only grows, so a cached one is at most a second behind.
    pub(crate) fn peak_memory_mb(&self) -> u64 {
        let mut cached = self
            .peak_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((read_at, value)) = *cached
            && read_at.elapsed() < Duration::from_secs(1)
        {
            return value;
        }
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let value = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb.div_ceil(1024));
        *cached = Some((Instant::now(), value));
        value
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(tmp_dir) = &self.tmp_dir {
            let _ = std::fs::remove_dir_all(tmp_dir);
        }
    }
}

async fn pump(stream: impl AsyncRead + Unpin, source: LogSource, log: Arc<WorkerLog>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line_capped(&mut reader, &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                log.output(source, text.trim_end_matches(['\n', '\r']).to_string());
            }
        }
    }
}

/// Reads up to a newline or `MAX_LINE_BYTES`, whichever comes first.
async fn read_line_capped(
    reader: &mut BufReader<impl AsyncRead + Unpin>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(line.len());
        }
        let room = MAX_LINE_BYTES - line.len();
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (available.len().min(room), available.len() >= room),
        };
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done || line.len() >= MAX_LINE_BYTES {
            return Ok(line.len());
        }
    }
}
