//! The workers alive on this node, for `/metrics/containers`: each with its function, state,
//! memory limit, and memory and CPU read from `/proc` when listed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What the registry knows of one worker.
#[derive(Debug)]
pub struct WorkerRecord {
    pub id: String,
    pub function: String,
    pub pid: u32,
    pub memory_limit_mb: u32,
    busy: AtomicBool,
}

impl WorkerRecord {
    pub(crate) fn new(id: String, function: String, pid: u32, memory_limit_mb: u32) -> Self {
        WorkerRecord {
            id,
            function,
            pid,
            memory_limit_mb,
            busy: AtomicBool::new(false),
        }
    }

    pub(crate) fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::Relaxed);
    }
}

/// One worker as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSnapshot {
    pub id: String,
    pub function: String,
    pub busy: bool,
    pub memory_limit_mb: u32,
    /// Resident memory of the runtime process now.
    pub memory_used_mb: Option<f64>,
    /// User and system CPU time of the runtime process so far.
    pub cpu_seconds: Option<f64>,
}

/// Workers started through one invoker.
#[derive(Debug, Default)]
pub struct WorkerRegistry {
    records: Mutex<Vec<Arc<WorkerRecord>>>,
}

impl WorkerRegistry {
    pub(crate) fn add(&self, record: Arc<WorkerRecord>) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    /// The live workers; records of exited processes are dropped on the way.
    pub fn snapshot(&self) -> Vec<WorkerSnapshot> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.retain(|record| process_stat(record.pid).is_some());
        records
            .iter()
            .map(|record| {
                let stat = process_stat(record.pid);
                WorkerSnapshot {
                    id: record.id.clone(),
                    function: record.function.clone(),
                    busy: record.busy.load(Ordering::Relaxed),
                    memory_limit_mb: record.memory_limit_mb,
                    memory_used_mb: stat.as_ref().map(|s| s.rss_mb),
                    cpu_seconds: stat.as_ref().map(|s| s.cpu_seconds),
                }
            })
            .collect()
    }
}

struct ProcessStat {
    rss_mb: f64,
    cpu_seconds: f64,
}

/// `/proc/<pid>/stat` of a running (not zombie) process.
fn process_stat(pid: u32) -> Option<ProcessStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    // Clock ticks are 100 per second on Linux; pages are 4 KiB on the platforms we run on.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / 100.0;
    let rss_pages = ticks(21)?;
    Some(ProcessStat {
        rss_mb: rss_pages * 4096.0 / (1024.0 * 1024.0),
        cpu_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_live_processes_and_forgets_gone_ones() {
        let registry = WorkerRegistry::default();
        let me = Arc::new(WorkerRecord::new(
            "w1".into(),
            "f".into(),
            std::process::id(),
            128,
        ));
        me.set_busy(true);
        registry.add(me);
        registry.add(Arc::new(WorkerRecord::new(
            "gone".into(),
            "f".into(),
            u32::MAX - 1,
            128,
        )));
        let listed = registry.snapshot();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, "w1");
        assert!(listed[0].busy);
        assert!(listed[0].memory_used_mb.is_some_and(|mb| mb > 0.0));
        assert!(listed[0].cpu_seconds.is_some());
    }
}
