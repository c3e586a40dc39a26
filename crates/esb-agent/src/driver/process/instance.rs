//! Which box instance a worker belongs to: the box's pid and its start time (in clock ticks
//! since boot, from `/proc/<pid>/stat`). A pid alone is reused; the pair is not, so a cgroup
//! or directory named after an instance tells whether its box still runs.

use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    pid: u32,
    start_ticks: u64,
    name: String,
}

impl Instance {
    /// This process.
    pub(crate) fn current() -> &'static Instance {
        static CURRENT: OnceLock<Instance> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Instance::new(pid, start_ticks(pid).unwrap_or(0))
        })
    }

    fn new(pid: u32, start_ticks: u64) -> Instance {
        Instance {
            pid,
            start_ticks,
            name: format!("{pid}-{start_ticks}"),
        }
    }

    /// `<pid>-<start ticks>`: the name of this instance's cgroups and directories.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The instance a name stands for; `None` for a name this module did not make.
    pub(crate) fn parse(name: &str) -> Option<Instance> {
        let (pid, start) = name.split_once('-')?;
        Some(Instance::new(pid.parse().ok()?, start.parse().ok()?))
    }

    /// Whether the process that made this instance still runs.
    pub(crate) fn is_running(&self) -> bool {
        start_ticks(self.pid) == Some(self.start_ticks)
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in ticks since boot; `None` when
/// it does not run. A zombie (a killed box its parent has not reaped yet) does not run.
fn start_ticks(pid: u32) -> Option<u64> {
    super::proc_stat::fields(pid)?.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_made_up_one_does_not() {
        let current = Instance::current();
        assert!(current.is_running());
        let parsed = Instance::parse(current.name()).expect("own name parses");
        assert_eq!(&parsed, current);
        let reused_pid = Instance::new(current.pid, current.start_ticks + 1);
        assert!(!reused_pid.is_running(), "same pid, other start: not ours");
        assert!(Instance::parse("hello-1").is_none());
    }
}
