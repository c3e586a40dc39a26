//! `.esb/run/`: the running box's state file (pid and URL), its lock, its log, and a tiny HTTP
//! probe used to wait for `/_esb/health` and read `/_esb/status`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::box_process::{BoxLock, BoxProcess};

/// What a running `esb up` records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub pid: u32,
    /// The process's start time (see [`crate::box_process::start_time`]): with the pid, it
    /// tells the box from a process that reused its pid. Absent in state files written before
    /// it was recorded, which therefore never name a live box.
    #[serde(default)]
    pub started: u64,
    pub url: String,
    /// The public listener.
    pub addr: SocketAddr,
    /// The plain-HTTP loopback listener the CLI probes (`/_esb/health`, `/_esb/status`).
    pub admin: SocketAddr,
    /// The S3 and DynamoDB endpoints the box uses (embedded or external).
    #[serde(default)]
    pub s3: Option<String>,
    #[serde(default)]
    pub dynamodb: Option<String>,
    /// What provisioning did to the template's buckets and tables, as printed.
    #[serde(default)]
    pub resources: Option<String>,
}

pub fn run_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("run")
}

pub fn state_path(output_dir: &Path) -> PathBuf {
    run_dir(output_dir).join("state.json")
}

/// Why the last `esb up --foreground` failed, for the `esb up` that started it in the background.
pub fn start_error_path(output_dir: &Path) -> PathBuf {
    run_dir(output_dir).join("start-error")
}

pub fn log_path(output_dir: &Path) -> PathBuf {
    run_dir(output_dir).join("esb.log")
}

impl RunState {
    /// The recorded state, if the box it names is still running: its lock is held and its
    /// pid still belongs to the process that wrote it.
    pub fn read_live(output_dir: &Path) -> Option<RunState> {
        Self::read_live_process(output_dir).map(|(state, _)| state)
    }

    /// [`Self::read_live`], with the box's process to signal.
    pub fn read_live_process(output_dir: &Path) -> Option<(RunState, BoxProcess)> {
        let text = std::fs::read_to_string(state_path(output_dir)).ok()?;
        let state: RunState = serde_json::from_str(&text).ok()?;
        if !BoxLock::is_held(&run_dir(output_dir)) {
            return None;
        }
        let process = BoxProcess::find(state.pid, state.started)?;
        Some((state, process))
    }

    pub fn write(&self, output_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(run_dir(output_dir))?;
        let path = state_path(output_dir);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).unwrap_or_default())?;
        std::fs::rename(tmp, path)
    }

    pub fn remove(output_dir: &Path) {
        let _ = std::fs::remove_file(state_path(output_dir));
    }
}

/// What the box left undone when it stopped, for the `esb down` that stopped it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StopReport {
    /// Asynchronous invocations dropped, per function.
    pub dropped_events: BTreeMap<String, usize>,
}

impl StopReport {
    fn path(output_dir: &Path) -> PathBuf {
        run_dir(output_dir).join("stopped.json")
    }

    pub fn write(&self, output_dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec(self).unwrap_or_default();
        std::fs::write(Self::path(output_dir), text)
    }

    /// The report the last stop left, removing it.
    pub fn take(output_dir: &Path) -> Option<StopReport> {
        let path = Self::path(output_dir);
        let text = std::fs::read(&path).ok()?;
        let _ = std::fs::remove_file(&path);
        serde_json::from_slice(&text).ok()
    }

    /// One sentence on what was dropped, when anything was.
    pub fn summary(&self) -> Option<String> {
        let total: usize = self.dropped_events.values().sum();
        if total == 0 {
            return None;
        }
        let each = self
            .dropped_events
            .iter()
            .map(|(function, count)| format!("{function}: {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if total == 1 {
            "invocation was"
        } else {
            "invocations were"
        };
        Some(format!(
            "{total} queued asynchronous {noun} dropped, not run within the drain time ({each})"
        ))
    }
}

/// `GET path` on the box: the status code and body, or `None` when nothing answers.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.take(1 << 20).read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
