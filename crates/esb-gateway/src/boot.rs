//! Bringing the box up from a build: read `.esb/config`, prepare every function's workers,
//! start the pools (pre-warming provisioned workers), bind the listener, serve until told to
//! stop, then drain and stop every worker.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use esb_agent::catalog::{AgentSettings, worker_spec};
use esb_agent::driver::Isolation;
use esb_agent::logs::LogSink;
use esb_agent::runtimes::RuntimeClients;
use esb_agent::{Driver, Invoker, InvokerConfig, WorkerSpec};
use esb_model::artifacts::{self, FunctionsFile, RoutingFile};
use serde::{Deserialize, Serialize};

use crate::Router;
use crate::app::{AccessLog, App};
use crate::auth::{Auth, AuthConfig};
use crate::breaker::{BreakerConfig, CircuitBreakers};
use crate::connection::ConnectionLimits;
use crate::function_url::FunctionUrls;
use crate::lambda_api::{EventQueue, InvokeApiAccess, LambdaApi, RetryPolicy};
use crate::limits::{self, ApiKeys, Limits, StageThrottling, Validators};
use crate::metrics::Metrics;

/// Where the build is and how to serve it.
#[derive(Debug, Clone)]
pub struct BootConfig {
    pub project_dir: PathBuf,
    /// The build output directory (`.esb`).
    pub output_dir: PathBuf,
    pub bind: SocketAddr,
    pub invoker: InvokerConfig,
    pub settings: AgentSettings,
    pub clients: RuntimeClients,
    /// What runs the workers (`[workers]` settings).
    pub driver: Arc<dyn Driver>,
    pub retry: RetryPolicy,
    /// How long in-flight requests may take to finish on shutdown.
    pub drain: Duration,
    /// Header-read and idle timeouts and the connection cap of the public listener.
    pub connections: ConnectionLimits,
    /// PEM certificate chain and key for HTTPS; `None` serves plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub breaker: BreakerConfig,
    pub auth: AuthConfig,
    pub invoke_api: InvokeApiAccess,
    /// Refuse to serve when a function cannot run here (`esb up --strict`).
    pub strict: bool,
}

/// Where the box listens once it is up, and what it serves.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The public listener (`--bind`/`--port`), HTTPS unless `--http`.
    pub public: SocketAddr,
    /// A plain-HTTP listener on 127.0.0.1 for the CLI's health and status checks.
    pub admin: SocketAddr,
    pub functions: Vec<FunctionReadiness>,
    /// What runs the workers and how isolated they are.
    pub isolation: Isolation,
    /// What an earlier instance of the box left behind and this one removed.
    pub swept: Vec<String>,
}

/// Whether one function of the build can run on this box, and on what: printed by `esb up`,
/// listed by `esb status` (through `/_esb/status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionReadiness {
    pub name: String,
    pub runtime: Option<String>,
    /// What runs it here, e.g. `Python 3.13 (/usr/bin/python3.13)`; `None` when it cannot run.
    pub runs_on: Option<String>,
    /// A difference worth knowing, e.g. the host's runtime version differs from the template's.
    pub warning: Option<String>,
    /// Why it cannot run here; its requests answer 502 until this is fixed.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    #[error(transparent)]
    Listen(#[from] crate::listen::ListenError),
    #[error("cannot read the address of the listener on {addr}: {source}")]
    LocalAddr {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("auth configuration: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Model(#[from] crate::limits::ModelError),
    #[error("API keys and usage plans: {0}")]
    ApiKeys(std::io::Error),
    #[error("{}", cannot_run(.0))]
    CannotRun(Vec<FunctionReadiness>),
}

fn cannot_run(functions: &[FunctionReadiness]) -> String {
    let mut text = String::from("--strict: these functions cannot run here:");
    for function in functions {
        let why = function.error.as_deref().unwrap_or_default();
        text.push_str(&format!("\n  {}: {why}", function.name));
    }
    text
}

/// The routes the box serves, for printing: (method, path, function).
pub fn served_routes(routing: &RoutingFile) -> Vec<(String, String, String)> {
    routing
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.function.clone()))
        .collect()
}

/// What stopping the box left undone.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Asynchronous invocations dropped per function: queued or running past the drain time,
    /// or waiting for a retry.
    pub dropped_events: std::collections::BTreeMap<String, usize>,
}

/// Serves the project until `shutdown` completes, then drains requests and queued
/// asynchronous invocations. `on_ready` gets the bound addresses once the listeners accept
/// connections.
pub async fn run(
    config: BootConfig,
    logs: Arc<dyn LogSink>,
    access_log: Arc<dyn AccessLog>,
    on_ready: impl FnOnce(Listening),
    shutdown: impl Future<Output = ()>,
) -> Result<Stopped, BootError> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
    let config_dir = config.output_dir.join("config");
    let functions: FunctionsFile = artifacts::read(&config_dir.join(artifacts::FUNCTIONS_FILE))?;
    let routing: RoutingFile = artifacts::read(&config_dir.join(artifacts::ROUTING_FILE))?;

    let bind = |addr: SocketAddr, role: &'static str| async move {
        let listener = crate::listen::listen(addr, role, "--port").await?;
        let local = listener
            .local_addr()
            .map_err(|source| BootError::LocalAddr { addr, source })?;
        Ok::<_, BootError>((listener, local))
    };
    let (public_listener, public) = bind(config.bind, "the gateway").await?;
    let (admin_listener, admin) =
        bind(SocketAddr::from(([127, 0, 0, 1], 0)), "the admin listener").await?;
    // Functions reach this box's Lambda API (chained invocations) through the loopback
    // listener, so SDKs inside them need no certificate.
    let mut config = config;
    config.settings.endpoints.lambda = Some(format!("http://{admin}"));
    let function_urls = FunctionUrls::new(&routing, &functions);
    let (specs, readiness) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || prepare_functions(&functions, &config))
            .await
            .unwrap_or_default()
    };
    if config.strict && readiness.iter().any(|f| f.error.is_some()) {
        return Err(BootError::CannotRun(
            readiness
                .into_iter()
                .filter(|f| f.error.is_some())
                .collect(),
        ));
    }
    let aliases = specs
        .iter()
        .filter_map(|s| {
            Some((
                s.function.name.clone(),
                s.function.auto_publish_alias.clone()?,
            ))
        })
        .collect();
    // Before any worker of ours exists: what a box that died here left behind goes first.
    let driver = Arc::clone(&config.driver);
    let swept = tokio::task::spawn_blocking(move || driver.sweep().removed)
        .await
        .unwrap_or_default();
    for line in &swept {
        tracing::info!("swept {line}");
    }
    let isolation = config.driver.isolation();
    let invoker = Arc::new(Invoker::new(
        Arc::clone(&config.driver),
        specs,
        logs,
        &config.invoker,
    ));
    if let Err(error) = invoker.prewarm().await {
        tracing::warn!(%error, "pre-warming provisioned workers failed; they start on demand");
    }
    let auth = Auth::new(config.auth.clone(), &routing)?;
    let limits = Limits {
        throttling: StageThrottling::new(&routing),
        api_keys: ApiKeys::load(
            &routing,
            config.auth.api_keys.clone(),
            &limits::state_dir(&config.output_dir),
        )
        .map_err(BootError::ApiKeys)?,
        validators: Validators::new(&routing)?,
    };
    let app = Arc::new(App {
        router: Router::new(&routing),
        function_urls,
        auth,
        limits,
        invoker: Arc::clone(&invoker),
        breakers: CircuitBreakers::new(config.breaker),
        metrics: Metrics::new(),
        lambda: LambdaApi {
            invoker: Arc::clone(&invoker),
            events: EventQueue::start(Arc::clone(&invoker), 1_000, 2, config.retry.clone()),
            region: config.settings.region.clone(),
            account_id: config.settings.account_id.clone(),
            aliases,
            access: config.invoke_api,
        },
        access_log,
        readiness: readiness.clone(),
        isolation: isolation.clone(),
        swept: swept.clone(),
    });
    on_ready(Listening {
        public,
        admin,
        functions: readiness,
        isolation,
        swept,
    });
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_server = tokio::spawn(crate::server::serve(
        crate::server::Listener::Admin,
        admin_listener,
        None,
        Arc::clone(&app),
        async move {
            let _ = admin_stopped.await;
        },
        config.drain,
        ConnectionLimits::default(),
    ));
    let quota_writer = app
        .limits
        .api_keys
        .meters_quotas()
        .then(|| tokio::spawn(write_quota_use(Arc::clone(&app))));
    crate::server::serve(
        crate::server::Listener::Public,
        public_listener,
        tls,
        Arc::clone(&app),
        shutdown,
        config.drain,
        config.connections,
    )
    .await;
    let _ = stop_admin.send(());
    let _ = admin_server.await;
    // Functions queue events through the admin listener: drained only once it is closed.
    let dropped_events = app.lambda.events.drain(config.drain).await;
    if !dropped_events.is_empty() {
        tracing::warn!(?dropped_events, "asynchronous invocations dropped on stop");
    }
    if let Some(writer) = quota_writer {
        writer.abort();
    }
    if let Err(error) = app.limits.api_keys.flush() {
        tracing::warn!(%error, "cannot keep usage plan quota use");
    }
    invoker.shutdown().await;
    Ok(Stopped { dropped_events })
}

/// Keeps usage plans' quota use on disk once a second while the box serves, so a crash loses
/// at most a second of counting.
async fn write_quota_use(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let app = Arc::clone(&app);
        let written = tokio::task::spawn_blocking(move || app.limits.api_keys.flush()).await;
        if let Ok(Err(error)) = written {
            tracing::warn!(%error, "cannot keep usage plan quota use");
        }
    }
}

/// Every function's worker spec, or why it cannot run here. Blocking: runtime environments may
/// be created.
fn prepare_functions(
    functions: &FunctionsFile,
    config: &BootConfig,
) -> (Vec<Arc<WorkerSpec>>, Vec<FunctionReadiness>) {
    let mut specs = Vec::new();
    let mut readiness = Vec::new();
    for artifact in &functions.functions {
        let function = &artifact.function;
        let spec = worker_spec(
            artifact,
            &config.project_dir,
            &config.settings,
            &config.clients,
            Default::default(),
        );
        let mut ready = FunctionReadiness {
            name: function.name.clone(),
            runtime: function.runtime.clone(),
            runs_on: None,
            warning: None,
            error: None,
        };
        match spec {
            Ok(spec) => {
                if let Some(warning) = &spec.launch.warning {
                    tracing::warn!(function = %function.name, "{warning}");
                }
                ready.runs_on = Some(spec.launch.runs_on.clone());
                ready.warning = spec.launch.warning.clone();
                specs.push(Arc::new(spec));
            }
            Err(error) => {
                tracing::error!(function = %function.name, %error, "the function cannot run here; its requests fail with 502");
                ready.error = Some(error.to_string());
            }
        }
        readiness.push(ready);
    }
    (specs, readiness)
}
