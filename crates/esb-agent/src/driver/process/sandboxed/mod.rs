//! Sandboxed workers: each worker's programs run under our init (`esb-init`) as PID 1 of their
//! own PID namespace, in their own mount namespace whose root holds only what Lambda's does
//! ([`rootfs`]), as an unprivileged user with no capabilities and `no_new_privs`, inside the
//! worker's cgroup, and (by default) in their own network namespace where only the worker
//! reaches its Runtime API, at `127.0.0.1:9001` as on Lambda ([`netns`]). The box's own
//! services (S3, DynamoDB, Lambda) appear inside at the addresses the worker's
//! `AWS_ENDPOINT_URL_*` name, relayed to the host's loopback by the box.

mod init;
mod netns;
mod rootfs;

use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use esb_init::spec::InitSpec;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cgroup::WorkerCgroup;
use super::instance::Instance;
use crate::driver::{DriverError, Exit, Launch, Program, Sandbox, Usage};
use crate::runtime_api::RuntimeApi;
use init::RunningInit;

/// Where the Runtime API listens inside a worker's own network namespace, as on Lambda.
pub const RUNTIME_API_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9001);

/// How long a worker's init may take to set up the sandbox and spawn the programs.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Whose network a sandboxed worker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// Its own network namespace: its Runtime API and the box's services only.
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

/// A started sandboxed worker.
#[derive(Debug)]
pub(super) struct SandboxedWorker {
    init: Mutex<RunningInit>,
    exits: Vec<watch::Receiver<Option<Exit>>>,
    cgroup: Option<WorkerCgroup>,
    relays: Vec<JoinHandle<()>>,
}

pub(super) async fn start(
    config: &SandboxConfig,
    launch: Launch,
    api: &RuntimeApi,
) -> Result<SandboxedWorker, DriverError> {
    let cgroup =
        match WorkerCgroup::create(Instance::current(), &launch.worker_id, launch.memory_mb) {
            Ok(cgroup) => Some(cgroup),
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
    let sandbox = rootfs::sandbox_spec(
        &launch.mounts,
        launch.ephemeral_storage_mb,
        &config.root_mount_point,
    );
    let programs = launch.programs.iter().map(program_spec).collect();
    let spec = |runtime_api: SocketAddr| {
        let mut environment = launch.environment.clone();
        environment.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_string()));
        InitSpec {
            sandbox: Some(sandbox.clone()),
            programs,
            environment,
        }
    };
    let init = config.init.clone();
    let output = launch.output.clone();
    let (spawned, runtime_listener, endpoint_listeners) = match config.network {
        NetworkMode::Isolated => {
            let endpoints: Vec<SocketAddr> = launch
                .endpoints
                .iter()
                .copied()
                .filter(|addr| *addr != RUNTIME_API_ADDR)
                .collect();
            let mut addrs = vec![RUNTIME_API_ADDR];
            addrs.extend(&endpoints);
            let spec = spec(RUNTIME_API_ADDR);
            let (spawned, mut listeners) = netns::in_new_namespace(addrs, move |listeners| {
                let spawned = RunningInit::spawn(&init, &args, &spec, &output)?;
                Ok((spawned, listeners))
            })
            .await
            .map_err(DriverError::start)?;
            let runtime = listeners.remove(0);
            let relays = endpoints.into_iter().zip(listeners).collect();
            (spawned, runtime, relays)
        }
        NetworkMode::Host => {
            let listener = StdTcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .and_then(|l| l.local_addr().map(|addr| (l, addr)))
                .map_err(|e| DriverError::start(format!("cannot bind the Runtime API: {e}")))?;
            let spawned = RunningInit::spawn(&init, &args, &spec(listener.1), &output)
                .map_err(DriverError::start)?;
            (spawned, listener.0, Vec::new())
        }
    };
    let mut worker = SandboxedWorker {
        exits: spawned.init.exits.clone(),
        init: Mutex::new(spawned.init),
        cgroup,
        relays: Vec::new(),
    };
    let runtime_listener = tokio_listener(runtime_listener)?;
    api.serve(runtime_listener)
        .map_err(|e| DriverError::start(format!("cannot serve the Runtime API: {e}")))?;
    for (target, listener) in endpoint_listeners {
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
