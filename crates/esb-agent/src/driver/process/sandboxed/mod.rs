//! Sandboxed workers: each worker's programs run under our init (`esb-init`) as PID 1 of their
//! own PID namespace, in their own mount namespace whose root holds only what Lambda's does
//! ([`rootfs`]), as an unprivileged user with no capabilities and `no_new_privs`, inside the
//! worker's cgroup, and (by default) in their own network namespace where only the worker
//! reaches its Runtime API, at `127.0.0.1:9001` as on Lambda ([`netns`]). The box's own
//! services (S3, DynamoDB, Lambda) appear inside at the addresses the worker's
//! `AWS_ENDPOINT_URL_*` name, relayed to the host's loopback by the box; the rest of the
//! network is reached through a user-mode NAT that refuses the host's loopback ([`egress`]).
//!
//! The slow parts of making a sandbox (joining its cgroup, the network namespace, two execs)
//! are done ahead of time: one sandbox is kept prepared for the next cold start ([`Sandboxer`]).

mod egress;
mod init;
mod netns;
mod rootfs;

use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use esb_init::spec::InitSpec;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cgroup::WorkerCgroup;
use super::instance::Instance;
use crate::driver::{DriverError, Exit, Launch, Program, Sandbox, Usage};
use crate::runtime_api::RuntimeApi;
use init::{PendingInit, RunningInit};

/// Where the Runtime API listens inside a worker's own network namespace, as on Lambda.
const RUNTIME_API_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9001);

/// How long a worker's init may take to set up the sandbox and spawn the programs.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long after a cold start the next spare sandbox is made: making one takes CPU (two
/// execs, a network namespace), which the starting worker's own init needs more.
const SPARE_DELAY: Duration = Duration::from_millis(50);

/// Whose network a sandboxed worker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// Its own network namespace: its Runtime API, the box's services, and (with egress) the
    /// network beyond the host.
    Isolated,
    /// The host's (the explicit opt-out): it reaches everything the box's user can.
    Host,
}

/// How sandboxed workers are set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The init program and the arguments before its own (e.g. `esb __worker-init`).
    pub init: Vec<OsString>,
    pub network: NetworkMode,
    /// Outbound network for an isolated worker, as on Lambda (`[workers] egress`).
    pub egress: bool,
    /// An empty directory each worker's root is mounted on, privately.
    pub root_mount_point: PathBuf,
}

impl SandboxConfig {
    /// Whether this host can run sandboxed workers: root, and namespaces allowed.
    pub(super) fn check(&self) -> Result<(), String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("the box does not run as root".into());
        }
        if self.network == NetworkMode::Isolated {
            netns::supported()?;
        }
        std::fs::create_dir_all(&self.root_mount_point)
            .map_err(|e| format!("cannot create {}: {e}", self.root_mount_point.display()))
    }
}

/// Sandboxes workers, keeping one sandbox prepared ahead of the next cold start.
#[derive(Debug)]
pub(super) struct Sandboxer {
    pub(super) config: SandboxConfig,
    /// Whether isolated workers get outbound network, or why not although it was asked.
    pub(super) egress: Result<bool, String>,
    /// A sandbox made ahead of time, taken by the next worker that can use it.
    spare: Arc<Mutex<Option<Prepared>>>,
    /// The cgroup names of every sandbox made, for [`Sandboxer::release`].
    slots: Arc<Mutex<Vec<String>>>,
    /// Set by [`Sandboxer::release`] (until the next start): a spare made meanwhile is
    /// removed at once.
    released: Arc<AtomicBool>,
}

/// A sandbox made ahead of its worker: its cgroup, its network namespace with the listeners
/// bound, and its init spawned, in its cgroup, waiting for the worker's spec. Making one costs
/// a cgroup migration (an RCU grace period in the kernel's cgroup lock, ~7 ms here), a network
/// namespace and two execs: off the cold start when the spare is ready.
#[derive(Debug)]
struct Prepared {
    /// The name of its cgroup.
    slot: String,
    /// Its outbound network, when it has one.
    egress: Option<egress::Egress>,
    cgroup: Option<WorkerCgroup>,
    init: PendingInit,
    runtime_listener: StdTcpListener,
    /// The box's endpoints it relays, as it was made for them.
    endpoints: Vec<SocketAddr>,
    endpoint_listeners: Vec<StdTcpListener>,
}

static NEXT_SLOT: AtomicU64 = AtomicU64::new(1);

impl Sandboxer {
    pub(super) fn new(config: SandboxConfig) -> Sandboxer {
        let egress = match (config.network, config.egress) {
            (NetworkMode::Isolated, true) => egress::available().map(|()| true),
            _ => Ok(false),
        };
        if let Err(reason) = &egress {
            tracing::warn!("workers get no outbound network: {reason}");
        }
        Sandboxer {
            config,
            egress,
            spare: Arc::new(Mutex::new(None)),
            slots: Arc::new(Mutex::new(Vec::new())),
            released: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts `launch` in the spare sandbox when there is one made for the same endpoints,
    /// else in a new one; then, a moment later, makes the next spare in the background.
    pub(super) async fn start(
        &self,
        launch: Launch,
        api: &RuntimeApi,
    ) -> Result<SandboxedWorker, DriverError> {
        // In use (again): spares made from now on are kept.
        self.released.store(false, Ordering::Relaxed);
        let endpoints = worker_endpoints(&launch);
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // A spare made for other endpoints (the box's services moved) cannot serve.
        let spare = match spare {
            Some(spare) if spare.endpoints != endpoints => {
                discard(spare);
                None
            }
            spare => spare,
        };
        let egress = self.egress.clone().unwrap_or(false);
        let prepared = match spare {
            Some(prepared) => prepared,
            None => prepare(&self.config, egress, endpoints.clone(), &self.slots)
                .await
                .map_err(DriverError::start)?,
        };
        let (config, spare, slots, released) = (
            self.config.clone(),
            Arc::clone(&self.spare),
            Arc::clone(&self.slots),
            Arc::clone(&self.released),
        );
        tokio::spawn(async move {
            tokio::time::sleep(SPARE_DELAY).await;
            if released.load(Ordering::Relaxed) {
                return; // The box stopped meanwhile (`esb invoke` runs one worker).
            }
            match prepare(&config, egress, endpoints, &slots).await {
                Ok(prepared) if released.load(Ordering::Relaxed) => discard(prepared),
                Ok(prepared) => {
                    let mut spare = spare.lock().unwrap_or_else(PoisonError::into_inner);
                    // Another start may have made one meanwhile: keep one, discard the other.
                    match spare.as_ref() {
                        Some(_) => discard(prepared),
                        None => *spare = Some(prepared),
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot prepare a spare sandbox"),
            }
        });
        claim(prepared, launch, api, &self.config.root_mount_point).await
    }

    /// Stops the spare sandbox and removes the cgroups of every sandbox made.
    pub(super) fn release(&self) -> Vec<String> {
        self.released.store(true, Ordering::Relaxed);
        drop(
            self.spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        std::mem::take(&mut *self.slots.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Stops a prepared sandbox no worker will use and removes its cgroup.
fn discard(prepared: Prepared) {
    let slot = prepared.slot.clone();
    drop(prepared);
    super::off_async_threads(move || {
        super::cgroup::remove_workers(Instance::current(), &[slot]);
    });
}

/// The box's endpoints a worker of `launch` must reach, but its own Runtime API's address.
fn worker_endpoints(launch: &Launch) -> Vec<SocketAddr> {
    launch
        .endpoints
        .iter()
        .copied()
        .filter(|addr| *addr != RUNTIME_API_ADDR)
        .collect()
}

/// Makes a sandbox for a worker not known yet: cgroup, network (with outbound access when
/// `egress`), listeners, init.
async fn prepare(
    config: &SandboxConfig,
    egress: bool,
    endpoints: Vec<SocketAddr>,
    slots: &Mutex<Vec<String>>,
) -> Result<Prepared, String> {
    let slot = format!("sandbox-{}", NEXT_SLOT.fetch_add(1, Ordering::Relaxed));
    let cgroup = match WorkerCgroup::create(Instance::current(), &slot) {
        Ok(cgroup) => {
            slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(slot.clone());
            Some(cgroup)
        }
        Err(reason) => {
            super::warn_unlimited(&reason);
            None
        }
    };
    let mut args: Vec<OsString> = vec!["--new-pid-namespace".into()];
    for file in cgroup.iter().flat_map(WorkerCgroup::procs_files) {
        args.push("--cgroup".into());
        args.push(file.into());
    }
    let init = config.init.clone();
    let (init, runtime_listener, endpoint_listeners) = match config.network {
        NetworkMode::Isolated => {
            let mut addrs = vec![RUNTIME_API_ADDR];
            addrs.extend(&endpoints);
            let (init, mut listeners) = netns::in_new_namespace(addrs, move |listeners| {
                Ok((PendingInit::spawn(&init, &args)?, listeners))
            })
            .await?;
            let runtime = listeners.remove(0);
            (init, runtime, listeners)
        }
        NetworkMode::Host => {
            let listener = StdTcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .map_err(|e| format!("cannot bind the Runtime API: {e}"))?;
            (PendingInit::spawn(&init, &args)?, listener, Vec::new())
        }
    };
    let egress = match (egress, init.pid()) {
        (true, Some(pid)) => Some(egress::attach(pid).await?),
        _ => None,
    };
    Ok(Prepared {
        slot,
        egress,
        cgroup,
        init,
        runtime_listener,
        endpoints,
        endpoint_listeners,
    })
}

/// Gives a prepared sandbox its worker: limits, spec, Runtime API, relays; returns once the
/// init has started every program.
async fn claim(
    prepared: Prepared,
    launch: Launch,
    api: &RuntimeApi,
    root_mount_point: &Path,
) -> Result<SandboxedWorker, DriverError> {
    if let Some(cgroup) = &prepared.cgroup
        && let Err(reason) = cgroup.limit(launch.memory_mb)
    {
        return Err(DriverError::start(format!(
            "cannot limit the worker's resources: {reason}"
        )));
    }
    let runtime_api = prepared
        .runtime_listener
        .local_addr()
        .map_err(|e| DriverError::start(format!("cannot read the Runtime API's address: {e}")))?;
    let mut environment = launch.environment;
    environment.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_string()));
    let spec = InitSpec {
        sandbox: Some(rootfs::sandbox_spec(
            &launch.mounts,
            launch.ephemeral_storage_mb,
            root_mount_point,
            prepared.egress.as_ref().map(|_| egress::RESOLVER),
        )),
        programs: launch.programs.iter().map(program_spec).collect(),
        environment,
    };
    let spawned = prepared.init.start(&spec, &launch.output);
    let mut worker = SandboxedWorker {
        exits: spawned.init.exits.clone(),
        init: Mutex::new(spawned.init),
        cgroup: prepared.cgroup,
        relays: Vec::new(),
        _egress: prepared.egress,
    };
    api.serve(tokio_listener(prepared.runtime_listener)?)
        .map_err(|e| DriverError::start(format!("cannot serve the Runtime API: {e}")))?;
    for (target, listener) in prepared
        .endpoints
        .into_iter()
        .zip(prepared.endpoint_listeners)
    {
        worker
            .relays
            .push(tokio::spawn(relay(tokio_listener(listener)?, target)));
    }
    // On failure, dropping the worker kills what the init started.
    match tokio::time::timeout(SETUP_TIMEOUT, spawned.started).await {
        Ok(Ok(Ok(()))) => Ok(worker),
        Ok(Ok(Err(message))) => Err(DriverError::start(message)),
        Ok(Err(_)) => Err(DriverError::start("the worker init went away")),
        Err(_) => Err(DriverError::start(format!(
            "the worker's sandbox was not ready within {} s",
            SETUP_TIMEOUT.as_secs()
        ))),
    }
}

/// A started sandboxed worker.
#[derive(Debug)]
pub(super) struct SandboxedWorker {
    init: Mutex<RunningInit>,
    exits: Vec<watch::Receiver<Option<Exit>>>,
    cgroup: Option<WorkerCgroup>,
    relays: Vec<JoinHandle<()>>,
    /// Its outbound network, ended with it.
    _egress: Option<egress::Egress>,
}

fn program_spec(program: &Program) -> esb_init::spec::ProgramSpec {
    esb_init::spec::ProgramSpec {
        program: program.program.clone(),
        args: program.args.clone(),
        cwd: program.cwd.clone(),
    }
}

fn tokio_listener(listener: StdTcpListener) -> Result<TcpListener, DriverError> {
    listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
        .map_err(|e| DriverError::start(format!("cannot serve a worker's listener: {e}")))
}

/// Relays every connection made inside the worker to `target`, the same address on the
/// host's loopback (where the box's service listens).
async fn relay(listener: TcpListener, target: SocketAddr) {
    loop {
        let Ok((mut inside, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut outside) = TcpStream::connect(target).await else {
                return;
            };
            let _ = inside.set_nodelay(true);
            let _ = outside.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
        });
    }
}

impl Sandbox for SandboxedWorker {
    fn exits(&self) -> &[watch::Receiver<Option<Exit>>] {
        &self.exits
    }

    fn kill(&self) {
        self.init
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .kill();
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill_all();
        }
    }

    fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(WorkerCgroup::oom_killed)
    }

    fn peak_memory_mb(&self) -> u64 {
        self.cgroup.as_ref().map_or(0, WorkerCgroup::peak_memory_mb)
    }

    fn usage(&self) -> Option<Usage> {
        let running = self
            .init
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pid()
            .is_some();
        if !running || self.exits.iter().any(|exit| exit.borrow().is_some()) {
            return None;
        }
        self.cgroup
            .as_ref()
            .and_then(WorkerCgroup::usage)
            .or(Some(Usage {
                memory_mb: 0.0,
                cpu_seconds: 0.0,
            }))
    }
}

impl Drop for SandboxedWorker {
    fn drop(&mut self) {
        self.kill();
        for relay in &self.relays {
            relay.abort();
        }
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove_when_exited(self.exits.clone());
        }
    }
}
