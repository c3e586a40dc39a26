//! `esb up`: build if needed, then run the box (gateway, Invoke API, warm pools) — in the
//! background by default, returning once it answers `/health`; `--foreground` runs it in this
//! process until Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use esb_agent::catalog::default_runtimes_dir;
use esb_agent::driver::Isolation;
use esb_agent::runtimes::RuntimeClients;
use esb_agent::{Driver, InvokerConfig};
use esb_build::{BuildOptions, BuildRequest};
use esb_gateway::app::AccessLog;
use esb_gateway::auth::AuthConfig;
use esb_gateway::boot::{BootConfig, FunctionReadiness, run, served_routes};
use esb_gateway::breaker::BreakerConfig;
use esb_gateway::connection::ConnectionLimits;
use esb_gateway::lambda_api::{InvokeApiAccess, RetryPolicy};
use esb_gateway::tls::LocalCertificates;
use esb_model::artifacts::{self, RoutingFile};
use miette::{IntoDiagnostic, miette};

use crate::box_process::{self, BoxLock, lock_path};
use crate::cli::{CopyArgs, TemplateArgs};
use crate::commands::data_roles::{BoxCredentials, DataRoles, DataSettings};
use crate::commands::workers::WorkerArgs;
use crate::config::Layers;
use crate::function_log::{FunctionLog, Terminal};
use crate::line_writer::LineWriter;
use crate::output;
use crate::run_state::{RunState, StopReport, http_get, log_path, run_dir, start_error_path};

/// Flags win over the environment (`ESB_PORT`, `DEFAULT_MAX_CAPACITY`, …), which wins over
/// `.env`, which wins over `esb.toml` ([crate::config]).
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
    #[command(flatten)]
    pub copy: CopyArgs,
    /// Start afresh: stop a running box, delete its data and logs, rebuild everything
    #[arg(long)]
    pub reset: bool,
    /// Port of the gateway and the Invoke API [env ESB_PORT; default 8443]
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on, 0.0.0.0 for every interface [env ESB_BIND; default 127.0.0.1]
    #[arg(long)]
    pub bind: Option<IpAddr>,
    /// Seconds to wait for the box to answer /health before giving up
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
    /// Refuse a host runtime whose version differs from the template's
    #[arg(long)]
    pub strict_runtimes: bool,
    /// Refuse to start when a function cannot run here or the template declares something
    /// the box does not serve
    #[arg(long)]
    pub strict: bool,
    /// Workers per function without ReservedConcurrentExecutions [env DEFAULT_MAX_CAPACITY; 10]
    #[arg(long)]
    pub max_workers: Option<usize>,
    /// Seconds a request waits for a busy function's worker, then 503 [env POOL_ACQUIRE_TIMEOUT; 10]
    #[arg(long)]
    pub acquire_timeout: Option<f64>,
    /// Seconds an idle worker stays warm [env GATEWAY_IDLE_TIMEOUT_SECONDS; 300]
    #[arg(long)]
    pub idle_timeout: Option<u64>,
    /// Seconds in-flight requests get to finish on shutdown [default 10]
    #[arg(long)]
    pub drain: Option<u64>,
    /// Serve plain HTTP instead of HTTPS [env ESB_HTTP=true]
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
    /// `esb`: require the original ESB login token on every route (default: on when users and
    /// an API key are configured)
    #[arg(long, value_enum)]
    pub auth: Option<AuthMode>,
    /// Port of the embedded S3, 0 for any free port [env ESB_S3_PORT; default 9000]
    #[arg(long)]
    pub s3_port: Option<u16>,
    /// Port of the embedded DynamoDB, 0 for any free port [env ESB_DYNAMODB_PORT; default 8001]
    #[arg(long)]
    pub dynamodb_port: Option<u16>,
    #[command(flatten)]
    pub workers: WorkerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    Esb,
}

/// The resolved settings of one `esb up`.
#[derive(Debug, Clone)]
struct UpSettings {
    bind: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    invoker: InvokerConfig,
    drain: Duration,
    connections: ConnectionLimits,
    breaker: BreakerConfig,
    auth: AuthConfig,
    invoke_api: InvokeApiAccess,
    data: DataSettings,
    driver: Arc<dyn Driver>,
}

impl UpArgs {
    fn settings(&self, layers: &Layers) -> miette::Result<UpSettings> {
        let file = &layers.file;
        let port = self
            .port
            .or(layers.var("ESB_PORT")?)
            .or(file.gateway.port)
            .unwrap_or(8443);
        let bind = self
            .bind
            .or(layers.var("ESB_BIND")?)
            .or(file.gateway.bind)
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let http = self.http
            || layers
                .var("ESB_HTTP")?
                .or(file.gateway.http)
                .unwrap_or(false);
        let own_tls = self.tls_cert.clone().zip(self.tls_key.clone()).or(file
            .gateway
            .tls_cert
            .clone()
            .zip(file.gateway.tls_key.clone()));
        let tls = match (http, own_tls) {
            (true, _) => None,
            (false, Some(files)) => Some(files),
            (false, None) => {
                let local = LocalCertificates::ensure(&certs_dir()).into_diagnostic()?;
                Some((local.server_cert, local.server_key))
            }
        };
        let seconds = |s: f64| Duration::from_secs_f64(s.max(0.0));
        let defaults = InvokerConfig::default();
        let invoker = InvokerConfig {
            default_max_workers: self
                .max_workers
                .or(layers.var("DEFAULT_MAX_CAPACITY")?)
                .or(file.pool.max_workers)
                .unwrap_or(defaults.default_max_workers),
            acquire_timeout: self
                .acquire_timeout
                .or(layers.var("POOL_ACQUIRE_TIMEOUT")?)
                .or(file.pool.acquire_timeout_seconds)
                .map_or(defaults.acquire_timeout, seconds),
            idle_timeout: self
                .idle_timeout
                .or(layers.var("GATEWAY_IDLE_TIMEOUT_SECONDS")?)
                .or(file.pool.idle_timeout_seconds)
                .map_or(defaults.idle_timeout, Duration::from_secs),
            janitor_interval: layers
                .var("HEARTBEAT_INTERVAL")?
                .or(file.pool.janitor_interval_seconds)
                .map_or(defaults.janitor_interval, Duration::from_secs),
        };
        let drain = self.drain.or(file.gateway.drain_seconds).unwrap_or(10);
        let connection_defaults = ConnectionLimits::default();
        let connections = ConnectionLimits {
            header_read_timeout: positive_seconds(
                "header_read_timeout_seconds",
                file.gateway.header_read_timeout_seconds,
            )?
            .unwrap_or(connection_defaults.header_read_timeout),
            idle_timeout: positive_seconds(
                "connection_idle_timeout_seconds",
                file.gateway.connection_idle_timeout_seconds,
            )?
            .unwrap_or(connection_defaults.idle_timeout),
            max_connections: file
                .gateway
                .max_connections
                .unwrap_or(connection_defaults.max_connections)
                .max(1),
        };
        let breaker_defaults = BreakerConfig::default();
        let breaker = BreakerConfig {
            threshold: layers
                .var("CIRCUIT_BREAKER_THRESHOLD")?
                .or(file.breaker.threshold)
                .unwrap_or(breaker_defaults.threshold),
            recovery_timeout: layers
                .var("CIRCUIT_BREAKER_RECOVERY_TIMEOUT")?
                .or(file.breaker.recovery_timeout_seconds.map(|s| s as f64))
                .map_or(breaker_defaults.recovery_timeout, seconds),
        };
        Ok(UpSettings {
            driver: self.workers.driver(layers)?,
            data: DataSettings::resolve(self.s3_port, self.dynamodb_port, layers)?,
            bind: SocketAddr::new(bind, port),
            tls,
            invoker,
            drain: Duration::from_secs(drain),
            connections,
            breaker,
            auth: self.auth_config(layers)?,
            invoke_api: match layers.var::<InvokeApiAccess>("ESB_INVOKE_API")? {
                Some(access) => access,
                None => file
                    .gateway
                    .invoke_api
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e| miette!("esb.toml [gateway] invoke_api: {e}"))?
                    .unwrap_or_default(),
            },
        })
    }

    /// The original ESB's variables (`X_API_KEY`, `AUTH_USER`, `AUTH_PASS`, `JWT_SECRET_KEY`,
    /// `AUTH_ENDPOINT_PATH`, `JWT_EXPIRES_DELTA` in seconds) over `esb.toml`'s `[auth]`.
    fn auth_config(&self, layers: &Layers) -> miette::Result<AuthConfig> {
        let file = &layers.file.auth;
        let defaults = AuthConfig::default();
        let mut users: Vec<(String, String)> = file
            .users
            .iter()
            .flatten()
            .map(|(user, password)| (user.clone(), password.clone()))
            .collect();
        if let (Some(user), Some(password)) = (
            layers.var::<String>("AUTH_USER")?,
            layers.var::<String>("AUTH_PASS")?,
        ) {
            users.retain(|(existing, _)| existing != &user);
            users.push((user, password));
        }
        let mut api_keys = file.api_keys.clone().unwrap_or_default();
        if let Some(keys) = layers.var::<String>("X_API_KEY")? {
            api_keys.extend(
                keys.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            );
        }
        Ok(AuthConfig {
            esb_users: users,
            api_keys,
            jwt_secret: layers.var("JWT_SECRET_KEY")?.or(file.jwt_secret.clone()),
            jwt_expires: layers
                .var("JWT_EXPIRES_DELTA")?
                .or(file.jwt_expires_seconds)
                .map_or(defaults.jwt_expires, Duration::from_secs),
            login_path: layers
                .var("AUTH_ENDPOINT_PATH")?
                .or(file.login_path.clone())
                .unwrap_or(defaults.login_path.clone()),
            force_esb_mode: self.auth == Some(AuthMode::Esb),
            ..defaults
        })
    }
}

impl UpArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        if self.reset && !self.foreground {
            self.reset_box(&template)?;
        }
        let report = esb_build::build(&BuildRequest {
            template: template.clone(),
            input: self.template.input(),
            options: BuildOptions {
                no_cache: self.build || self.reset,
                allow_outside_links: self.copy.allow_outside_links,
                ..BuildOptions::default()
            },
        })?;
        let output_dir = report.output_dir.clone();
        let notices = crate::commands::build::notices(&report);
        for notice in &notices {
            eprintln!("{notice}");
        }
        if self.strict && !notices.is_empty() {
            return Err(miette!(
                help = "drop --strict to serve the rest anyway",
                "--strict: the template declares what this box does not serve (listed above)"
            ));
        }
        if let Some(state) =
            RunState::read_live(&output_dir).filter(|state| state.pid != std::process::id())
        {
            eprintln!(
                "esb is already running at {} (pid {}); `esb down` stops it",
                state.url, state.pid
            );
            return Ok(());
        }
        let project_dir = template
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        // Resolved here too in the background case, so a bad setting fails before forking.
        let settings = self.settings(&Layers::load(&project_dir)?)?;
        if self.foreground {
            let served = self.run_foreground(project_dir, output_dir.clone(), settings);
            if let Err(error) = &served {
                // For the `esb up` that started this one in the background, which shows it.
                let _ = std::fs::write(start_error_path(&output_dir), error.to_string());
            }
            served
        } else {
            self.start_background(&output_dir, &settings.data.credentials)
        }
    }

    /// `--reset`: what `esb down --volumes --yes` does, before starting again.
    fn reset_box(&self, template: &Path) -> miette::Result<()> {
        crate::commands::DownArgs {
            template: TemplateArgs {
                template: Some(template.to_path_buf()),
                ..self.template.clone()
            },
            timeout: 30,
            volumes: true,
            yes: true,
        }
        .run()
    }

    fn run_foreground(
        &self,
        project_dir: PathBuf,
        output_dir: PathBuf,
        settings: UpSettings,
    ) -> miette::Result<()> {
        // Held until this process exits, however it exits: what proves to `esb down` and
        // `esb status` that the state file below names a live box.
        let Some(_lock) = BoxLock::acquire(&run_dir(&output_dir)).into_diagnostic()? else {
            return Err(miette!(
                help = "`esb status` shows it; `esb down` stops it",
                "another esb is running for this project (it holds {})",
                lock_path(&run_dir(&output_dir)).display()
            ));
        };
        let started = box_process::start_time(std::process::id()).unwrap_or_default();
        let scheme = if settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut config = BootConfig {
            project_dir,
            output_dir: output_dir.clone(),
            bind: settings.bind,
            invoker: settings.invoker,
            settings: settings.data.credentials.agent_settings(),
            clients: RuntimeClients::new(default_runtimes_dir(), self.strict_runtimes),
            driver: settings.driver,
            retry: RetryPolicy::default(),
            drain: settings.drain,
            connections: settings.connections,
            tls: settings.tls,
            breaker: settings.breaker,
            auth: settings.auth,
            invoke_api: settings.invoke_api,
            strict: self.strict,
        };
        let logs = Arc::new(FunctionLog::open(
            &output_dir.join("logs").join("functions.log"),
            Terminal::Tagged,
        )?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        let access_log = Arc::new(StdoutAccessLog(
            LineWriter::spawn("access", Box::new(std::io::stdout())).into_diagnostic()?,
        ));
        let state_dir = output_dir.clone();
        let result = runtime.block_on(async {
            let mut data = DataRoles::start(&settings.data, &output_dir.join("data")).await?;
            config.settings.endpoints.s3 = Some(data.s3_url.clone());
            config.settings.endpoints.dynamodb = Some(data.dynamodb_url.clone());
            let provisioned = match data.provision(&output_dir).await {
                Ok(report) => report,
                Err(error) => {
                    data.stop().await;
                    return Err(error);
                }
            };
            if !provisioned.outcomes.is_empty() {
                eprintln!("buckets and tables:\n{provisioned}");
            }
            let (s3, dynamodb) = (data.s3_url.clone(), data.dynamodb_url.clone());
            let served = run(
                config,
                logs,
                access_log,
                move |listening| {
                    let url = format!("{scheme}://{}", display_addr(listening.public));
                    let state = RunState {
                        pid: std::process::id(),
                        started,
                        url: url.clone(),
                        addr: listening.public,
                        admin: listening.admin,
                        s3: Some(s3),
                        dynamodb: Some(dynamodb),
                        resources: Some(provisioned.to_string()).filter(|r| !r.is_empty()),
                    };
                    if let Err(error) = state.write(&state_dir) {
                        tracing::warn!(%error, "cannot write the run state; `esb down` will not find this box");
                    }
                    eprintln!("{} esb is up at {url}", output::good("ok:"));
                    let routing: Option<RoutingFile> = artifacts::read(
                        &state_dir.join("config").join(artifacts::ROUTING_FILE),
                    )
                    .ok();
                    print_api_keys(&state_dir, routing.as_ref());
                    print_shadowed_builtins(routing.as_ref());
                    print_readiness(&BoxStatus {
                        functions: listening.functions,
                        isolation: Some(listening.isolation),
                        swept: listening.swept,
                    });
                },
                shutdown_signal(),
            )
            .await;
            data.stop().await;
            let stopped = StopReport {
                dropped_events: served.into_diagnostic()?.dropped_events,
            };
            if let Some(summary) = stopped.summary() {
                eprintln!("{} {summary}", output::warn("warning:"));
            }
            if let Err(error) = stopped.write(&output_dir) {
                tracing::warn!(%error, "cannot record what stopping left undone");
            }
            Ok(())
        });
        RunState::remove(&output_dir);
        result
    }

    fn start_background(
        &self,
        output_dir: &Path,
        credentials: &BoxCredentials,
    ) -> miette::Result<()> {
        std::fs::create_dir_all(run_dir(output_dir)).into_diagnostic()?;
        let _ = std::fs::remove_file(start_error_path(output_dir));
        let log_file = log_path(output_dir);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .into_diagnostic()?;
        // Only what this start logs explains its failure; the log keeps earlier runs too.
        let logged_before = log.metadata().map_or(0, |m| m.len());
        // The build (and any reset) happened here; the box itself only serves it.
        let mut args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|arg| arg != "--build" && arg != "--reset")
            .collect();
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
                let help = format!("the log is {}", log_file.display());
                return Err(
                    match std::fs::read_to_string(start_error_path(output_dir)) {
                        Ok(error) => miette!(help = help, "{error}"),
                        Err(_) => miette!(
                            help = help,
                            "esb stopped while starting ({status}):\n{}",
                            log_tail(&log_file, logged_before)
                        ),
                    },
                );
            }
            let healthy = RunState::read_live(output_dir)
                .filter(|s| s.pid == child.id())
                .filter(|s| {
                    http_get(s.admin, "/_esb/health").is_some_and(|(status, _)| status == 200)
                });
            if let Some(state) = healthy {
                print_up(&state, output_dir, Some(credentials));
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

/// Warns about the box's own endpoints the template's routes take over.
fn print_shadowed_builtins(routing: Option<&RoutingFile>) {
    for clash in routing
        .map(esb_gateway::builtin::shadowed)
        .unwrap_or_default()
    {
        eprintln!("{} {clash}", output::warn("warning:"));
    }
}

fn print_up(state: &RunState, output_dir: &Path, credentials: Option<&BoxCredentials>) {
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
    print_api_keys(output_dir, routing.as_ref());
    print_shadowed_builtins(routing.as_ref());
    eprintln!(
        "  Invoke API: {}/2015-03-31/functions/<name>/invocations",
        state.url
    );
    print_readiness(&box_status(state));
    if let (Some(s3), Some(dynamodb)) = (&state.s3, &state.dynamodb) {
        eprintln!("  S3: {s3}   DynamoDB: {dynamodb}");
        if let Some(credentials) = credentials.filter(|c| c.is_default()) {
            eprintln!(
                "  credentials: {} / {} (region {}; set your own in esb.toml [credentials])",
                credentials.access_key_id, credentials.secret_access_key, credentials.region
            );
        }
    }
    if let Some(resources) = &state.resources {
        eprint!("{resources}");
    }
    if state.url.starts_with("https") {
        eprintln!("  TLS: a local CA signs the certificate; `esb cert` shows how to trust it");
    }
    eprintln!(
        "  logs: {}   stop: esb down",
        log_path(output_dir).display()
    );
}

/// The template's API keys with their values (generated ones included), for clients.
fn print_api_keys(output_dir: &Path, routing: Option<&RoutingFile>) {
    let Some(routing) = routing else {
        return;
    };
    let state_dir = esb_gateway::limits::state_dir(output_dir);
    for (name, value) in esb_gateway::limits::key_values(&state_dir, &routing.api_keys) {
        eprintln!("  API key {name}: {value}  (send it as x-api-key)");
    }
}

/// What the box swept at start, how isolated its workers are, each function that cannot run
/// here, and each that runs with a warning.
fn print_readiness(status: &BoxStatus) {
    for line in &status.swept {
        eprintln!("  swept what an earlier box left: {line}");
    }
    match &status.isolation {
        Some(isolation) if isolation.sandboxed => {
            eprintln!("  workers: {} ({})", isolation.summary, isolation.driver);
        }
        Some(isolation) => eprintln!(
            "{} {}; see docs/isolation.md",
            output::warn("warning:"),
            isolation.summary
        ),
        None => {}
    }
    for function in &status.functions {
        if let Some(error) = &function.error {
            eprintln!(
                "{} {} cannot run here, its requests answer 502: {error}",
                output::bad("error:"),
                function.name
            );
        } else if let Some(warning) = &function.warning {
            eprintln!("{} {}: {warning}", output::warn("warning:"), function.name);
        }
    }
}

/// What the running box says of itself (`/_esb/status`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct BoxStatus {
    pub functions: Vec<FunctionReadiness>,
    pub isolation: Option<Isolation>,
    #[serde(default)]
    pub swept: Vec<String>,
}

/// The running box's status; empty when it does not answer.
pub fn box_status(state: &RunState) -> BoxStatus {
    http_get(state.admin, "/_esb/status")
        .and_then(|(_, body)| serde_json::from_str::<BoxStatus>(&body).ok())
        .unwrap_or_default()
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

/// A `[gateway]` timeout from `esb.toml`, which must be a positive number of seconds.
fn positive_seconds(name: &str, value: Option<f64>) -> miette::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(miette!(
            "[gateway] {name} = {s} in esb.toml: expected a positive number of seconds"
        )),
    }
}

/// The last lines `path` gained after its first `skip` bytes.
fn log_tail(path: &Path, skip: u64) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(skip).unwrap_or(usize::MAX).min(text.len());
    let text = String::from_utf8_lossy(&text[start..]);
    let lines: Vec<&str> = text.lines().rev().take(15).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

pub async fn shutdown_signal() {
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

/// Access-log records as JSON lines on stdout, written off the request path.
struct StdoutAccessLog(LineWriter);

impl AccessLog for StdoutAccessLog {
    fn record(&self, record: serde_json::Value) {
        self.0.line(record.to_string());
    }
}
