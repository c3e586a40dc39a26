//! `/metrics` output is valid Prometheus text (checked by a small parser of the 0.0.4 format):
//! counts, histogram buckets, pool and breaker gauges, label escaping, concurrent observers;
//! and the `/metrics/containers` JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use esb_gateway::breaker::{BreakerConfig, CircuitBreakers};
use esb_gateway::metrics::{
    DURATION_BUCKETS, Metrics, Outcome, Status, WorkerInfo, WorkerState, containers_json,
};
use esb_pool::PoolStats;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format strictly enough to catch mistakes: every sample's family
/// has `# HELP` and `# TYPE` before it, names and label names are valid, label values are
/// escaped, values are numbers, and no series appears twice.
fn parse(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
    let mut types = HashMap::new();
    let mut helps = HashMap::new();
    let mut samples = Vec::new();
    let mut seen = std::collections::HashSet::new();
    assert!(text.ends_with('\n'), "output ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP text");
            assert!(!help.is_empty());
            assert!(
                helps.insert(name.to_string(), help.to_string()).is_none(),
                "{line}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE kind");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind));
            assert!(helps.contains_key(name), "HELP before TYPE for {name}");
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "{line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let sample = parse_sample(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                sample
                    .name
                    .strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&sample.name);
        assert!(types.contains_key(family), "TYPE before sample: {line}");
        assert!(
            seen.insert(format!("{}{:?}", sample.name, sample.labels)),
            "duplicate {line}"
        );
        samples.push(sample);
    }
    (samples, types)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("name");
    let name = &line[..name_end];
    assert!(valid_name(name), "name {name:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let end;
        loop {
            let (start, c) = chars.next().expect("label or }");
            if c == '}' {
                end = Some(start + 1);
                break;
            }
            if c == ',' {
                continue;
            }
            let mut key = String::from(c);
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            assert!(valid_name(&key), "label name {key:?}");
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                let (_, c) = chars.next().expect("closing quote");
                match c {
                    '"' => break,
                    '\\' => match chars.next().expect("escape").1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("bad escape \\{other} in {line}"),
                    },
                    '\n' => panic!("raw newline in {line}"),
                    c => value.push(c),
                }
            }
            assert!(
                labels.insert(key, value).is_none(),
                "repeated label in {line}"
            );
        }
        rest = &after[end.expect("}")..];
    }
    let value = rest.strip_prefix(' ').expect("space before value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
    };
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
        .value
}

fn outcome(status: Status, millis: u64) -> Outcome {
    Outcome {
        status,
        duration: Duration::from_millis(millis),
        cold_start: false,
        init_duration: None,
    }
}

fn no_breakers() -> CircuitBreakers {
    CircuitBreakers::new(BreakerConfig::default())
}

/// Buckets of one histogram series in `le` order: they rise, end with `+Inf`, which equals
/// `_count`.
fn check_histogram(samples: &[Sample], name: &str, function: &str) -> Vec<(f64, f64)> {
    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| {
            s.name == format!("{name}_bucket")
                && s.labels.get("function").map(String::as_str) == Some(function)
        })
        .map(|s| {
            let le = &s.labels["le"];
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.value)
        })
        .collect();
    assert!(!buckets.is_empty());
    for pair in buckets.windows(2) {
        assert!(pair[0].0 < pair[1].0, "le increases: {pair:?}");
        assert!(pair[0].1 <= pair[1].1, "cumulative counts rise: {pair:?}");
    }
    let (last_le, last_count) = *buckets.last().unwrap();
    assert_eq!(last_le, f64::INFINITY);
    assert_eq!(
        last_count,
        value(samples, &format!("{name}_count"), &[("function", function)])
    );
    buckets
}

#[test]
fn counts_errors_throttles_cold_starts_and_durations() {
    let metrics = Metrics::new();
    metrics.observe("hello", outcome(Status::Success, 3));
    metrics.observe("hello", outcome(Status::Success, 40));
    metrics.observe(
        "hello",
        Outcome {
            status: Status::Success,
            duration: Duration::from_millis(700),
            cold_start: true,
            init_duration: Some(Duration::from_millis(300)),
        },
    );
    metrics.observe("hello", outcome(Status::FunctionError, 20));
    metrics.observe("hello", outcome(Status::Timeout, 12_000));
    metrics.observe("hello", outcome(Status::Throttled, 0));
    metrics.observe("hello", outcome(Status::CircuitOpen, 0));
    metrics.observe("other", outcome(Status::Crash, 1));

    let text = metrics.render(&[], &no_breakers());
    let (samples, types) = parse(&text);
    assert_eq!(types["esb_invocations_total"], "counter");
    assert_eq!(types["esb_invocation_duration_seconds"], "histogram");
    let hello = [("function", "hello")];
    assert_eq!(value(&samples, "esb_invocations_total", &hello), 5.0);
    assert_eq!(
        value(&samples, "esb_invocations_total", &[("function", "other")]),
        1.0
    );
    assert_eq!(value(&samples, "esb_throttles_total", &hello), 1.0);
    assert_eq!(value(&samples, "esb_cold_starts_total", &hello), 1.0);
    let errors = |kind: &str| {
        value(
            &samples,
            "esb_invocation_errors_total",
            &[("function", "hello"), ("type", kind)],
        )
    };
    assert_eq!(errors("function_error"), 1.0);
    assert_eq!(errors("timeout"), 1.0);
    assert_eq!(errors("throttle"), 1.0);
    assert_eq!(errors("circuit_open"), 1.0);
    assert_eq!(errors("crash"), 0.0);
    assert_eq!(errors("unavailable"), 0.0);

    let buckets = check_histogram(&samples, "esb_invocation_duration_seconds", "hello");
    assert_eq!(buckets.len(), DURATION_BUCKETS.len() + 1);
    let at = |le: f64| buckets.iter().find(|b| b.0 == le).unwrap().1;
    assert_eq!(at(0.0025), 0.0);
    assert_eq!(at(0.005), 1.0); // 3 ms
    assert_eq!(at(0.025), 2.0); // + 20 ms
    assert_eq!(at(0.05), 3.0); // + 40 ms
    assert_eq!(at(1.0), 4.0); // + 700 ms
    assert_eq!(at(10.0), 4.0);
    assert_eq!(at(f64::INFINITY), 5.0); // + 12 s
    let sum = value(&samples, "esb_invocation_duration_seconds_sum", &hello);
    assert!((sum - 12.763).abs() < 1e-9, "{sum}");

    check_histogram(&samples, "esb_init_duration_seconds", "hello");
    assert_eq!(
        value(&samples, "esb_init_duration_seconds_count", &hello),
        1.0
    );
    assert_eq!(
        value(&samples, "esb_init_duration_seconds_sum", &hello),
        0.3
    );
    assert_eq!(
        value(
            &samples,
            "esb_init_duration_seconds_count",
            &[("function", "other")]
        ),
        0.0
    );
}

#[test]
fn pool_and_breaker_gauges() {
    let metrics = Metrics::new();
    let pools = vec![
        (
            "b".to_string(),
            PoolStats {
                idle: 2,
                busy: 3,
                starting: 1,
                waiting: 4,
                started: 7,
                start_failures: 1,
                ..PoolStats::default()
            },
        ),
        ("a".to_string(), PoolStats::default()),
    ];
    let breakers = CircuitBreakers::new(BreakerConfig {
        threshold: 1,
        recovery_timeout: Duration::from_secs(60),
    });
    breakers.check("b").unwrap().failure();
    breakers.check("a").unwrap().success();

    let text = metrics.render(&pools, &breakers);
    let (samples, types) = parse(&text);
    assert_eq!(types["esb_pool_workers"], "gauge");
    let b = |state: &str| {
        value(
            &samples,
            "esb_pool_workers",
            &[("function", "b"), ("state", state)],
        )
    };
    assert_eq!((b("idle"), b("busy"), b("starting")), (2.0, 3.0, 1.0));
    assert_eq!(
        value(&samples, "esb_pool_waiting", &[("function", "b")]),
        4.0
    );
    assert_eq!(
        value(&samples, "esb_pool_waiting", &[("function", "a")]),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "esb_pool_worker_starts_total",
            &[("function", "b")]
        ),
        7.0
    );
    assert_eq!(
        value(&samples, "esb_circuit_breaker_open", &[("function", "b")]),
        1.0
    );
    assert_eq!(
        value(&samples, "esb_circuit_breaker_open", &[("function", "a")]),
        0.0
    );
    assert_eq!(
        value(&samples, "esb_circuit_breaker_state", &[("function", "b")]),
        1.0
    );
    // Sorted by function name.
    let a_at = text.find("esb_pool_waiting{function=\"a\"}").unwrap();
    let b_at = text.find("esb_pool_waiting{function=\"b\"}").unwrap();
    assert!(a_at < b_at);
}

#[test]
fn empty_render_is_valid() {
    let (samples, types) = parse(&Metrics::new().render(&[], &no_breakers()));
    assert!(samples.is_empty());
    assert!(types.contains_key("esb_invocations_total"));
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    let nasty = "we\"ird\\name\nwith newline";
    metrics.observe(nasty, outcome(Status::Success, 1));
    let text = metrics.render(&[], &no_breakers());
    assert!(text.contains(r#"esb_invocations_total{function="we\"ird\\name\nwith newline"} 1"#));
    let (samples, _) = parse(&text);
    assert_eq!(
        value(&samples, "esb_invocations_total", &[("function", nasty)]),
        1.0
    );
    check_histogram(&samples, "esb_invocation_duration_seconds", nasty);
}

#[test]
fn concurrent_observers_add_up() {
    let metrics = Arc::new(Metrics::new());
    let threads = 8;
    let per_thread = 5_000;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let function = if i % 2 == 0 { "even" } else { "odd" };
                    let status = if i % 10 == 0 {
                        Status::Throttled
                    } else {
                        Status::Success
                    };
                    metrics.observe(
                        function,
                        Outcome {
                            status,
                            duration: Duration::from_micros((i * 37 + t) as u64 % 20_000),
                            cold_start: i % 100 == 1,
                            init_duration: None,
                        },
                    );
                }
            })
        })
        .collect();
    // Render while observers run: every snapshot must still be consistent.
    for _ in 0..20 {
        let (samples, _) = parse(&metrics.render(&[], &no_breakers()));
        for function in ["even", "odd"] {
            if samples
                .iter()
                .any(|s| s.labels.get("function").map(String::as_str) == Some(function))
            {
                check_histogram(&samples, "esb_invocation_duration_seconds", function);
            }
        }
    }
    for handle in handles {
        handle.join().unwrap();
    }
    let (samples, _) = parse(&metrics.render(&[], &no_breakers()));
    let total = (threads * per_thread) as f64;
    let invocations: f64 = ["even", "odd"]
        .iter()
        .map(|f| value(&samples, "esb_invocations_total", &[("function", f)]))
        .sum();
    let throttles: f64 = ["even", "odd"]
        .iter()
        .map(|f| value(&samples, "esb_throttles_total", &[("function", f)]))
        .sum();
    let cold: f64 = ["even", "odd"]
        .iter()
        .map(|f| value(&samples, "esb_cold_starts_total", &[("function", f)]))
        .sum();
    assert_eq!(throttles, total / 10.0);
    assert_eq!(invocations + throttles, total);
    assert_eq!(cold, total / 100.0);
    for function in ["even", "odd"] {
        let buckets = check_histogram(&samples, "esb_invocation_duration_seconds", function);
        assert_eq!(
            buckets.last().unwrap().1,
            value(&samples, "esb_invocations_total", &[("function", function)])
        );
    }
}

#[test]
fn containers_json_lists_workers() {
    let workers = [
        WorkerInfo {
            id: "w-1".into(),
            function: "hello".into(),
            state: WorkerState::Busy,
            memory_limit_mb: 128,
            memory_used_mb: Some(41.5),
            cpu_seconds: Some(0.25),
        },
        WorkerInfo {
            id: "w-2".into(),
            function: "hello".into(),
            state: WorkerState::Idle,
            memory_limit_mb: 128,
            memory_used_mb: None,
            cpu_seconds: Some(f64::NAN),
        },
    ];
    let isolation = esb_agent::driver::Isolation {
        driver: "process".into(),
        sandboxed: true,
        summary: "each worker in its own sandbox".into(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&containers_json(&workers, &isolation)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"containers": [
            {"id": "w-1", "function": "hello", "state": "busy", "memory_limit_mb": 128,
             "memory_used_mb": 41.5, "cpu_seconds": 0.25},
            {"id": "w-2", "function": "hello", "state": "idle", "memory_limit_mb": 128,
             "memory_used_mb": null, "cpu_seconds": null},
        ], "isolation": {"driver": "process", "sandboxed": true,
                         "summary": "each worker in its own sandbox"}})
    );
    assert_eq!(
        containers_json(&[], &isolation),
        r#"{"containers":[],"isolation":{"driver":"process","sandboxed":true,"summary":"each worker in its own sandbox"}}"#
    );
}
