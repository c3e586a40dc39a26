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
    /// Outbound network for isolated workers, as on Lambda [env ESB_EGRESS; default true]
    #[arg(long, value_name = "BOOL")]
    pub egress: Option<bool>,
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
        let sandbox = match choice(
            "sandbox",
            self.sandbox,
            layers,
            "ESB_SANDBOX",
            &file.sandbox,
        )? {
            None | Some(SandboxArg::Auto) => SandboxMode::Auto,
            Some(SandboxArg::On) => SandboxMode::On,
            Some(SandboxArg::Off) => SandboxMode::Off,
        };
        let network = match choice(
            "network",
            self.network,
            layers,
            "ESB_NETWORK",
            &file.network,
        )? {
            None | Some(NetworkArg::Isolated) => NetworkMode::Isolated,
            Some(NetworkArg::Host) => NetworkMode::Host,
        };
        let egress = match self.egress {
            Some(egress) => egress,
            None => layers.var("ESB_EGRESS")?.or(file.egress).unwrap_or(true),
        };
        let esb: OsString = std::env::current_exe().into_diagnostic()?.into();
        Ok(DriverSettings {
            kind,
            sandbox,
            network,
            egress,
            init: vec![esb, WORKER_INIT.into()],
            run_dir: default_run_dir(),
        })
    }
}

/// A setting from its flag, else the environment variable (or `.env`), else `esb.toml`, each
/// spelled as the flag's values are; a bad value says which values there are.
fn choice<T: ValueEnum>(
    setting: &str,
    flag: Option<T>,
    layers: &Layers,
    variable: &str,
    file: &Option<String>,
) -> miette::Result<Option<T>> {
    if flag.is_some() {
        return Ok(flag);
    }
    let Some(value) = layers.var::<String>(variable)?.or_else(|| file.clone()) else {
        return Ok(None);
    };
    T::from_str(&value, true).map(Some).map_err(|_| {
        let values: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        miette!(
            "{setting} = {value:?} ({variable} or esb.toml [workers]) is not a {setting} \
             setting: use {}",
            values.join(", ")
        )
    })
}
