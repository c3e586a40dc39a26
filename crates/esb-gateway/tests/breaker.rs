//! The per-function circuit breaker: opens after N consecutive failures, rejects while open,
//! lets exactly one probe through once the recovery timeout has passed, closes on the probe's
//! success and re-opens on its failure; configuration from the environment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use esb_gateway::breaker::{
    BreakerConfig, BreakerState, CircuitBreakers, ManualClock, RECOVERY_TIMEOUT_ENV, THRESHOLD_ENV,
};

const RECOVERY: Duration = Duration::from_secs(30);

fn breakers(threshold: u32) -> (CircuitBreakers<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig {
        threshold,
        recovery_timeout: RECOVERY,
    };
    (CircuitBreakers::with_clock(config, clock.clone()), clock)
}

fn fail(b: &CircuitBreakers<ManualClock>, function: &str, times: usize) {
    for _ in 0..times {
        b.check(function).expect("admitted").failure();
    }
}

#[test]
fn defaults_match_the_original_esb() {
    let config = BreakerConfig::default();
    assert_eq!(config.threshold, 5);
    assert_eq!(config.recovery_timeout, Duration::from_secs(30));
}

#[test]
fn config_from_environment() {
    let config = BreakerConfig::from_lookup(|name| match name {
        THRESHOLD_ENV => Some("3".into()),
        RECOVERY_TIMEOUT_ENV => Some("1.5".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.threshold, 3);
    assert_eq!(config.recovery_timeout, Duration::from_millis(1500));

    let unset = BreakerConfig::from_lookup(|_| None).unwrap();
    assert_eq!(unset, BreakerConfig::default());

    let error = BreakerConfig::from_lookup(|name| (name == THRESHOLD_ENV).then(|| "lots".into()))
        .unwrap_err();
    assert_eq!(error.variable, THRESHOLD_ENV);
    assert!(
        error
            .to_string()
            .contains("CIRCUIT_BREAKER_THRESHOLD=\"lots\"")
    );
    for bad in ["-1", "soon", "NaN", "inf"] {
        assert!(
            BreakerConfig::from_lookup(|name| (name == RECOVERY_TIMEOUT_ENV).then(|| bad.into()))
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn opens_after_threshold_consecutive_failures() {
    let (b, _) = breakers(3);
    assert_eq!(b.state("f"), BreakerState::Closed);
    fail(&b, "f", 2);
    assert_eq!(b.state("f"), BreakerState::Closed);
    fail(&b, "f", 1);
    assert_eq!(b.state("f"), BreakerState::Open);
    let rejected = b.check("f").unwrap_err();
    assert_eq!(rejected.retry_after, RECOVERY);
    // Other functions are unaffected.
    assert_eq!(b.state("g"), BreakerState::Closed);
    b.check("g").unwrap().success();
}

#[test]
fn a_success_in_between_resets_the_count() {
    let (b, _) = breakers(3);
    fail(&b, "f", 2);
    b.check("f").unwrap().success();
    fail(&b, "f", 2);
    assert_eq!(b.state("f"), BreakerState::Closed);
    fail(&b, "f", 1);
    assert_eq!(b.state("f"), BreakerState::Open);
}

#[test]
fn a_dropped_permit_counts_as_a_failure() {
    let (b, _) = breakers(2);
    drop(b.check("f").unwrap());
    drop(b.check("f").unwrap());
    assert_eq!(b.state("f"), BreakerState::Open);
}

#[test]
fn open_rejects_until_the_recovery_timeout_then_lets_one_probe_through() {
    let (b, clock) = breakers(1);
    fail(&b, "f", 1);
    clock.advance(RECOVERY - Duration::from_secs(1));
    let rejected = b.check("f").unwrap_err();
    assert_eq!(rejected.retry_after, Duration::from_secs(1));
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state("f"), BreakerState::HalfOpen);

    let probe = b.check("f").expect("the probe");
    assert_eq!(b.check("f").unwrap_err().retry_after, Duration::ZERO);
    assert_eq!(b.state("f"), BreakerState::HalfOpen);
    probe.success();
    assert_eq!(b.state("f"), BreakerState::Closed);
    b.check("f").unwrap().success();
    b.check("f").unwrap().success();
}

#[test]
fn a_failed_probe_reopens_for_another_recovery_timeout() {
    let (b, clock) = breakers(2);
    fail(&b, "f", 2);
    clock.advance(RECOVERY);
    b.check("f").unwrap().failure();
    assert_eq!(b.state("f"), BreakerState::Open);
    assert_eq!(b.check("f").unwrap_err().retry_after, RECOVERY);
    clock.advance(RECOVERY);
    b.check("f").unwrap().success();
    assert_eq!(b.state("f"), BreakerState::Closed);
    // Closed again: it takes the full threshold to open it.
    fail(&b, "f", 1);
    assert_eq!(b.state("f"), BreakerState::Closed);
}

#[test]
fn a_dropped_probe_reopens() {
    let (b, clock) = breakers(1);
    fail(&b, "f", 1);
    clock.advance(RECOVERY);
    drop(b.check("f").unwrap());
    assert_eq!(b.state("f"), BreakerState::Open);
}

#[test]
fn results_of_requests_admitted_before_a_state_change_are_ignored() {
    let (b, clock) = breakers(2);
    let slow_success = b.check("f").unwrap();
    let slow_failure = b.check("f").unwrap();
    fail(&b, "f", 2);
    assert_eq!(b.state("f"), BreakerState::Open);
    // A slow request admitted while closed cannot close an open breaker.
    slow_success.success();
    assert_eq!(b.state("f"), BreakerState::Open);

    clock.advance(RECOVERY);
    b.check("f").unwrap().success();
    // Nor can a late failure from before count against the freshly closed breaker.
    slow_failure.failure();
    fail(&b, "f", 1);
    assert_eq!(b.state("f"), BreakerState::Closed);
}

#[test]
fn a_released_permit_counts_neither_way() {
    let (b, clock) = breakers(2);
    b.check("f").unwrap().failure();
    b.check("f").unwrap().release();
    b.check("f").unwrap().failure();
    assert_eq!(b.state("f"), BreakerState::Open);
    clock.advance(RECOVERY);
    // A probe that never reached the function hands its turn to the next caller.
    b.check("f").unwrap().release();
    assert_eq!(b.state("f"), BreakerState::HalfOpen);
    let probe = b.check("f").expect("next caller probes");
    assert!(b.check("f").is_err());
    probe.record(true);
    assert_eq!(b.state("f"), BreakerState::Closed);
}

#[test]
fn threshold_zero_never_opens() {
    let (b, _) = breakers(0);
    fail(&b, "f", 100);
    assert_eq!(b.state("f"), BreakerState::Closed);
}

#[test]
fn states_lists_every_function_sorted() {
    let (b, _) = breakers(1);
    b.check("b").unwrap().success();
    fail(&b, "a", 1);
    assert_eq!(
        b.states(),
        [
            ("a".to_string(), BreakerState::Open),
            ("b".to_string(), BreakerState::Closed)
        ]
    );
}

#[test]
fn half_open_lets_exactly_one_of_many_concurrent_callers_through() {
    for _ in 0..20 {
        let (b, clock) = breakers(1);
        fail(&b, "f", 1);
        clock.advance(RECOVERY);
        let threads = 16;
        let barrier = Barrier::new(threads);
        let admitted = AtomicUsize::new(0);
        let rejected = AtomicUsize::new(0);
        let finished = Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    barrier.wait();
                    let permit = b.check("f");
                    match &permit {
                        Ok(_) => admitted.fetch_add(1, Ordering::SeqCst),
                        Err(_) => rejected.fetch_add(1, Ordering::SeqCst),
                    };
                    // Hold the probe until everyone has tried.
                    finished.wait();
                    if let Ok(permit) = permit {
                        permit.success();
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), 1);
        assert_eq!(rejected.load(Ordering::SeqCst), threads - 1);
        assert_eq!(b.state("f"), BreakerState::Closed);
    }
}

#[test]
fn concurrent_failures_open_it_once_and_it_is_shareable() {
    let (b, _) = breakers(50);
    let b = Arc::new(b);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let b = Arc::clone(&b);
            std::thread::spawn(move || {
                let mut refused = 0;
                for _ in 0..100 {
                    match b.check("f") {
                        Ok(permit) => permit.failure(),
                        Err(_) => refused += 1,
                    }
                }
                refused
            })
        })
        .collect();
    let refused: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    // 800 attempts, the first 50 failures open it; failures already admitted may land after.
    assert!(refused >= 800 - 50 - 8, "refused {refused}");
    assert_eq!(b.state("f"), BreakerState::Open);
}
