//! `esb up`: build if needed, then run the box (gateway, Invoke API, warm pools) — in the
//! background by default, returning once it answers `/health`; `--foreground` runs it in this
//! process until Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use esb_agent::InvokerConfig;
use esb_agent::catalog::{AgentSettings, default_runtimes_dir};
use esb_agent::logs::{LogLine, LogSink};
use esb_agent::runtimes::RuntimeClients;
use esb_build::{BuildOptions, BuildRequest};
use esb_gateway::app::AccessLog;
use esb_gateway::boot::{BootConfig, run, served_routes};
use esb_gateway::lambda_api::RetryPolicy;
use esb_gateway::tls::LocalCertificates;
use esb_model::artifacts::{self, RoutingFile};
use miette::{IntoDiagnostic, miette};

use crate::cli::TemplateArgs;
use crate::output;
use crate::run_state::{RunState, http_get, log_path, run_dir};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Run in this process instead of the background (logs on the terminal)
    #[arg(long)]
    pub foreground: bool,
    /// Rebuild every function first, even unchanged ones
    #[arg(long)]
    pub build: bool,
    /// Port of the gateway and the Invoke API
    #[arg(long, env = "ESB_PORT", default_value_t = 8443)]
    pub port: u16,
    /// Address to listen on (0.0.0.0 for every interface)
    #[arg(long, env = "ESB_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seconds to wait for the box to answer /health before giving up
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
    /// Refuse a host runtime whose version differs from the template's
    #[arg(long)]
    pub strict_runtimes: bool,
    /// Workers per function without ReservedConcurrentExecutions
    #[arg(long, env = "DEFAULT_MAX_CAPACITY", default_value_t = 10)]
    pub max_workers: usize,
    /// Seconds a request waits for a busy function's worker (then 503)
    #[arg(long, env = "POOL_ACQUIRE_TIMEOUT", default_value_t = 10.0)]
    pub acquire_timeout: f64,
    /// Seconds an idle worker is kept warm (scale to zero after)
    #[arg(long, env = "GATEWAY_IDLE_TIMEOUT_SECONDS", default_value_t = 300)]
    pub idle_timeout: u64,
    /// Seconds in-flight requests get to finish on shutdown
    #[arg(long, default_value_t = 10)]
    pub drain: u64,
    /// Serve plain HTTP instead of HTTPS
    #[arg(long)]
    pub http: bool,
    /// Your own PEM certificate chain (default: a local CA's certificate, see `esb cert`)
    #[arg(
        long,
        requires = "tls_key",
        conflicts_with = "http",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(
        long,
        requires = "tls_cert",
        conflicts_with = "http",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,
}

impl UpArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let report = esb_build::build(&BuildRequest {
            template: template.clone(),
            parameter_overrides: self.template.overrides(),
            options: BuildOptions {
                no_cache: self.build,
                ..BuildOptions::default()
            },
        })?;
        let output_dir = report.output_dir.clone();
        if let Some(state) =
            RunState::read_live(&output_dir).filter(|state| state.pid != std::process::id())
        {
            eprintln!(
                "esb is already running at {} (pid {}); `esb down` stops it",
                state.url, state.pid
            );
            return Ok(());
        }
        if self.foreground {
            let project_dir = template
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            self.run_foreground(project_dir, output_dir)
        } else {
            self.start_background(&output_dir)
        }
    }

    /// The certificate and key to serve HTTPS with, or `None` for `--http`.
    fn tls_files(&self) -> miette::Result<Option<(PathBuf, PathBuf)>> {
        if self.http {
            return Ok(None);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return Ok(Some((cert.clone(), key.clone())));
        }
        let local = LocalCertificates::ensure(&certs_dir()).into_diagnostic()?;
        Ok(Some((local.server_cert, local.server_key)))
    }

    fn run_foreground(&self, project_dir: PathBuf, output_dir: PathBuf) -> miette::Result<()> {
        let tls = self.tls_files()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let config = BootConfig {
            project_dir,
            output_dir: output_dir.clone(),
            bind: SocketAddr::new(self.bind, self.port),
            invoker: InvokerConfig {
                default_max_workers: self.max_workers,
                acquire_timeout: Duration::from_secs_f64(self.acquire_timeout.max(0.0)),
                idle_timeout: Duration::from_secs(self.idle_timeout),
                ..InvokerConfig::default()
            },
            settings: AgentSettings::default(),
            clients: RuntimeClients::new(default_runtimes_dir(), self.strict_runtimes),
            retry: RetryPolicy::default(),
            drain: Duration::from_secs(self.drain),
            tls,
        };
        let logs = Arc::new(FunctionLog::open(
            &output_dir.join("logs").join("functions.log"),
        )?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        let state_dir = output_dir.clone();
        let result = runtime.block_on(run(
            config,
            logs,
            Arc::new(StdoutAccessLog),
            move |listening| {
                let url = format!("{scheme}://{}", display_addr(listening.public));
                let state = RunState {
                    pid: std::process::id(),
                    url: url.clone(),
                    addr: listening.public,
                    admin: listening.admin,
                };
                if let Err(error) = state.write(&state_dir) {
                    tracing::warn!(%error, "cannot write the run state; `esb down` will not find this box");
                }
                eprintln!("{} esb is up at {url}", output::good("ok:"));
            },
            shutdown_signal(),
        ));
        RunState::remove(&output_dir);
        result.into_diagnostic()
    }

    fn start_background(&self, output_dir: &Path) -> miette::Result<()> {
        std::fs::create_dir_all(run_dir(output_dir)).into_diagnostic()?;
        let log_file = log_path(output_dir);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .into_diagnostic()?;
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        args.push("--foreground".to_string());
        let executable = std::env::current_exe().into_diagnostic()?;
        let mut command = std::process::Command::new(executable);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().into_diagnostic()?)
            .stderr(log);
        // Its own process group: a Ctrl-C in this terminal does not reach the box.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().into_diagnostic()?;
        let deadline = Instant::now() + Duration::from_secs(self.wait);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(miette!(
                    help = format!("the log is {}", log_file.display()),
                    "esb stopped while starting ({status}):\n{}",
                    log_tail(&log_file)
                ));
            }
            let healthy = RunState::read_live(output_dir)
                .filter(|s| s.pid == child.id())
                .filter(|s| http_get(s.admin, "/health").is_some_and(|(status, _)| status == 200));
            if let Some(state) = healthy {
                print_up(&state, output_dir);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(miette!(
                    help = format!(
                        "the log is {}; raise --wait for slow first runs",
                        log_file.display()
                    ),
                    "esb did not become healthy within {} s",
                    self.wait
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn print_up(state: &RunState, output_dir: &Path) {
    eprintln!(
        "{} esb is up at {} (pid {})",
        output::good("ok:"),
        state.url,
        state.pid
    );
    let routing: Option<RoutingFile> =
        artifacts::read(&output_dir.join("config").join(artifacts::ROUTING_FILE)).ok();
    for (method, path, function) in routing.as_ref().map(served_routes).unwrap_or_default() {
        eprintln!("  {method:<7} {}{path}  → {function}", state.url);
    }
    eprintln!(
        "  Invoke API: {}/2015-03-31/functions/<name>/invocations",
        state.url
    );
    if state.url.starts_with("https") {
        eprintln!("  TLS: a local CA signs the certificate; `esb cert` shows how to trust it");
    }
    eprintln!(
        "  logs: {}   stop: esb down",
        log_path(output_dir).display()
    );
}

/// `~/.esb/certs` (or `$ESB_HOME/certs`): the local CA and server certificate.
pub fn certs_dir() -> PathBuf {
    default_runtimes_dir()
        .parent()
        .map_or_else(|| PathBuf::from(".esb"), Path::to_path_buf)
        .join("certs")
}

fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(15).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down: draining in-flight requests");
}

/// Function log lines: printed (stderr; the log file in the background) and kept as JSON.
struct FunctionLog {
    file: Mutex<std::fs::File>,
}

impl FunctionLog {
    fn open(path: &Path) -> miette::Result<FunctionLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).into_diagnostic()?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| miette!("cannot open {}: {e}", path.display()))?;
        Ok(FunctionLog {
            file: Mutex::new(file),
        })
    }
}

impl LogSink for FunctionLog {
    fn write(&self, line: LogLine) {
        use std::io::Write;
        eprintln!("[{}] {}", line.function, line.text);
        let record = serde_json::json!({
            "time_ms": line.time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            "function": line.function,
            "worker": line.worker_id,
            "aws_request_id": line.request_id,
            "message": line.text,
        });
        if let Ok(mut file) = self.file.lock() {
            let _ = writeln!(file, "{record}");
        }
    }
}

/// Access-log records as JSON lines on stdout.
struct StdoutAccessLog;

impl AccessLog for StdoutAccessLog {
    fn record(&self, record: serde_json::Value) {
        println!("{record}");
    }
}
