//! Bringing the box up from a build: read `.esb/config`, prepare every function's workers,
//! start the pools (pre-warming provisioned workers), bind the listener, serve until told to
//! stop, then drain and stop every worker.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use esb_agent::catalog::{AgentSettings, worker_spec};
use esb_agent::logs::LogSink;
use esb_agent::runtimes::RuntimeClients;
use esb_agent::{Invoker, InvokerConfig};
use esb_model::artifacts::{self, FunctionsFile, RoutingFile};

use crate::Router;
use crate::app::{AccessLog, App};
use crate::auth::{Auth, AuthConfig};
use crate::breaker::{BreakerConfig, CircuitBreakers};
use crate::function_url::FunctionUrls;
use crate::lambda_api::{EventQueue, InvokeApiAccess, LambdaApi, RetryPolicy};
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
    pub retry: RetryPolicy,
    /// How long in-flight requests may take to finish on shutdown.
    pub drain: Duration,
    /// PEM certificate chain and key for HTTPS; `None` serves plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub breaker: BreakerConfig,
    pub auth: AuthConfig,
    pub invoke_api: InvokeApiAccess,
}

/// Where the box listens once it is up.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    /// The public listener (`--bind`/`--port`), HTTPS unless `--http`.
    pub public: SocketAddr,
    /// A plain-HTTP listener on 127.0.0.1 for the CLI's health and status checks.
    pub admin: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    #[error(
        "cannot listen on {addr}: {source} (is another esb or server using the port? try --port)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("auth configuration: {0}")]
    Auth(#[from] crate::auth::AuthError),
}

/// The routes the box serves, for printing: (method, path, function).
pub fn served_routes(routing: &RoutingFile) -> Vec<(String, String, String)> {
    routing
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.function.clone()))
        .collect()
}

/// Serves the project until `shutdown` completes. `on_ready` gets the bound addresses once the
/// listeners accept connections.
pub async fn run(
    config: BootConfig,
    logs: Arc<dyn LogSink>,
    access_log: Arc<dyn AccessLog>,
    on_ready: impl FnOnce(Listening),
    shutdown: impl Future<Output = ()>,
) -> Result<(), BootError> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
    let config_dir = config.output_dir.join("config");
    let functions: FunctionsFile = artifacts::read(&config_dir.join(artifacts::FUNCTIONS_FILE))?;
    let routing: RoutingFile = artifacts::read(&config_dir.join(artifacts::ROUTING_FILE))?;

    let bind = |addr: SocketAddr| async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| BootError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| BootError::Bind { addr, source })?;
        Ok::<_, BootError>((listener, local))
    };
    let (public_listener, public) = bind(config.bind).await?;
    let (admin_listener, admin) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    // Functions reach this box's Lambda API (chained invocations) through the loopback
    // listener, so SDKs inside them need no certificate.
    let mut config = config;
    config.settings.endpoints.lambda = Some(format!("http://{admin}"));
    let function_urls = FunctionUrls::new(&routing, &functions);
    let specs = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            functions
                .functions
                .iter()
                .filter_map(|artifact| {
                    match worker_spec(artifact, &config.project_dir, &config.settings, &config.clients, Default::default()) {
                        Ok(spec) => {
                            if let Some(warning) = &spec.launch.warning {
                                tracing::warn!(function = %spec.function.name, "{warning}");
                            }
                            Some(Arc::new(spec))
                        }
                        Err(error) => {
                            tracing::error!(function = %artifact.function.name, %error, "the function cannot run here; its requests fail with 502");
                            None
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default()
    };
    let aliases = specs
        .iter()
        .filter_map(|s| {
            Some((
                s.function.name.clone(),
                s.function.auto_publish_alias.clone()?,
            ))
        })
        .collect();
    let invoker = Arc::new(Invoker::new(specs, logs, &config.invoker));
    if let Err(error) = invoker.prewarm().await {
        tracing::warn!(%error, "pre-warming provisioned workers failed; they start on demand");
    }
    let auth = Auth::new(config.auth.clone(), &routing)?;
    let app = Arc::new(App {
        router: Router::new(&routing),
        function_urls,
        auth,
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
    });
    on_ready(Listening { public, admin });
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_server = tokio::spawn(crate::server::serve(
        admin_listener,
        None,
        Arc::clone(&app),
        async move {
            let _ = admin_stopped.await;
        },
        config.drain,
    ));
    crate::server::serve(public_listener, tls, app, shutdown, config.drain).await;
    let _ = stop_admin.send(());
    let _ = admin_server.await;
    invoker.shutdown().await;
    Ok(())
}
