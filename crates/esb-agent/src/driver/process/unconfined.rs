//! Unconfined workers: the programs are child processes of the box in one process group, with
//! the box's user and view of the host, a `TMPDIR` of their own, and cgroup limits where the
//! host allows them. The Runtime API listens on the host's loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::cgroup::WorkerCgroup;
use super::child::Child;
use super::instance::Instance;
use crate::driver::{DriverError, Exit, Launch, Sandbox, Usage};
use crate::runtime_api::RuntimeApi;

/// What an unconfined worker's `TMPDIR` is called: `esb-worker-<instance>-<worker>`.
const TMP_PREFIX: &str = "esb-worker-";

/// Removes the `TMPDIR`s of workers of boxes that no longer run; one line per directory.
pub(super) fn sweep_tmp_dirs(current: &Instance) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut swept = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(TMP_PREFIX) else {
            continue;
        };
        // `<pid>-<start ticks>-<worker>`: the instance is the first two parts.
        let mut parts = rest.splitn(3, '-');
        let instance = match (parts.next(), parts.next()) {
            (Some(pid), Some(start)) => Instance::parse(&format!("{pid}-{start}")),
            _ => None,
        };
        let Some(instance) = instance else {
            continue;
        };
        if instance == *current || instance.is_running() {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            swept.push(format!("temporary directory {}", entry.path().display()));
        }
    }
    swept
}

/// A started unconfined worker.
#[derive(Debug)]
pub(super) struct UnconfinedSandbox {
    children: Vec<Child>,
    exits: Vec<watch::Receiver<Option<Exit>>>,
    cgroup: Option<WorkerCgroup>,
    /// The worker's own temporary directory (`TMPDIR`), removed with the worker.
    tmp_dir: PathBuf,
    /// The last `VmHWM` of the runtime read, and when.
    peak_memory: Mutex<Option<(Instant, u64)>>,
}

pub(super) async fn start(
    launch: Launch,
    api: &RuntimeApi,
) -> Result<UnconfinedSandbox, DriverError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| DriverError::start(format!("cannot bind the Runtime API on {addr}: {e}")))?;
    let runtime_api = api
        .serve(listener)
        .map_err(|e| DriverError::start(format!("cannot serve the Runtime API: {e}")))?;
    let instance = Instance::current();
    // Each environment has its own /tmp on Lambda; here, its own TMPDIR.
    let tmp_dir = std::env::temp_dir().join(format!(
        "{TMP_PREFIX}{}-{}",
        instance.name(),
        launch.worker_id
    ));
    std::fs::create_dir_all(&tmp_dir)
        .map_err(|e| DriverError::start(format!("cannot create {}: {e}", tmp_dir.display())))?;
    let mut environment = vec![("TMPDIR".to_string(), tmp_dir.display().to_string())];
    environment.extend(launch.environment);
    environment.push((
        "AWS_LAMBDA_RUNTIME_API".to_string(),
        runtime_api.to_string(),
    ));
    let cgroup = WorkerCgroup::create(instance, &launch.worker_id)
        .and_then(|cgroup| cgroup.limit(launch.memory_mb).map(|()| cgroup));
    let cgroup = match cgroup {
        Ok(cgroup) => Some(cgroup),
        Err(reason) => {
            super::warn_unlimited(&reason);
            None
        }
    };
    let mut sandbox = UnconfinedSandbox {
        children: Vec::new(),
        exits: Vec::new(),
        cgroup,
        tmp_dir,
        peak_memory: Mutex::new(None),
    };
    let mut group = None;
    for program in &launch.programs {
        // On failure, dropping the sandbox kills what was started.
        let child = Child::spawn(program, &environment, group, &launch.output)
            .map_err(DriverError::start)?;
        group = Some(child.pgid());
        if let Some(cgroup) = &sandbox.cgroup {
            cgroup.add_soon(child.pid());
        }
        sandbox.exits.push(child.exit_watch());
        sandbox.children.push(child);
    }
    Ok(sandbox)
}

impl UnconfinedSandbox {
    fn runtime(&self) -> Option<&Child> {
        self.children.last()
    }
}

impl Sandbox for UnconfinedSandbox {
    fn exits(&self) -> &[watch::Receiver<Option<Exit>>] {
        &self.exits
    }

    fn kill(&self) {
        for child in &self.children {
            child.kill();
        }
    }

    fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(WorkerCgroup::oom_killed)
    }

    /// Peak resident memory of the runtime process (`VmHWM`). The kernel renders all of
    /// `/proc/<pid>/status` for it, so the value is re-read at most once per second; a peak
    /// only grows, so a cached one is at most a second behind.
    fn peak_memory_mb(&self) -> u64 {
        let Some(runtime) = self.runtime() else {
            return 0;
        };
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
            std::fs::read_to_string(format!("/proc/{}/status", runtime.pid())).unwrap_or_default();
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

    fn usage(&self) -> Option<Usage> {
        process_usage(self.runtime()?.pid())
    }
}

impl Drop for UnconfinedSandbox {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove_when_exited(self.exits.clone());
        }
    }
}

/// Resident memory and CPU time of a running process.
fn process_usage(pid: u32) -> Option<Usage> {
    let fields = super::proc_stat::fields(pid)?;
    // Clock ticks are 100 per second on Linux; pages are 4 KiB on the platforms we run on.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / 100.0;
    let rss_pages = ticks(21)?;
    Some(Usage {
        memory_mb: rss_pages * 4096.0 / (1024.0 * 1024.0),
        cpu_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_directories_of_dead_boxes_are_swept_and_live_ones_kept() {
        let current = Instance::current();
        // This process's pid with another start time: a box that died, its pid reused.
        let dead = format!("{}-1", std::process::id());
        let temp = std::env::temp_dir();
        let dead_dir = temp.join(format!("{TMP_PREFIX}{dead}-hello-1"));
        let live_dir = temp.join(format!("{TMP_PREFIX}{}-hello-1", current.name()));
        for dir in [&dead_dir, &live_dir] {
            std::fs::create_dir_all(dir.join("inside")).expect("mkdir");
        }
        let swept = sweep_tmp_dirs(current);
        assert!(!dead_dir.exists(), "{swept:?}");
        assert!(live_dir.exists(), "ours stays");
        assert!(swept.iter().any(|line| line.contains(&dead)), "{swept:?}");
        std::fs::remove_dir_all(&live_dir).expect("cleanup");
    }
}
