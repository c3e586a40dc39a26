//! `esb s3 serve`: the embedded S3-compatible object store on its own, in the foreground,
//! until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use esb_s3::S3ServerConfig;
use miette::{IntoDiagnostic, miette};

use crate::cli::ServiceArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct S3Args {
    #[command(subcommand)]
    pub command: S3Command,
}

#[derive(Debug, Subcommand)]
pub enum S3Command {
    /// Serve the S3 API from a data directory
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where buckets and objects live (created if missing)
    #[arg(long, env = "ESB_S3_DATA_DIR", default_value = ".esb/data/s3")]
    pub data_dir: PathBuf,
    /// Port to listen on
    #[arg(long, env = "ESB_S3_PORT", default_value_t = 9000)]
    pub port: u16,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Base domain for virtual-host-style addressing, e.g. s3.localhost:9000 (path style always works)
    #[arg(long)]
    pub domain: Option<String>,
}

impl S3Args {
    pub fn run(self) -> miette::Result<()> {
        match self.command {
            S3Command::Serve(args) => args.run(),
        }
    }
}

impl ServeArgs {
    fn run(self) -> miette::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| miette!("cannot create {}: {e}", self.data_dir.display()))?;
        let config = S3ServerConfig {
            access_key: self.service.access_key_id.clone(),
            secret_key: self.service.secret_access_key.clone(),
            virtual_host_domain: self.domain.clone(),
            ..S3ServerConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        runtime.block_on(async {
            let addr = SocketAddr::new(self.service.bind, self.port);
            let listener = esb_gateway::listen::listen(addr, "the embedded S3", "--port")
                .await
                .into_diagnostic()?;
            eprintln!(
                "{} S3 at http://{addr} (data in {}); Ctrl-C stops it",
                output::good("ok:"),
                self.data_dir.display()
            );
            esb_s3::run(
                self.data_dir.clone(),
                &config,
                listener,
                crate::commands::up::shutdown_signal(),
            )
            .await
            .into_diagnostic()
        })
    }
}
