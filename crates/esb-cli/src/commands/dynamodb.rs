//! `esb dynamodb serve`: the embedded DynamoDB-compatible database on its own, in the
//! foreground, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use esb_dynamodb::{Auth, Credential, DEFAULT_PORT, Engine, EngineConfig, Service, serve};
use miette::{IntoDiagnostic, miette};

use crate::cli::ServiceArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct DynamodbArgs {
    #[command(subcommand)]
    pub command: DynamodbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DynamodbCommand {
    /// Serve the DynamoDB JSON 1.0 protocol from a data directory
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the tables live (created if missing)
    #[arg(
        long,
        env = "ESB_DYNAMODB_DATA_DIR",
        default_value = ".esb/data/dynamodb"
    )]
    pub data_dir: PathBuf,
    /// Port to listen on
    #[arg(long, env = "ESB_DYNAMODB_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Accept unsigned requests (local experiments only)
    #[arg(long)]
    pub no_auth: bool,
}

impl DynamodbArgs {
    pub fn run(self) -> miette::Result<()> {
        match self.command {
            DynamodbCommand::Serve(args) => args.run(),
        }
    }
}

impl ServeArgs {
    fn run(self) -> miette::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| miette!("cannot create {}: {e}", self.data_dir.display()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        let auth = if self.no_auth {
            Auth::Off
        } else {
            Auth::SigV4(vec![Credential {
                access_key_id: self.service.access_key_id.clone(),
                secret_access_key: self.service.secret_access_key.clone(),
            }])
        };
        runtime.block_on(async {
            let engine =
                Engine::open(&EngineConfig::on_disk(self.data_dir.clone())).into_diagnostic()?;
            let addr = SocketAddr::new(self.service.bind, self.port);
            let listener = esb_gateway::listen::listen(addr, "the embedded DynamoDB", "--port")
                .await
                .into_diagnostic()?;
            eprintln!(
                "{} DynamoDB at http://{addr} (data in {}); Ctrl-C stops it",
                output::good("ok:"),
                self.data_dir.display()
            );
            serve(
                listener,
                Arc::new(Service::new(engine, auth)),
                crate::commands::up::shutdown_signal(),
            )
            .await
            .into_diagnostic()
        })
    }
}
