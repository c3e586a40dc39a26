//! `esb s3 serve`: the embedded S3-compatible object store on its own, in the foreground,
//! until Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use esb_s3::S3ServerConfig;
use miette::{IntoDiagnostic, miette};

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
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Access key clients sign with (SigV4, headers or presigned URLs)
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "esb")]
    pub access_key_id: String,
    /// Secret key clients sign with
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "esb-local-secret",
        hide_env_values = true
    )]
    pub secret_access_key: String,
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
            access_key: self.access_key_id.clone(),
            secret_key: self.secret_access_key.clone(),
            virtual_host_domain: self.domain.clone(),
            ..S3ServerConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        runtime.block_on(async {
            let addr = SocketAddr::new(self.bind, self.port);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| miette!("cannot listen on {addr}: {e}"))?;
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
