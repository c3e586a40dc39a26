//! LogsQL from text to matches: the documented examples of VictoriaLogs' filters, the
//! precedence rules, the pipes, error texts, and a parser that never panics.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use proptest::prelude::*;

use super::pipeline::{Flow, Pipeline, Sink};
use super::view::{LogRow, OwnedRow, RowView};
use super::*;
use crate::row::{Row, Stream};
use crate::timeutil::{self, DAY, MINUTE};

const NOW: i64 = 1_796_223_805_000_000_000; // 2026-12-02T15:03:25Z

fn row_at(time: i64, fields: &[(&str, &str)]) -> Row {
    let stream = Arc::new(Stream::new([
        ("container_name".to_owned(), "fn-1".to_owned()),
        ("job".to_owned(), "lambda".to_owned()),
    ]));
    Row::new(time, stream, fields.iter().copied())
}

fn msg(text: &str) -> Row {
    row_at(NOW, &[("_msg", text)])
}

fn matches(query: &str, row: &Row) -> bool {
    let q = parse(query, NOW).unwrap_or_else(|e| panic!("{e}"));
    q.filter.matches(&LogRow::of_row(row, &row.stream))
}

#[test]
fn words_are_case_sensitive_whole_tokens() {
    assert!(matches("error", &msg("an error happened")));
    assert!(matches("error", &msg("error: cannot open file")));
    assert!(!matches("error", &msg("ERROR")));
    assert!(!matches("error", &msg("multiple errors occurred")));
    assert!(!matches("foo", &msg("foo_bar")));
    assert!(matches("тест", &msg("foo: (bar,\"тест\")!")));
}

#[test]
fn phrases_prefixes_and_exact_values() {
    assert!(matches(
        r#""ssh: login fail""#,
        &msg("ERROR: ssh: login fail for user")
    ));
    assert!(!matches(r#""ssh: login fail""#, &msg("ssh: login failed")));
    assert!(matches(r#""ssh: login fail"*"#, &msg("ssh: login failed")));
    assert!(!matches(r#""pen /var""#, &msg("open /var/log")));
    assert!(matches("err*", &msg("cannot open file: error occurred")));
    assert!(!matches("err*", &msg("fooerror")));
    assert!(matches(
        r#"="Processing request"*"#,
        &msg("Processing requests from x")
    ));
    assert!(!matches(
        r#"="Processing request"*"#,
        &msg("start: Processing request")
    ));
    assert!(matches(r#"_msg:="exact""#, &msg("exact")));
    assert!(!matches(r#"_msg:="exact""#, &msg("exact!")));
    assert!(matches("_msg:!=other", &msg("exact")));
}

#[test]
fn field_scoped_empty_any_in_and_regex() {
    let r = row_at(
        NOW,
        &[
            ("_msg", "m"),
            ("level", "ERROR"),
            ("trace_id", "Root=1-abc;Sampled=1"),
        ],
    );
    assert!(matches("level:ERROR", &r));
    assert!(matches(r#"trace_id:"Root=1-abc""#, &r));
    assert!(matches("trace_id:Root=1-abc", &r));
    assert!(matches("level:*", &r));
    assert!(!matches("missing:*", &r));
    assert!(matches(r#"missing:"""#, &r));
    assert!(!matches(r#"level:"""#, &r));
    assert!(matches(r#"level:in("WARN", "ERROR")"#, &r));
    assert!(!matches("level:in(WARN)", &r));
    assert!(matches(r#"missing:in("", "x")"#, &r));
    assert!(matches(r#"level:~"ERR|WARN""#, &r));
    assert!(matches(r#"level:!~"^INFO$""#, &r));
    assert!(matches("level:i(error)", &r));
    assert!(matches("level:i(err*)", &r));
    assert!(matches(r#"level:(ERROR OR WARN)"#, &r));
    assert!(!matches(r#"level:(INFO OR WARN)"#, &r));
    assert!(matches(r#""level":"ERROR""#, &r));
}

#[test]
fn boolean_operators_and_precedence() {
    let r = msg("error in buggy_app");
    assert!(matches("error AND buggy_app", &r));
    assert!(matches("error buggy_app", &r));
    assert!(!matches("error -buggy_app", &r));
    assert!(!matches("error NOT buggy_app", &r));
    assert!(!matches("error !buggy_app", &r));
    // NOT > AND > OR: (error AND NOT buggy_app) OR foobar
    assert!(!matches("error -buggy_app OR foobar", &r));
    assert!(matches("error -buggy_app OR buggy_app", &r));
    assert!(!matches("error -(buggy_app OR foobar)", &r));
    assert!(matches("foobar or error and in", &r));
    assert!(matches("* error", &r));
    assert!(matches(r#""and""#, &msg("this and that")));
    assert!(matches("error # a comment\n in", &r));
}

#[test]
fn time_filters() {
    let recent = row_at(NOW - MINUTE, &[("_msg", "x")]);
    let old = row_at(NOW - 2 * DAY + 10 * MINUTE, &[("_msg", "x")]);
    assert!(matches("_time:5m", &recent));
    assert!(!matches("_time:5m", &old));
    assert!(matches("_time:>1h", &old));
    assert!(!matches("_time:>1h", &recent));
    assert!(matches("_time:<1h", &recent));
    assert!(matches("_time:2026-12-02Z", &recent));
    assert!(!matches("_time:2026-12-02Z", &old));
    assert!(matches("_time:2026-11-30Z", &old));
    assert!(matches("_time:2026-12Z", &recent));
    assert!(matches("_time:[2026-11-30Z, 2026-12-02Z]", &recent));
    assert!(!matches("_time:[2026-11-30Z, 2026-12-02Z)", &recent));
    assert!(matches(
        "_time:[2026-12-02T15:00:00Z, 2026-12-02T15:03:00Z)",
        &recent
    ));
    assert!(matches("_time:>2026-12-01Z", &recent));
    assert!(!matches("_time:<2026-12-01Z", &recent));
    assert!(matches("_time:1d offset 1d", &old));
    assert!(!matches("_time:1d offset 1d", &recent));
    assert!(matches("_time:offset 1h", &old));
    assert!(matches("(_time:5m OR _time:2026-11-30Z) x", &old));
    let q = parse("_time:5m error", NOW).unwrap();
    assert_eq!(q.filter.time_bounds(), (NOW - 5 * MINUTE + 1, NOW));
}

#[test]
fn stream_selectors() {
    let r = msg("x");
    assert!(matches(r#"{container_name="fn-1"}"#, &r));
    assert!(matches(
        r#"_stream:{job="lambda", container_name=~"fn-.*"}"#,
        &r
    ));
    assert!(
        !matches(r#"{container_name=~"fn"}"#, &r),
        "stream regexps are anchored"
    );
    assert!(matches(r#"{container_name!="fn-2", job!~"svc.*"}"#, &r));
    assert!(matches(r#"{container_name in ("fn-1", "fn-2")}"#, &r));
    assert!(!matches(r#"{container_name not_in ("fn-1")}"#, &r));
    assert!(matches(r#"{absent=""}"#, &r));
    assert!(matches("{}", &r));
    assert!(matches(&format!("_stream_id:{}", r.stream.id_text()), &r));
    assert!(matches(
        &format!("_stream_id:in(x, {})", r.stream.id_text()),
        &r
    ));
}

#[test]
fn errors_read_like_victorialogs() {
    for (query, reason) in [
        ("", "missing filter"),
        ("(error", "missing ')'"),
        ("error)", "unexpected"),
        (r#""open"#, "unterminated string"),
        ("f:~\"(\"", "cannot parse regexp"),
        ("_time:soon", "cannot parse time"),
        ("x | frobnicate", "unsupported pipe"),
        ("x | stats median(y)", "unsupported stats function"),
        ("f:>5", "range comparisons"),
        ("seq(a, b)", "unsupported filter function"),
        ("*err*", "substring"),
        ("{a=}", "missing stream field value"),
        ("x | limit", ""),
    ] {
        match parse(query, NOW) {
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.starts_with(&format!("cannot parse query [{query}]: ")),
                    "{text}"
                );
                assert!(text.contains(reason), "{query}: {text}");
            }
            Ok(q) => assert!(reason.is_empty(), "{query} parsed: {q:?}"),
        }
    }
    let deep = format!("{}x{}", "(".repeat(500), ")".repeat(500));
    assert!(parse(&deep, NOW).is_err());
    let negations = format!("{}x", "-".repeat(500));
    assert!(parse(&negations, NOW).is_err());
}

struct Collect(Vec<OwnedRow>);

impl Sink for Collect {
    fn push(&mut self, row: &dyn RowView) -> Flow {
        self.0.push(OwnedRow::of(row));
        Flow::Continue
    }
}

fn run(query: &str, rows: &[Row]) -> Vec<Vec<(String, String)>> {
    let q = parse(query, NOW).unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = Pipeline::new(&q.pipes);
    let mut sink = Collect(Vec::new());
    for row in rows {
        let view = LogRow::of_row(row, &row.stream);
        if q.filter.matches(&view) && pipeline.push(&view, &mut sink) == Flow::Stop {
            break;
        }
    }
    pipeline.finish(&mut sink);
    sink.0.into_iter().map(|r| r.fields).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn sample() -> Vec<Row> {
    (0..6)
        .map(|i| {
            let level = if i % 3 == 0 { "ERROR" } else { "INFO" };
            let latency = (10 * (6 - i)).to_string();
            let user = format!("u{}", i % 2);
            row_at(
                NOW - (6 - i) * MINUTE,
                &[
                    ("_msg", &format!("request {i}")),
                    ("level", level),
                    ("latency", &latency),
                    ("user", &user),
                ],
            )
        })
        .collect()
}

#[test]
fn fields_delete_limit_offset_and_filter_pipes() {
    let rows = sample();
    assert_eq!(
        run("* | fields _msg, lev* | limit 2", &rows),
        [
            pairs(&[("_msg", "request 0"), ("level", "ERROR")]),
            pairs(&[("_msg", "request 1"), ("level", "INFO")])
        ]
    );
    assert_eq!(
        run(
            "* | delete _time, _stream*, latency, user, _msg | offset 4 | head",
            &rows
        ),
        [pairs(&[("level", "INFO")]), pairs(&[("level", "INFO")])]
    );
    assert_eq!(run("* | filter level:ERROR | fields _msg", &rows).len(), 2);
    assert_eq!(run("* | limit 0", &rows).len(), 0);
}

#[test]
fn sort_pipe_uses_natural_order() {
    let rows = sample();
    let sorted = run("* | sort by (latency) limit 2 | fields latency", &rows);
    assert_eq!(
        sorted,
        [pairs(&[("latency", "10")]), pairs(&[("latency", "20")])]
    );
    let by_time_desc = run("* | sort by (_time desc) | fields _msg | limit 1", &rows);
    assert_eq!(by_time_desc, [pairs(&[("_msg", "request 5")])]);
    let two_keys = run(
        "* | sort by (level, latency desc) offset 1 limit 1 | fields _msg",
        &rows,
    );
    assert_eq!(two_keys, [pairs(&[("_msg", "request 3")])]);
    let reversed = run(
        "* | sort by (latency) desc | fields latency | limit 1",
        &rows,
    );
    assert_eq!(reversed, [pairs(&[("latency", "60")])]);
}

#[test]
fn stats_and_uniq_pipes() {
    let rows = sample();
    assert_eq!(
        run("* | stats by (level) count() n", &rows),
        [
            pairs(&[("level", "ERROR"), ("n", "2")]),
            pairs(&[("level", "INFO"), ("n", "4")])
        ]
    );
    assert_eq!(
        run(
            "level:INFO | stats count() as n, count_uniq(user) users, sum(latency), avg(latency) a, min(latency), max(latency)",
            &rows
        ),
        [pairs(&[
            ("n", "4"),
            ("users", "2"),
            ("sum(latency)", "120"),
            ("a", "30"),
            ("min(latency)", "10"),
            ("max(latency)", "50")
        ])]
    );
    assert_eq!(run("* | count()", &rows), [pairs(&[("count(*)", "6")])]);
    let per_bucket = run("* | stats by (_time:2m) count() n", &rows);
    assert_eq!(per_bucket.len(), 4);
    assert_eq!(
        run("* | uniq by (level)", &rows),
        [pairs(&[("level", "ERROR")]), pairs(&[("level", "INFO")])]
    );
    assert_eq!(run("* | uniq by (user, level) limit 3", &rows).len(), 3);
    assert_eq!(
        run(
            "* | stats by (level) count() n | filter n:4 | fields level",
            &rows
        ),
        [pairs(&[("level", "INFO")])]
    );
}

#[test]
fn reordering_pipes_are_known() {
    assert!(!parse("x | fields a | filter b", NOW).unwrap().reorders());
    for q in [
        "x | sort by (a)",
        "x | stats count()",
        "x | uniq by (a)",
        "x | limit 1",
        "x | offset 1",
    ] {
        assert!(parse(q, NOW).unwrap().reorders(), "{q}");
    }
}

#[test]
fn options_are_accepted() {
    assert!(matches("options(concurrency=2) error", &msg("an error")));
}

proptest! {
    #[test]
    fn the_parser_never_panics(query in ".{0,80}") {
        let _ = parse(&query, NOW);
    }

    #[test]
    fn the_parser_never_panics_on_logsql_alphabet(query in r#"[a-z_:*"'`(){}\[\],|=!~<>\- 0-9.#\\]{0,60}"#) {
        if let Ok(q) = parse(&query, NOW) {
            let row = msg("some text");
            let _ = q.filter.matches(&LogRow::of_row(&row, &row.stream));
        }
    }

    #[test]
    fn words_match_themselves(word in "[a-zA-Z0-9_]{1,12}") {
        let row = msg(&format!("before {word} after"));
        let query = format!("\"{word}\"");
        prop_assert!(matches(&query, &row));
    }
}

#[test]
fn time_arguments_of_filters_use_now() {
    let q = parse("_time:1h", NOW).unwrap();
    let (lo, hi) = q.filter.time_bounds();
    assert_eq!(hi, NOW);
    assert_eq!(lo, NOW - timeutil::HOUR + 1);
}
