//! The workers alive on this node, for `/metrics/containers`: each with its function, state,
//! memory limit, and the memory and CPU its driver reports when listed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::worker::Core;

/// What the registry knows of one worker.
#[derive(Debug)]
pub struct WorkerRecord {
    pub id: String,
    pub function: String,
    pub memory_limit_mb: u32,
    busy: AtomicBool,
    /// The worker itself, while it exists.
    core: Weak<Core>,
}

impl WorkerRecord {
    pub(crate) fn new(
        id: String,
        function: String,
        memory_limit_mb: u32,
        core: Weak<Core>,
    ) -> Self {
        WorkerRecord {
            id,
            function,
            memory_limit_mb,
            busy: AtomicBool::new(false),
            core,
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
    /// Memory the worker uses now.
    pub memory_used_mb: Option<f64>,
    /// User and system CPU time of the worker so far.
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

    /// The live workers; records of workers that are gone are dropped on the way.
    pub fn snapshot(&self) -> Vec<WorkerSnapshot> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let mut listed = Vec::new();
        records.retain(|record| {
            let Some(usage) = record.core.upgrade().and_then(|core| core.sandbox.usage()) else {
                return false;
            };
            listed.push(WorkerSnapshot {
                id: record.id.clone(),
                function: record.function.clone(),
                busy: record.busy.load(Ordering::Relaxed),
                memory_limit_mb: record.memory_limit_mb,
                memory_used_mb: Some(usage.memory_mb),
                cpu_seconds: Some(usage.cpu_seconds),
            });
            true
        });
        listed
    }
}
