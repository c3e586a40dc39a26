//! Acquire + release round trip on a pool of 2 warm fake workers, driven by 2 tasks on a
//! 2-thread runtime: prints throughput and p50/p99 latency. Run: `cargo bench -p esb-pool`.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use esb_pool::{Pool, PoolConfig, PooledWorker, StartError, WorkerFactory};

const TOTAL: usize = 200_000;
const TASKS: usize = 2;

struct Factory;

struct Worker {
    id: String,
    alive: AtomicBool,
}

impl WorkerFactory for Factory {
    type Worker = Worker;

    async fn start(&self) -> Result<Worker, StartError> {
        Ok(Worker {
            id: "bench".to_owned(),
            alive: AtomicBool::new(true),
        })
    }
}

impl PooledWorker for Worker {
    fn id(&self) -> &str {
        &self.id
    }
    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
    async fn shutdown(self) {}
}

fn main() -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TASKS)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = PoolConfig {
        max_workers: 2,
        provisioned: 2,
        acquire_timeout: Duration::from_secs(10),
        janitor_interval: Duration::from_secs(60),
        ..PoolConfig::default()
    };
    let pool = Pool::new("bench", Factory, config);
    pool.prewarm().await?;

    let begun = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let pool = Arc::clone(&pool);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(TOTAL / TASKS);
            for _ in 0..TOTAL / TASKS {
                let at = Instant::now();
                let lease = pool.acquire().await?;
                lease.release();
                samples.push(at.elapsed().as_nanos() as u64);
            }
            Ok::<_, esb_pool::AcquireError>(samples)
        }));
    }
    let mut samples = Vec::with_capacity(TOTAL);
    for task in tasks {
        samples.extend(task.await??);
    }
    let wall = begun.elapsed();
    samples.sort_unstable();
    let percentile = |p: usize| samples.get(samples.len() * p / 100).copied().unwrap_or(0);
    println!(
        "acquire+release, {TOTAL} round trips from {TASKS} tasks on 2 warm workers: \
         {:.0} ops/s, p50 {} ns, p99 {} ns, max {} ns",
        TOTAL as f64 / wall.as_secs_f64(),
        percentile(50),
        percentile(99),
        samples.last().copied().unwrap_or(0),
    );
    let stats = pool.stats();
    println!("stats after: {stats:?}");
    pool.shutdown().await;
    Ok(())
}
