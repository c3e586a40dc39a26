//! Resource limits for a worker where the host allows them, through cgroups v2 or v1: memory =
//! the function's MemorySize (no swap), Lambda's limit of 1024 processes, and a CPU weight in
//! proportion to memory as Lambda allocates CPU (a 1,769 MB function gets 13.8 times the CPU of
//! a 128 MB one). The weight of Lambda's smallest size (128 MB) is the kernel's default, so a
//! small function is not starved by the box's own threads: a weight only matters under
//! contention, and measured here a 128 MB worker at 128/1,769 of the default weight took
//! 61 ms instead of 47 ms to import its runtime client on an otherwise quiet machine.
//!
//! Every box instance has its own parent, `esb/<instance>/<worker>`, with the instance named
//! by the box's pid and start time ([`super::instance`]): two boxes on one host never share a
//! cgroup, and a box that starts where an earlier one died can tell that one's cgroups from a
//! live box's, kill what is still in them and remove them ([`sweep`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::instance::Instance;
use crate::driver::{Exit, Usage};

/// Lambda's limit on processes and threads per execution environment.
const PIDS_MAX: u32 = 1024;
/// Lambda's smallest memory size, given the kernel's default CPU weight.
const BASE_MB: u64 = 128;
const ROOT: &str = "/sys/fs/cgroup";
/// The v1 controllers a worker gets a directory in.
const V1_CONTROLLERS: [&str; 4] = ["memory", "pids", "cpu", "cpuacct"];

/// The cgroup(s) one worker runs in.
#[derive(Debug)]
pub(crate) struct WorkerCgroup {
    layout: Layout,
}

#[derive(Debug)]
enum Layout {
    /// One directory with every controller.
    V2(PathBuf),
    /// One directory per controller, by controller name.
    V1(Vec<(&'static str, PathBuf)>),
}

impl WorkerCgroup {
    /// Creates a worker's cgroup(s), named `name` under this box instance, with no limits yet;
    /// an error says why the host does not allow it (not root, no cgroup file system).
    pub(crate) fn create(instance: &Instance, name: &str) -> Result<WorkerCgroup, String> {
        let root = Path::new(ROOT);
        let relative = Path::new("esb").join(instance.name()).join(name);
        if unified() {
            // Controllers must be enabled on each parent for a child to have their files.
            for parent in [root.join("esb"), root.join("esb").join(instance.name())] {
                create(&parent)?;
                let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +pids +cpu");
            }
            let dir = root.join(&relative);
            create(&dir)?;
            return Ok(WorkerCgroup {
                layout: Layout::V2(dir),
            });
        }
        let mut dirs = Vec::new();
        for controller in V1_CONTROLLERS {
            let mount = root.join(controller);
            if !mount.is_dir() {
                continue;
            }
            let dir = mount.join(&relative);
            create(&dir)?;
            dirs.push((controller, dir));
        }
        let cgroup = WorkerCgroup {
            layout: Layout::V1(dirs),
        };
        if cgroup.v1("memory").is_none() {
            return Err(format!("no memory controller under {ROOT}"));
        }
        Ok(cgroup)
    }

    /// Sets the worker's limits: memory = `memory_mb` without swap, Lambda's 1024 processes,
    /// a CPU weight in proportion to memory. Cheap: done when a prepared sandbox gets its
    /// function.
    pub(crate) fn limit(&self, memory_mb: u32) -> Result<(), String> {
        let memory = (u64::from(memory_mb) * 1024 * 1024).to_string();
        match &self.layout {
            Layout::V2(dir) => {
                write(&dir.join("memory.max"), &memory)?;
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                write(&dir.join("pids.max"), &PIDS_MAX.to_string())?;
                // v2's default weight is 100, its maximum 10,000.
                let weight = (u64::from(memory_mb) * 100 / BASE_MB).clamp(1, 10_000);
                let _ = std::fs::write(dir.join("cpu.weight"), weight.to_string());
            }
            Layout::V1(_) => {
                if let Some(dir) = self.v1("memory") {
                    write(&dir.join("memory.limit_in_bytes"), &memory)?;
                    // Without swap accounting this file is absent; the limit above still holds.
                    let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), &memory);
                }
                if let Some(pids) = self.v1("pids") {
                    write(&pids.join("pids.max"), &PIDS_MAX.to_string())?;
                }
                if let Some(cpu) = self.v1("cpu") {
                    // v1's default is 1,024 shares.
                    let shares = (u64::from(memory_mb) * 1024 / BASE_MB).max(2);
                    let _ = std::fs::write(cpu.join("cpu.shares"), shares.to_string());
                }
            }
        }
        Ok(())
    }

    fn v1(&self, controller: &str) -> Option<&Path> {
        match &self.layout {
            Layout::V1(dirs) => dirs
                .iter()
                .find(|(name, _)| *name == controller)
                .map(|(_, dir)| dir.as_path()),
            Layout::V2(_) => None,
        }
    }

    /// The `cgroup.procs` files a process writes its pid into to join every controller.
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().map(|dir| dir.join("cgroup.procs")).collect()
    }

    fn dirs(&self) -> impl Iterator<Item = &Path> {
        let dirs: Vec<&Path> = match &self.layout {
            Layout::V2(dir) => vec![dir.as_path()],
            Layout::V1(dirs) => dirs.iter().map(|(_, dir)| dir.as_path()).collect(),
        };
        dirs.into_iter()
    }

    /// Moves a running process into the worker's cgroup(s), on a blocking thread and without
    /// waiting: a move waits for an RCU grace period in the kernel's cgroup lock (5-15 ms
    /// here when moves are rare), which must neither block the box's async threads nor delay
    /// the worker's start.
    pub(crate) fn add_soon(&self, pid: u32) {
        let files = self.procs_files();
        super::off_async_threads(move || {
            for file in files {
                let _ = std::fs::write(file, pid.to_string());
            }
        });
    }

    /// The memory directory and the name of one of its files, by version.
    fn memory_file(&self, v2: &str, v1: &str) -> Option<PathBuf> {
        match &self.layout {
            Layout::V2(dir) => Some(dir.join(v2)),
            Layout::V1(_) => self.v1("memory").map(|dir| dir.join(v1)),
        }
    }

    /// Whether the kernel killed a process of this worker for exceeding its memory limit.
    pub(crate) fn oom_killed(&self) -> bool {
        let Some(path) = self.memory_file("memory.events", "memory.oom_control") else {
            return false;
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once(' '))
            .any(|(key, count)| key == "oom_kill" && count.trim() != "0")
    }

    /// The worker's peak memory in MB.
    pub(crate) fn peak_memory_mb(&self) -> u64 {
        self.memory_file("memory.peak", "memory.max_usage_in_bytes")
            .and_then(|path| read_number(&path))
            .map_or(0, |bytes| bytes.div_ceil(1024 * 1024))
    }

    /// Memory and CPU used so far.
    pub(crate) fn usage(&self) -> Option<Usage> {
        let memory = self
            .memory_file("memory.current", "memory.usage_in_bytes")
            .and_then(|path| read_number(&path))?;
        let cpu_seconds = match &self.layout {
            Layout::V2(dir) => std::fs::read_to_string(dir.join("cpu.stat"))
                .ok()
                .and_then(|stat| {
                    stat.lines()
                        .find_map(|line| line.strip_prefix("usage_usec "))
                        .and_then(|usec| usec.trim().parse::<u64>().ok())
                })
                .map(|usec| usec as f64 / 1e6),
            Layout::V1(_) => self
                .v1("cpuacct")
                .and_then(|dir| read_number(&dir.join("cpuacct.usage")))
                .map(|ns| ns as f64 / 1e9),
        };
        Some(Usage {
            memory_mb: memory as f64 / (1024.0 * 1024.0),
            cpu_seconds: cpu_seconds.unwrap_or(0.0),
        })
    }

    /// SIGKILL to every process in the worker's cgroup(s); returns how many were signalled.
    pub(crate) fn kill_all(&self) -> usize {
        self.dirs().map(kill_members).max().unwrap_or(0)
    }

    /// Removes the worker's cgroup once its processes are gone (a cgroup with members cannot
    /// be removed), on the current tokio runtime, or at once without one.
    pub(crate) fn remove_when_exited(self, exits: Vec<watch::Receiver<Option<Exit>>>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.kill_all();
            self.remove();
            return;
        };
        handle.spawn(async move {
            for exit in &exits {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), crate::driver::exited(exit)).await;
            }
            for _ in 0..50 {
                if self.remove() {
                    return;
                }
                self.kill_all();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    /// Removes the worker's directories; fails (and leaves them) while processes remain.
    pub(crate) fn remove(&self) -> bool {
        let mut removed = true;
        for dir in self.dirs() {
            removed &= std::fs::remove_dir(dir).is_ok() || !dir.exists();
        }
        removed
    }
}

/// Whether the host has cgroups v2 (one hierarchy) rather than v1.
fn unified() -> bool {
    Path::new(ROOT).join("cgroup.controllers").is_file()
}

/// The `esb/` directories under which boxes make their cgroups, one per hierarchy.
fn parents() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    if unified() {
        vec![root.join("esb")]
    } else {
        V1_CONTROLLERS
            .iter()
            .map(|controller| root.join(controller).join("esb"))
            .collect()
    }
}

/// Removes these workers' cgroups of this box instance, killing anything still in them, then
/// the instance's directory once no other worker is in it (a box that stops leaves no cgroup
/// behind).
pub(crate) fn remove_workers(instance: &Instance, workers: &[String]) {
    for parent in parents() {
        let dir = parent.join(instance.name());
        for worker in workers {
            let worker = dir.join(worker);
            if worker.is_dir() {
                kill_members(&worker);
                remove_when_empty(&worker);
            }
        }
        let _ = std::fs::remove_dir(&dir);
    }
}

/// Removes the cgroups of every box instance under `esb/` whose box is no longer running
/// (killing what is still in them); one line per worker removed.
pub(crate) fn sweep(current: &Instance) -> Vec<String> {
    let parents = parents();
    // Per dead instance and worker: processes killed, and whether every directory went.
    let mut workers: BTreeMap<(String, String), (usize, bool)> = BTreeMap::new();
    for parent in parents {
        let Ok(instances) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in instances.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dead = Instance::parse(&name).is_some_and(|instance| !instance.is_running());
            if name == current.name() || !dead {
                continue;
            }
            let Ok(dirs) = std::fs::read_dir(entry.path()) else {
                continue;
            };
            for dir in dirs.filter_map(Result::ok).map(|d| d.path()) {
                if !dir.is_dir() {
                    continue;
                }
                let killed = kill_members(&dir);
                let removed = remove_when_empty(&dir);
                let worker = dir.file_name().map(|n| n.to_string_lossy().into_owned());
                let seen = workers
                    .entry((name.clone(), worker.unwrap_or_default()))
                    .or_insert((0, true));
                seen.0 = seen.0.max(killed);
                seen.1 &= removed;
            }
            let _ = std::fs::remove_dir(entry.path());
        }
    }
    workers
        .into_iter()
        .map(|((instance, worker), (killed, removed))| {
            let name = format!("worker {worker} of box {instance}");
            match (removed, killed) {
                (false, _) => format!("{name}: its cgroup could not be removed"),
                (true, 0) => format!("{name} (cgroup)"),
                (true, n) => format!("{name} ({n} processes killed)"),
            }
        })
        .collect()
}

/// Removes an emptied cgroup directory; killed processes leave it as they die, so this
/// retries for up to half a second.
fn remove_when_empty(dir: &Path) -> bool {
    for _ in 0..50 {
        if std::fs::remove_dir(dir).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// SIGKILL to every process listed in `dir/cgroup.procs`; how many there were.
fn kill_members(dir: &Path) -> usize {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let pids: Vec<i32> = procs
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    pids.len()
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn create(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
