//! The invoke lifecycle shared by every front end (`esb invoke`, the gateway, the Invoke
//! API): find the function's pool, lease a warm worker (or start one), invoke, then return the
//! worker to the pool, or discard it when the invocation left it dead. The result is returned
//! as soon as the runtime answers; the worker stays leased until a streamed body has ended and
//! the function's extensions are done with the invocation.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use esb_pool::{
    AcquireError, Pool, PoolConfig, PoolStats, PooledWorker, StartError, WorkerFactory,
};

use crate::driver::Driver;
use crate::invoke::{BodyStream, InvokeInput, InvokeResult, WorkerError};
use crate::logs::LogSink;
use crate::registry::{WorkerRegistry, WorkerSnapshot};
use crate::worker::{Worker, WorkerSpec};

/// Pool settings every function gets unless its template says otherwise.
#[derive(Debug, Clone)]
pub struct InvokerConfig {
    /// Workers per function without `ReservedConcurrentExecutions`.
    pub default_max_workers: usize,
    /// How long a caller waits for a worker when the function is at its cap.
    pub acquire_timeout: Duration,
    /// Idle workers are stopped after this long (scale to zero).
    pub idle_timeout: Duration,
    pub janitor_interval: Duration,
}

impl Default for InvokerConfig {
    fn default() -> Self {
        InvokerConfig {
            default_max_workers: 10,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            janitor_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("Function not found: {0}")]
    NotFound(String),
    #[error("Rate exceeded: {function} is at its concurrency limit")]
    Throttled { function: String },
    #[error("no worker of {function} became free within {waited:?}")]
    AcquireTimeout { function: String, waited: Duration },
    #[error("{function} could not start: {source}")]
    Start {
        function: String,
        source: StartError,
    },
    #[error("the box is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// Starts one function's workers through the box's driver.
pub struct WorkerStarter {
    spec: Arc<WorkerSpec>,
    driver: Arc<dyn Driver>,
    sink: Arc<dyn LogSink>,
    registry: Arc<WorkerRegistry>,
}

impl std::fmt::Debug for WorkerStarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerStarter")
            .field("function", &self.spec.function.name)
            .finish()
    }
}

impl WorkerFactory for WorkerStarter {
    type Worker = Worker;

    fn start(&self) -> impl Future<Output = Result<Worker, StartError>> + Send {
        let spec = Arc::clone(&self.spec);
        let driver = Arc::clone(&self.driver);
        let sink = Arc::clone(&self.sink);
        let registry = Arc::clone(&self.registry);
        async move {
            let worker = Worker::start(spec, driver.as_ref(), sink)
                .await
                .map_err(|e| StartError::new("Runtime.Unknown", e.to_string()))?;
            registry.add(worker.record());
            Ok(worker)
        }
    }
}

impl PooledWorker for Worker {
    fn id(&self) -> &str {
        Worker::id(self)
    }

    fn is_alive(&self) -> bool {
        Worker::is_alive(self)
    }

    fn shutdown(self) -> impl Future<Output = ()> + Send {
        Worker::shutdown(self)
    }
}

/// Every function's pool, by name (a logical id also finds its function).
#[derive(Debug)]
pub struct Invoker {
    pools: HashMap<String, Arc<Pool<WorkerStarter>>>,
    logical_ids: HashMap<String, String>,
    registry: Arc<WorkerRegistry>,
    driver: Arc<dyn Driver>,
}

impl Invoker {
    /// One pool per function: at most `ReservedConcurrentExecutions` workers (else the
    /// default cap), `ProvisionedConcurrency` of them kept warm, all run by `driver`.
    pub fn new(
        driver: Arc<dyn Driver>,
        specs: Vec<Arc<WorkerSpec>>,
        sink: Arc<dyn LogSink>,
        config: &InvokerConfig,
    ) -> Invoker {
        let registry = Arc::new(WorkerRegistry::default());
        let mut pools = HashMap::new();
        let mut logical_ids = HashMap::new();
        for spec in specs {
            let function = &spec.function;
            let pool_config = PoolConfig {
                max_workers: function
                    .reserved_concurrency
                    .map_or(config.default_max_workers, |n| n as usize),
                provisioned: function.provisioned_concurrency.unwrap_or(0) as usize,
                acquire_timeout: config.acquire_timeout,
                idle_timeout: config.idle_timeout,
                janitor_interval: config.janitor_interval,
                ..PoolConfig::default()
            };
            let name = function.name.clone();
            logical_ids.insert(function.logical_id.clone(), name.clone());
            let factory = WorkerStarter {
                spec: Arc::clone(&spec),
                driver: Arc::clone(&driver),
                sink: Arc::clone(&sink),
                registry: Arc::clone(&registry),
            };
            pools.insert(name.clone(), Pool::new(name, factory, pool_config));
        }
        Invoker {
            pools,
            logical_ids,
            registry,
            driver,
        }
    }

    fn pool(&self, function: &str) -> Option<&Arc<Pool<WorkerStarter>>> {
        self.pools.get(function).or_else(|| {
            self.logical_ids
                .get(function)
                .and_then(|name| self.pools.get(name))
        })
    }

    /// Whether `function` (a name or logical id) is one of this invoker's functions.
    pub fn has_function(&self, function: &str) -> bool {
        self.pool(function).is_some()
    }

    /// Starts every function's provisioned workers ahead of traffic.
    pub async fn prewarm(&self) -> Result<(), InvokeError> {
        for pool in self.pools.values() {
            pool.prewarm().await.map_err(|source| InvokeError::Start {
                function: pool.function_name().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// One invocation of `function` (its name or logical id).
    pub async fn invoke(
        &self,
        function: &str,
        input: InvokeInput,
    ) -> Result<InvokeResult, InvokeError> {
        let pool = self
            .pool(function)
            .ok_or_else(|| InvokeError::NotFound(function.to_string()))?;
        let name = || pool.function_name().to_string();
        let lease = pool.acquire().await.map_err(|error| match error {
            AcquireError::Throttled => InvokeError::Throttled { function: name() },
            AcquireError::Timeout { waited } => InvokeError::AcquireTimeout {
                function: name(),
                waited,
            },
            AcquireError::Start(source) => InvokeError::Start {
                function: name(),
                source,
            },
            AcquireError::ShuttingDown => InvokeError::ShuttingDown,
        })?;
        lease.worker().record().set_busy(true);
        if !lease.cold_start() {
            // Started ahead of this caller (pre-warmed or left idle): its init is not part of
            // this invocation, so its REPORT line carries no Init Duration, as on AWS.
            let _ = lease.worker().take_init_duration();
        }
        let mut result = match lease.worker().invoke(input).await {
            Ok(result) => result,
            Err(error) => {
                lease.discard();
                return Err(error.into());
            }
        };
        let reusable = result.reusable;
        let ended = result.stream.as_mut().map(BodyStream::ended);
        if ended.is_none() && !lease.worker().has_invoke_extensions() {
            give_back(lease, reusable);
            return Ok(result);
        }
        tokio::spawn(async move {
            if let Some(ended) = ended {
                // Completes with the stream, or when the caller drops it.
                let _ = ended.await;
            }
            lease.worker().settle().await;
            give_back(lease, reusable);
        });
        Ok(result)
    }

    /// Every live worker, for `/metrics/containers`.
    pub fn workers(&self) -> Vec<WorkerSnapshot> {
        self.registry.snapshot()
    }

    /// Pool sizes per function, for status and metrics.
    pub fn stats(&self) -> Vec<(String, PoolStats)> {
        let mut stats: Vec<(String, PoolStats)> = self
            .pools
            .iter()
            .map(|(name, pool)| (name.clone(), pool.stats()))
            .collect();
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        stats
    }

    /// Stops every worker of every function, then releases what the driver still holds.
    pub async fn shutdown(&self) {
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
        self.driver.release().await;
    }
}

/// Returns a worker to its pool, or discards it when the invocation left it unusable.
fn give_back(lease: esb_pool::Lease<WorkerStarter>, reusable: bool) {
    lease.worker().record().set_busy(false);
    if reusable && lease.worker().is_alive() {
        lease.release();
    } else {
        lease.discard();
    }
}
