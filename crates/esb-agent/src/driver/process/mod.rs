//! The process driver: each worker's programs run as processes on this host. Sandboxed (the
//! default where the host allows it), each worker gets its own mount, PID, IPC, UTS and network
//! namespaces, an unprivileged user and cgroup limits (`sandboxed`); unconfined, they are
//! plain child processes of the box with its user and view of the host (`unconfined`).

mod cgroup;
mod child;
mod instance;
mod output;
mod proc_stat;
mod sandboxed;
mod unconfined;

use std::sync::{Mutex, Once, PoisonError};

pub use sandboxed::{NetworkMode, SandboxConfig};

use crate::driver::{BoxFuture, CodeView, Driver, DriverError, Isolation, Launch, Sandbox, Swept};
use crate::runtime_api::RuntimeApi;

/// Whether workers are sandboxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Where the host allows it (root with namespaces); else unconfined, and said so.
    Auto,
    /// Always: the box refuses to start where it cannot.
    On,
    /// Never: workers are plain child processes (the explicit opt-out).
    Off,
}

/// Runs workers as processes of this host.
#[derive(Debug)]
pub struct ProcessDriver {
    mode: Mode,
    /// Every unconfined worker this driver started, whose cgroups [`Driver::release`] removes.
    started: Mutex<Vec<String>>,
}

#[derive(Debug)]
enum Mode {
    Sandboxed(sandboxed::Sandboxer),
    Unconfined { because: String },
}

impl ProcessDriver {
    /// A driver as `mode` asks, with `sandbox` describing the sandbox it would use. `On` where
    /// the host cannot sandbox is an error that says why.
    pub fn new(mode: SandboxMode, sandbox: SandboxConfig) -> Result<ProcessDriver, DriverError> {
        let mode = match mode {
            SandboxMode::Off => Mode::Unconfined {
                because: "sandbox = \"off\"".into(),
            },
            SandboxMode::On => {
                sandbox.check().map_err(|reason| {
                    DriverError::start(format!("cannot sandbox workers here: {reason}"))
                })?;
                Mode::Sandboxed(sandboxed::Sandboxer::new(sandbox))
            }
            SandboxMode::Auto => match sandbox.check() {
                Ok(()) => Mode::Sandboxed(sandboxed::Sandboxer::new(sandbox)),
                Err(because) => Mode::Unconfined { because },
            },
        };
        Ok(ProcessDriver {
            mode,
            started: Mutex::new(Vec::new()),
        })
    }
}

impl Driver for ProcessDriver {
    fn isolation(&self) -> Isolation {
        match &self.mode {
            Mode::Sandboxed(sandboxer) => Isolation {
                driver: "process".into(),
                sandboxed: true,
                summary: match (sandboxer.config.network, &sandboxer.egress) {
                    (NetworkMode::Isolated, Ok(true)) => "each worker in its own sandbox (file \
                        system, user, processes, network with outbound access)"
                        .into(),
                    (NetworkMode::Isolated, Ok(false)) => "each worker in its own sandbox (file \
                        system, user, processes, network without outbound access: egress = false)"
                        .into(),
                    (NetworkMode::Isolated, Err(reason)) => format!(
                        "each worker in its own sandbox (file system, user, processes, network \
                         without outbound access: {reason})"
                    ),
                    (NetworkMode::Host, _) => "each worker in its own sandbox (file system, user, \
                                          processes), on the host's network (network = \"host\")"
                        .into(),
                },
            },
            Mode::Unconfined { because } => Isolation {
                driver: "process".into(),
                sandboxed: false,
                summary: format!(
                    "workers run unconfined ({because}): as the box's user, with its view of \
                     the host"
                ),
            },
        }
    }

    fn code_view(&self) -> CodeView {
        match self.mode {
            Mode::Sandboxed(_) => CodeView::Lambda,
            Mode::Unconfined { .. } => CodeView::Host,
        }
    }

    fn start<'a>(
        &'a self,
        launch: Launch,
        api: &'a RuntimeApi,
    ) -> BoxFuture<'a, Result<Box<dyn Sandbox>, DriverError>> {
        if let Mode::Unconfined { .. } = self.mode {
            // Named after the worker (a sandbox's cgroup is named when it is prepared).
            self.started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(launch.worker_id.clone());
        }
        Box::pin(async move {
            Ok(match &self.mode {
                Mode::Sandboxed(sandboxer) => {
                    Box::new(sandboxer.start(launch, api).await?) as Box<dyn Sandbox>
                }
                Mode::Unconfined { .. } => Box::new(unconfined::start(launch, api).await?),
            })
        })
    }

    fn sweep(&self) -> Swept {
        let current = instance::Instance::current();
        let mut removed = cgroup::sweep(current);
        removed.extend(unconfined::sweep_tmp_dirs(current));
        Swept { removed }
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        let mut workers =
            std::mem::take(&mut *self.started.lock().unwrap_or_else(PoisonError::into_inner));
        if let Mode::Sandboxed(sandboxer) = &self.mode {
            workers.extend(sandboxer.release());
        }
        Box::pin(async move {
            let removal = tokio::task::spawn_blocking(move || {
                cgroup::remove_workers(instance::Instance::current(), &workers);
            });
            let _ = removal.await;
        })
    }
}

/// Runs blocking work (cgroup moves and removals wait on the kernel for milliseconds) on the
/// tokio runtime's blocking threads, without waiting for it, or at once outside a runtime.
fn off_async_threads(work: impl FnOnce() + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn_blocking(work)),
        Err(_) => work(),
    }
}

/// Logs once per box that workers run without limits, and why.
fn warn_unlimited(reason: &str) {
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        tracing::warn!(
            "workers run without memory and process limits ({reason}); run as root on a host \
             with cgroups to enforce MemorySize"
        );
    });
}
