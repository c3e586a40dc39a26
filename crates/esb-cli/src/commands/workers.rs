//! How `esb up` and `esb invoke` run workers: the driver (`--driver`, `ESB_MODE` as in the
//! original ESB, `[workers] driver`), the sandbox (`--sandbox`, `ESB_SANDBOX`, `[workers]
//! sandbox`) and the network (`--network`, `ESB_NETWORK`, `[workers] network`). Each worker's
//! init is this very binary, run as `esb __worker-init`.

use std::ffi::OsString;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use esb_agent::Driver;
use esb_agent::driver::process::{NetworkMode, SandboxMode};
use esb_agent::driver::{DriverKind, DriverSettings, default_run_dir, driver};
use miette::{IntoDiagnostic, miette};

use crate::config::Layers;

/// The hidden first argument that makes `esb` a worker's init (see `esb_init`).
pub const WORKER_INIT: &str = "__worker-init";

#[derive(Debug, Clone, Default, Args)]
pub struct WorkerArgs {
    /// Where workers run: process (docker and containerd are planned) [env ESB_MODE; default process]
    #[arg(long, value_name = "DRIVER")]
    pub driver: Option<String>,
    /// Sandbox every worker: auto (where the host allows it), on, off [env ESB_SANDBOX; default auto]
    #[arg(long, value_enum)]
    pub sandbox: Option<SandboxArg>,
    /// A sandboxed worker's network: isolated (its own) or host [env ESB_NETWORK; default isolated]
    #[arg(long, value_enum)]
    pub network: Option<NetworkArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxArg {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    Isolated,
    Host,
}

impl WorkerArgs {
    /// The driver these flags, the environment and `esb.toml` ask for.
    pub fn driver(&self, layers: &Layers) -> miette::Result<Arc<dyn Driver>> {
        driver(&self.settings(layers)?).map_err(|e| miette!("{e}"))
    }

    fn settings(&self, layers: &Layers) -> miette::Result<DriverSettings> {
        let file = &layers.file.workers;
        let kind = match self
            .driver
            .clone()
            .or(layers.var::<String>("ESB_MODE")?)
            .or(file.driver.clone())
        {
            Some(kind) => DriverKind::parse(&kind).map_err(|e| miette!("{e}"))?,
            None => DriverKind::Process,
        };
        let value = |flag: Option<String>, variable: &str, file: &Option<String>| {
            Ok::<_, miette::Report>(flag.or(layers.var::<String>(variable)?).or(file.clone()))
        };
        let sandbox = value(
            self.sandbox
                .and_then(|s| s.to_possible_value())
                .map(|v| v.get_name().to_owned()),
            "ESB_SANDBOX",
            &file.sandbox,
        )?;
        let sandbox = match sandbox.as_deref() {
            None | Some("auto") => SandboxMode::Auto,
            Some("on") => SandboxMode::On,
            Some("off") => SandboxMode::Off,
            Some(other) => {
                return Err(miette!(
                    "sandbox = {other:?} is not a sandbox setting: use auto, on or off"
                ));
            }
        };
        let network = value(
            self.network
                .and_then(|n| n.to_possible_value())
                .map(|v| v.get_name().to_owned()),
            "ESB_NETWORK",
            &file.network,
        )?;
        let network = match network.as_deref() {
            None | Some("isolated") => NetworkMode::Isolated,
            Some("host") => NetworkMode::Host,
            Some(other) => {
                return Err(miette!(
                    "network = {other:?} is not a network setting: use isolated or host"
                ));
            }
        };
        let esb: OsString = std::env::current_exe().into_diagnostic()?.into();
        Ok(DriverSettings {
            kind,
            sandbox,
            network,
            init: vec![esb, WORKER_INIT.into()],
            run_dir: default_run_dir(),
        })
    }
}
