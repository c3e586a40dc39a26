//! Resource limits for a worker where the host allows them: a memory limit of the function's
//! MemorySize and Lambda's limit of 1024 processes, through cgroups v2 or v1. Without write
//! access to the cgroup file system, workers run unconfined and the box says so once.

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Lambda's limit on processes and threads per execution environment.
const PIDS_MAX: u32 = 1024;
const ROOT: &str = "/sys/fs/cgroup";

/// The cgroup(s) one worker runs in; removed on drop.
#[derive(Debug)]
pub(crate) struct WorkerCgroup {
    /// Directories created for this worker (one for v2; memory and pids for v1).
    dirs: Vec<PathBuf>,
    /// Where the kernel counts OOM kills for this worker.
    oom_events: Option<PathBuf>,
}

static UNCONFINED_NOTICE: Once = Once::new();

impl WorkerCgroup {
    /// Creates the worker's cgroups and moves `pid` into them; `None` when the host does not
    /// allow it (then the worker runs unconfined).
    pub(crate) fn apply(worker_id: &str, memory_mb: u32, pid: u32) -> Option<WorkerCgroup> {
        let root = Path::new(ROOT);
        let result = if root.join("cgroup.controllers").is_file() {
            v2(root, worker_id, memory_mb, pid)
        } else {
            v1(root, worker_id, memory_mb, pid)
        };
        match result {
            Ok(cgroup) => Some(cgroup),
            Err(reason) => {
                UNCONFINED_NOTICE.call_once(|| {
                    tracing::warn!(
                        "workers run without memory and process limits ({reason}); run as root \
                         on a host with cgroups to enforce MemorySize"
                    );
                });
                None
            }
        }
    }

    /// Moves another process of the worker into its cgroup(s), best effort.
    pub(crate) fn add(&self, pid: u32) {
        for dir in &self.dirs {
            let _ = std::fs::write(dir.join("cgroup.procs"), pid.to_string());
        }
    }

    /// Whether the kernel killed a process of this worker for exceeding its memory limit.
    pub(crate) fn oom_killed(&self) -> bool {
        let Some(path) = &self.oom_events else {
            return false;
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once(' '))
            .any(|(key, count)| key == "oom_kill" && count.trim() != "0")
    }
}

impl Drop for WorkerCgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // Fails while processes remain; the janitor's next worker start retries nothing,
            // and an empty cgroup left behind holds no resources.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn v2(root: &Path, worker_id: &str, memory_mb: u32, pid: u32) -> Result<WorkerCgroup, String> {
    let parent = root.join("esb");
    create(&parent)?;
    // Controllers must be enabled on the parent for its children to have the files.
    let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +pids");
    let dir = parent.join(worker_id);
    create(&dir)?;
    let cgroup = WorkerCgroup {
        dirs: vec![dir.clone()],
        oom_events: Some(dir.join("memory.events")),
    };
    write(&dir.join("memory.max"), &bytes(memory_mb))?;
    let _ = std::fs::write(dir.join("memory.swap.max"), "0");
    write(&dir.join("pids.max"), &PIDS_MAX.to_string())?;
    write(&dir.join("cgroup.procs"), &pid.to_string())?;
    Ok(cgroup)
}

fn v1(root: &Path, worker_id: &str, memory_mb: u32, pid: u32) -> Result<WorkerCgroup, String> {
    let memory = root.join("memory/esb").join(worker_id);
    let pids = root.join("pids/esb").join(worker_id);
    create(&memory)?;
    let mut cgroup = WorkerCgroup {
        dirs: vec![memory.clone()],
        oom_events: Some(memory.join("memory.oom_control")),
    };
    write(&memory.join("memory.limit_in_bytes"), &bytes(memory_mb))?;
    // Without swap accounting this file is absent; the limit above still holds.
    let _ = std::fs::write(memory.join("memory.memsw.limit_in_bytes"), bytes(memory_mb));
    write(&memory.join("cgroup.procs"), &pid.to_string())?;
    if create(&pids).is_ok() {
        cgroup.dirs.push(pids.clone());
        write(&pids.join("pids.max"), &PIDS_MAX.to_string())?;
        write(&pids.join("cgroup.procs"), &pid.to_string())?;
    }
    Ok(cgroup)
}

fn bytes(memory_mb: u32) -> String {
    (u64::from(memory_mb) * 1024 * 1024).to_string()
}

fn create(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
