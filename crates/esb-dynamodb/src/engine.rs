//! The storage and expression engine: `dynoxide-rs`, embedded behind [`Engine::call`].
//!
//! dynoxide 3.2 exposes its DynamoDB JSON dispatch (request checks, per-operation error
//! shapes, deep-nesting handling) only through its own HTTP server, so the engine runs that
//! server on a private loopback listener inside a dedicated runtime and [`Engine::call`] hands
//! it one request. That runtime's threads have large stacks ([`EngineConfig::stack_size`]):
//! the engine parses expressions recursively, and a deeply nested expression overflows tokio's
//! default 2 MiB stacks and aborts the process. A background task sweeps expired TTL items.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::oneshot;

use crate::error::DynamoError;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "dynamodb.sqlite";

/// Stack size of the engine's threads: 16 MiB, enough for any expression DynamoDB accepts.
pub const DEFAULT_STACK_SIZE: usize = 16 * 1024 * 1024;

/// Content type used on the private hop.
const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// How to open the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Directory holding [`DATABASE_FILE`]; `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    /// Threads executing requests.
    pub worker_threads: usize,
    /// Stack size of every engine thread.
    pub stack_size: usize,
    /// How often expired TTL items are deleted; `None` disables the sweep.
    pub ttl_sweep_interval: Option<Duration>,
}

impl EngineConfig {
    /// A durable engine storing its data under `data_dir`.
    pub fn on_disk(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: Some(data_dir.into()),
            ..Self::in_memory()
        }
    }

    /// An engine keeping its data in memory.
    pub fn in_memory() -> Self {
        Self {
            data_dir: None,
            worker_threads: 2,
            stack_size: DEFAULT_STACK_SIZE,
            ttl_sweep_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// What the engine answered: an HTTP status and a DynamoDB JSON body (a result or an error
/// with `__type` and `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineReply {
    /// HTTP status (200, or DynamoDB's error status).
    pub status: u16,
    /// The JSON body.
    pub body: Bytes,
}

/// The running engine. Dropping it stops it.
#[derive(Debug)]
pub struct Engine {
    addr: SocketAddr,
    uri: http::Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    database_path: Option<PathBuf>,
}

impl Engine {
    /// Open the database and start the engine. Blocking (opens SQLite, starts threads): call
    /// it before entering async code or from `spawn_blocking`.
    pub fn open(config: &EngineConfig) -> Result<Self, DynamoError> {
        let (database, database_path) = open_database(config.data_dir.as_deref())?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| DynamoError::Start(format!("cannot bind the engine's listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DynamoError::Start(e.to_string()))?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (workers, stack_size, sweep) = (
            config.worker_threads.max(1),
            config.stack_size,
            config.ttl_sweep_interval,
        );
        // The runtime is built, run and dropped on its own thread: dropping a runtime inside
        // an async context would panic.
        std::thread::Builder::new()
            .name("esb-dynamodb-engine-main".to_owned())
            .stack_size(stack_size)
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_stack_size(stack_size)
                    .thread_name("esb-dynamodb-engine")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let served = runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                    if let Some(every) = sweep {
                        tokio::spawn(sweep_ttl(database.clone(), every));
                    }
                    let _ = ready_tx.send(Ok(tokio::runtime::Handle::current()));
                    dynoxide::server::serve_with_shutdown(listener, database, async move {
                        let _ = stop_rx.await;
                    })
                    .await
                });
                if let Err(e) = served {
                    tracing::error!(error = %e, "the DynamoDB engine stopped");
                }
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .map_err(|e| DynamoError::Start(e.to_string()))?;
        let handle = match ready_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => return Err(DynamoError::Start(e)),
            Err(_) => return Err(DynamoError::Start("the engine thread exited".to_owned())),
        };

        let uri = format!("http://{addr}/")
            .parse()
            .map_err(|e: http::uri::InvalidUri| DynamoError::Start(e.to_string()))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self {
            addr,
            uri,
            client,
            runtime: handle,
            stop: Mutex::new(Some(stop_tx)),
            database_path,
        })
    }

    /// Run one DynamoDB operation. `target` is the `X-Amz-Target` header value
    /// (`DynamoDB_20120810.PutItem`), `body` the JSON request. DynamoDB API errors (validation,
    /// conditional check failed, missing table…) come back as an [`EngineReply`] with their
    /// status; `Err` means the engine itself could not answer.
    pub async fn call(&self, target: &str, body: Bytes) -> Result<EngineReply, DynamoError> {
        let request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, AMZ_JSON)
            .header("x-amz-target", target)
            // The front authenticates; the engine only checks that auth material is present.
            .header(
                http::header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=esb/20000101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=0",
            )
            .header("x-amz-date", "20000101T000000Z")
            .body(Full::new(body))
            .map_err(|e| DynamoError::EngineStopped(format!("bad target header: {e}")))?;
        let client = self.client.clone();
        // The hop runs on the engine's runtime, so the engine works from any caller runtime.
        let task = self.runtime.spawn(async move {
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>(EngineReply { status, body })
        });
        match task.await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(DynamoError::EngineStopped(e)),
            Err(e) => Err(DynamoError::EngineStopped(e.to_string())),
        }
    }

    /// The database file, when on disk.
    pub fn database_path(&self) -> Option<&Path> {
        self.database_path.as_deref()
    }

    /// The engine's private loopback address (diagnostics only).
    pub fn private_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop the engine: running requests finish, new calls fail.
    pub fn shutdown(&self) {
        if let Ok(mut stop) = self.stop.lock()
            && let Some(tx) = stop.take()
        {
            let _ = tx.send(());
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Open (or create) the database: a file under `data_dir`, or memory.
///
/// Durability: dynoxide opens SQLite in WAL mode and leaves `synchronous` at the bundled
/// SQLite default, FULL, so every commit is fsynced before the engine answers.
fn open_database(
    data_dir: Option<&Path>,
) -> Result<(dynoxide::Database, Option<PathBuf>), DynamoError> {
    let Some(dir) = data_dir else {
        let db = dynoxide::Database::memory().map_err(|e| DynamoError::Open {
            path: PathBuf::from(":memory:"),
            message: e.to_string(),
        })?;
        return Ok((db, None));
    };
    std::fs::create_dir_all(dir).map_err(|source| DynamoError::CreateDataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(DATABASE_FILE);
    let path_str = path
        .to_str()
        .ok_or_else(|| DynamoError::NonUtf8Path(path.clone()))?;
    let db = dynoxide::Database::new(path_str).map_err(|e| DynamoError::Open {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok((db, Some(path)))
}

/// Delete expired TTL items every `every`, as DynamoDB does in the background.
async fn sweep_ttl(db: dynoxide::Database, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.sweep_ttl()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(deleted = n, "TTL sweep"),
            Ok(Err(e)) => tracing::warn!(error = %e, "TTL sweep failed"),
            Err(e) => tracing::warn!(error = %e, "TTL sweep task failed"),
        }
    }
}
