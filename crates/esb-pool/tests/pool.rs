//! Behaviour of the warm pool against a fake worker backend: caps, FIFO queueing, timeouts,
//! MRU reuse, scale-to-zero, pre-warm, janitor, start failures, discard, drop and shutdown.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use esb_pool::{
    AcquireError, Lease, Pool, PoolConfig, PoolStats, PooledWorker, StartError, WorkerFactory,
};

// ---------------------------------------------------------------------------------------------
// Fake backend

#[derive(Default)]
struct Shared {
    next_id: AtomicUsize,
    starts: AtomicUsize,
    /// The next this-many starts fail.
    fail_next: AtomicUsize,
    start_delay_ms: AtomicUsize,
    alive: Mutex<HashMap<String, Arc<AtomicBool>>>,
    shut_down: Mutex<Vec<String>>,
}

impl Shared {
    fn kill(&self, id: &str) {
        if let Some(flag) = self.alive.lock().unwrap().get(id) {
            flag.store(false, Ordering::SeqCst);
        }
    }
    fn shut_down(&self) -> Vec<String> {
        let mut ids = self.shut_down.lock().unwrap().clone();
        ids.sort();
        ids
    }
}

#[derive(Clone, Default)]
struct FakeFactory(Arc<Shared>);

struct FakeWorker {
    id: String,
    alive: Arc<AtomicBool>,
    in_use: AtomicBool,
    shared: Arc<Shared>,
}

impl WorkerFactory for FakeFactory {
    type Worker = FakeWorker;

    async fn start(&self) -> Result<FakeWorker, StartError> {
        let shared = Arc::clone(&self.0);
        shared.starts.fetch_add(1, Ordering::SeqCst);
        let delay = shared.start_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        }
        let fail = shared
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(StartError::new("Runtime.ExitError", "exit status 1"));
        }
        let id = format!("w{}", shared.next_id.fetch_add(1, Ordering::SeqCst));
        let alive = Arc::new(AtomicBool::new(true));
        shared
            .alive
            .lock()
            .unwrap()
            .insert(id.clone(), Arc::clone(&alive));
        Ok(FakeWorker {
            id,
            alive,
            in_use: AtomicBool::new(false),
            shared,
        })
    }
}

impl PooledWorker for FakeWorker {
    fn id(&self) -> &str {
        &self.id
    }
    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
    async fn shutdown(self) {
        self.alive.store(false, Ordering::SeqCst);
        self.shared.shut_down.lock().unwrap().push(self.id.clone());
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn config(max_workers: usize) -> PoolConfig {
    PoolConfig {
        max_workers,
        provisioned: 0,
        acquire_timeout: Duration::from_secs(5),
        max_waiters: 100,
        start_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(3600),
        janitor_interval: Duration::from_secs(1),
    }
}

fn pool(config: PoolConfig) -> (Arc<Pool<FakeFactory>>, Arc<Shared>) {
    let factory = FakeFactory::default();
    let shared = Arc::clone(&factory.0);
    (Pool::new("fn", factory, config), shared)
}

/// Every test body runs under this bound.
async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("test exceeded its time bound")
}

/// Lets spawned tasks (and, with a paused clock, time) run until `pred` holds (bounded).
async fn until(pool: &Pool<FakeFactory>, pred: impl Fn(&PoolStats) -> bool) {
    for _ in 0..10_000 {
        if pred(&pool.stats()) {
            return;
        }
        tokio::task::yield_now().await;
        if pred(&pool.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("condition never held; stats: {:?}", pool.stats());
}

fn id(lease: &Lease<FakeFactory>) -> String {
    lease.worker().id().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cap_is_never_exceeded_under_50_concurrent_acquirers() {
    bounded(async {
        let (pool, shared) = pool(config(4));
        let concurrent = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (pool, concurrent, max_seen) = (pool.clone(), concurrent.clone(), max_seen.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    let lease = pool.acquire().await.unwrap();
                    // One invocation per worker at a time.
                    assert!(!lease.worker().in_use.swap(true, Ordering::SeqCst));
                    let now = concurrent.fetch_add(1, Ordering::SeqCst) + 1;
                    max_seen.fetch_max(now, Ordering::SeqCst);
                    assert!(pool.stats().total() <= 4);
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    concurrent.fetch_sub(1, Ordering::SeqCst);
                    lease.worker().in_use.store(false, Ordering::SeqCst);
                    lease.release();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let max_seen = max_seen.load(Ordering::SeqCst);
        assert!((2..=4).contains(&max_seen), "max concurrent {max_seen}");
        assert!(shared.starts.load(Ordering::SeqCst) <= 4);
        let stats = pool.stats();
        assert_eq!((stats.busy, stats.starting, stats.waiting), (0, 0, 0));
        assert_eq!(stats.idle as u64, stats.started);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_fifo_order_by_the_released_worker() {
    bounded(async {
        let (pool, _) = pool(config(1));
        let first = pool.acquire().await.unwrap();
        let worker = id(&first);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..5 {
            let (p, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let lease = p.acquire().await.unwrap();
                order
                    .lock()
                    .unwrap()
                    .push((n, id(&lease), lease.cold_start()));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }));
            until(&pool, |s| s.waiting == n + 1).await;
        }
        first.release();
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let expected: Vec<_> = (0..5).map(|n| (n, worker.clone(), false)).collect();
        assert_eq!(order, expected);
        assert_eq!(pool.stats().started, 1);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_leaves_nothing_behind() {
    bounded(async {
        let (pool, _) = pool(PoolConfig {
            acquire_timeout: Duration::from_millis(100),
            ..config(1)
        });
        let held = pool.acquire().await.unwrap();
        let error = pool.acquire().await.unwrap_err();
        assert_eq!(
            error,
            AcquireError::Timeout {
                waited: Duration::from_millis(100)
            }
        );
        let stats = pool.stats();
        assert_eq!(
            (stats.idle, stats.busy, stats.starting, stats.waiting),
            (0, 1, 0, 0)
        );
        let worker = id(&held);
        held.release();
        let again = pool.acquire().await.unwrap();
        assert_eq!(id(&again), worker);
        assert!(!again.cold_start());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn worker_handed_to_a_waiter_that_gave_up_returns_to_idle() {
    bounded(async {
        let (pool, _) = pool(config(1));
        let held = pool.acquire().await.unwrap();
        let worker = id(&held);
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(|lease| id(&lease)) })
        };
        until(&pool, |s| s.waiting == 1).await;
        // The release sends the worker to the waiter, which is cancelled before it runs.
        held.release();
        assert_eq!(pool.stats().busy, 1);
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.busy, stats.waiting), (1, 0, 0));
        assert_eq!(id(&pool.acquire().await.unwrap()), worker);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiter_leaves_the_queue_and_a_cancelled_cold_start_goes_idle() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        shared.start_delay_ms.store(1_000, Ordering::SeqCst);
        // A cold start whose caller gives up: the worker still starts and becomes idle.
        let gave_up = tokio::time::timeout(Duration::from_millis(10), pool.acquire()).await;
        assert!(gave_up.is_err());
        assert_eq!(pool.stats().starting, 1);
        until(&pool, |s| s.idle == 1).await;
        let lease = pool.acquire().await.unwrap();
        assert!(
            lease.cold_start(),
            "first invocation of an on-demand worker"
        );
        // A queued caller that gives up leaves the queue.
        let gave_up = tokio::time::timeout(Duration::from_millis(10), pool.acquire()).await;
        assert!(gave_up.is_err());
        assert_eq!(pool.stats().waiting, 0);
        lease.release();
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.busy, stats.started), (1, 0, 1));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn most_recently_used_idle_worker_is_reused_first() {
    bounded(async {
        let (pool, _) = pool(config(3));
        let a = pool.acquire().await.unwrap();
        let b = pool.acquire().await.unwrap();
        let c = pool.acquire().await.unwrap();
        assert!(a.cold_start() && b.cold_start() && c.cold_start());
        let (ida, idb, idc) = (id(&a), id(&b), id(&c));
        a.release();
        c.release();
        b.release();
        let first = pool.acquire().await.unwrap();
        assert_eq!(id(&first), idb);
        assert!(!first.cold_start());
        first.release();
        let first = pool.acquire().await.unwrap();
        let second = pool.acquire().await.unwrap();
        let third = pool.acquire().await.unwrap();
        assert_eq!([id(&first), id(&second), id(&third)], [idb, idc, ida]);
        assert_eq!(pool.stats().started, 3);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_scales_to_zero_but_keeps_provisioned_workers() {
    bounded(async {
        for provisioned in [0, 1] {
            let (pool, shared) = pool(PoolConfig {
                provisioned,
                idle_timeout: Duration::from_secs(10),
                ..config(3)
            });
            pool.prewarm().await.unwrap();
            let leases = [
                pool.acquire().await.unwrap(),
                pool.acquire().await.unwrap(),
                pool.acquire().await.unwrap(),
            ];
            drop(leases);
            assert_eq!(pool.stats().idle, 3);
            tokio::time::sleep(Duration::from_secs(5)).await;
            assert_eq!(pool.stats().idle, 3, "not idle long enough yet");
            tokio::time::sleep(Duration::from_secs(7)).await;
            let stats = pool.stats();
            assert_eq!(stats.idle, provisioned);
            assert_eq!(stats.reaped, 3 - provisioned as u64);
            tokio::task::yield_now().await;
            assert_eq!(shared.shut_down().len(), 3 - provisioned);
            // Scaled to zero: the next call is a cold start again.
            if provisioned == 0 {
                assert!(pool.acquire().await.unwrap().cold_start());
            }
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn prewarm_starts_provisioned_workers() {
    bounded(async {
        let (pool, shared) = pool(PoolConfig {
            provisioned: 3,
            ..config(5)
        });
        pool.prewarm().await.unwrap();
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.started), (3, 3));
        pool.prewarm().await.unwrap();
        assert_eq!(
            shared.starts.load(Ordering::SeqCst),
            3,
            "prewarm is idempotent"
        );
        let lease = pool.acquire().await.unwrap();
        assert!(!lease.cold_start(), "provisioned workers are warm");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn janitor_removes_dead_idle_workers_and_replaces_provisioned_ones() {
    bounded(async {
        let (pool, shared) = pool(PoolConfig {
            provisioned: 1,
            ..config(3)
        });
        pool.prewarm().await.unwrap();
        let a = pool.acquire().await.unwrap();
        let b = pool.acquire().await.unwrap();
        let (ida, idb) = (id(&a), id(&b));
        drop((a, b));
        assert_eq!(pool.stats().idle, 2);
        shared.kill(&ida);
        shared.kill(&idb);
        tokio::time::sleep(Duration::from_millis(1_001)).await;
        until(&pool, |s| s.idle == 1 && s.starting == 0).await;
        let stats = pool.stats();
        assert_eq!((stats.dead, stats.started), (2, 3));
        let mut expected = vec![ida, idb];
        expected.sort();
        assert_eq!(shared.shut_down(), expected);
        let replacement = pool.acquire().await.unwrap();
        assert!(!replacement.cold_start());
        assert_eq!(id(&replacement), "w2");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn acquire_skips_a_dead_idle_worker_without_waiting_for_the_janitor() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        let lease = pool.acquire().await.unwrap();
        let dead = id(&lease);
        lease.release();
        shared.kill(&dead);
        let lease = pool.acquire().await.unwrap();
        assert_ne!(id(&lease), dead);
        assert!(lease.cold_start());
        assert_eq!(pool.stats().dead, 1);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn start_failure_reaches_its_caller_frees_capacity_and_loses_no_waiter() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        shared.fail_next.store(1, Ordering::SeqCst);
        let error = pool.acquire().await.unwrap_err();
        let AcquireError::Start(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(error.error_type(), "Runtime.ExitError");
        let stats = pool.stats();
        assert_eq!((stats.total(), stats.start_failures), (0, 1));

        // A slow failing start for `a` while `b` and `c` queue behind it.
        shared.fail_next.store(1, Ordering::SeqCst);
        shared.start_delay_ms.store(100, Ordering::SeqCst);
        let spawn = |pool: Arc<Pool<FakeFactory>>| {
            tokio::spawn(async move {
                let lease = pool.acquire().await?;
                let result = (id(&lease), lease.cold_start());
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, AcquireError>(result)
            })
        };
        let a = spawn(pool.clone());
        until(&pool, |s| s.starting == 1).await;
        let b = spawn(pool.clone());
        until(&pool, |s| s.waiting == 1).await;
        let c = spawn(pool.clone());
        until(&pool, |s| s.waiting == 2).await;
        assert!(matches!(a.await.unwrap(), Err(AcquireError::Start(_))));
        assert_eq!(b.await.unwrap().unwrap(), ("w0".to_owned(), true));
        assert_eq!(c.await.unwrap().unwrap(), ("w0".to_owned(), false));
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.started, stats.start_failures), (1, 1, 2));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn start_timeout_is_a_start_error() {
    bounded(async {
        let (pool, shared) = pool(PoolConfig {
            start_timeout: Duration::from_secs(2),
            ..config(1)
        });
        shared.start_delay_ms.store(5_000, Ordering::SeqCst);
        let error = pool.acquire().await.unwrap_err();
        let AcquireError::Start(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(error.error_type(), StartError::TIMED_OUT);
        assert_eq!(pool.stats().total(), 0);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn discard_frees_capacity_for_a_waiter() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        let lease = pool.acquire().await.unwrap();
        let old = id(&lease);
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let lease = pool.acquire().await.unwrap();
                (id(&lease), lease.cold_start())
            })
        };
        until(&pool, |s| s.waiting == 1).await;
        lease.discard();
        let (new, cold) = waiter.await.unwrap();
        assert_ne!(new, old);
        assert!(cold);
        assert_eq!(shared.shut_down(), vec![old]);
        assert_eq!(pool.stats().total(), 1);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn dropping_a_lease_returns_a_live_worker_and_discards_a_dead_one() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        let lease = pool.acquire().await.unwrap();
        let worker = id(&lease);
        drop(lease);
        let stats = pool.stats();
        assert_eq!((stats.idle, stats.busy), (1, 0));
        let lease = pool.acquire().await.unwrap();
        assert_eq!(id(&lease), worker);
        assert!(!lease.cold_start());

        shared.kill(&worker);
        drop(lease);
        tokio::task::yield_now().await;
        let stats = pool.stats();
        assert_eq!((stats.total(), stats.dead), (0, 1));
        assert_eq!(shared.shut_down(), vec![worker]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_shuts_idle_busy_and_starting_workers_down() {
    bounded(async {
        let (pool, shared) = pool(config(3));
        let busy = pool.acquire().await.unwrap();
        let idle = pool.acquire().await.unwrap();
        let (busy_id, idle_id) = (id(&busy), id(&idle));
        idle.release();
        // Hold the idle worker aside so the third caller has to cold start (slowly).
        let idle = pool.acquire().await.unwrap();
        shared.start_delay_ms.store(1_000, Ordering::SeqCst);
        let starting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(|_| ()) })
        };
        until(&pool, |s| s.starting == 1).await;
        idle.release();

        pool.shutdown().await;
        assert_eq!(shared.shut_down(), vec![idle_id.clone()]);
        assert_eq!(
            pool.acquire().await.unwrap_err(),
            AcquireError::ShuttingDown
        );
        // The cold start completes after shutdown: its caller is told, its worker stopped.
        assert_eq!(starting.await.unwrap(), Err(AcquireError::ShuttingDown));
        busy.release();
        tokio::task::yield_now().await;
        let mut expected = vec![busy_id, idle_id, "w2".to_owned()];
        expected.sort();
        assert_eq!(shared.shut_down(), expected);
        assert_eq!(pool.stats().total(), 0);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_a_queued_waiter() {
    bounded(async {
        let (pool, shared) = pool(config(1));
        let busy = pool.acquire().await.unwrap();
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(|_| ()) })
        };
        until(&pool, |s| s.waiting == 1).await;
        pool.shutdown().await;
        assert_eq!(waiter.await.unwrap(), Err(AcquireError::ShuttingDown));
        assert!(
            shared.shut_down().is_empty(),
            "busy worker runs until released"
        );
        busy.release();
        tokio::task::yield_now().await;
        assert_eq!(shared.shut_down(), vec!["w0".to_owned()]);
        assert_eq!(
            pool.prewarm().await.unwrap_err().error_type(),
            StartError::UNKNOWN
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn full_queue_and_zero_cap_throttle() {
    bounded(async {
        let (pool, _) = pool(config(0));
        assert_eq!(pool.acquire().await.unwrap_err(), AcquireError::Throttled);

        let (pool, _) = pool_with_waiters(1);
        let _held = pool.acquire().await.unwrap();
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(|_| ()) })
        };
        until(&pool, |s| s.waiting == 1).await;
        assert_eq!(pool.acquire().await.unwrap_err(), AcquireError::Throttled);
        waiter.abort();
    })
    .await;
}

fn pool_with_waiters(max_waiters: usize) -> (Arc<Pool<FakeFactory>>, Arc<Shared>) {
    pool(PoolConfig {
        max_waiters,
        ..config(1)
    })
}
