//! LogsQL filters: the tree the parser builds, how a row is matched against it (the
//! semantics of VictoriaLogs' docs: word-bounded, case-sensitive), and the pruning question
//! "can anything in this block match?" answered from a block header and its token filters.

use regex::Regex;

use super::view::RowView;
use crate::row::{STREAM, STREAM_ID, Stream, TIME};
use crate::tokenizer::{self, End};

/// A filter.
#[derive(Debug, Clone)]
pub enum Filter {
    /// `*`: every row.
    All,
    /// Every sub-filter matches (`a AND b`, `a b`).
    And(Vec<Filter>),
    /// One sub-filter matches (`a OR b`).
    Or(Vec<Filter>),
    /// `NOT a`, `-a`, `!a`.
    Not(Box<Filter>),
    /// `_time:…`: the row's time lies in `[min, max]` (nanoseconds, both inclusive).
    Time {
        /// earliest time
        min: i64,
        /// latest time
        max: i64,
    },
    /// `{a="b", …}` or `_stream:{…}`: every matcher holds for the row's stream.
    Stream(Vec<LabelMatcher>),
    /// `_stream_id:…` / `_stream_id:in(…)`.
    StreamId(Vec<String>),
    /// A test on one field (`_msg` unless the query names one).
    Field {
        /// the field
        name: String,
        /// what its value must satisfy
        test: Test,
    },
}

/// What a field value must satisfy.
#[derive(Debug, Clone)]
pub enum Test {
    /// A word or phrase, bounded by non-word characters at its word-character ends.
    Phrase(String),
    /// A word or phrase prefix (`err*`, `"unexpected fail"*`).
    Prefix(String),
    /// `:="v"`: the whole value.
    Exact(String),
    /// `:="v"*`: the value starts with it.
    ExactPrefix(String),
    /// `:""`: the field is missing or empty.
    Empty,
    /// `:*`: the field is present.
    Any,
    /// `:in(…)`: the whole value is one of these (`""` matches a missing field).
    In(Vec<String>),
    /// `:~"re"`: the regular expression matches somewhere in the value.
    Regex(Regex),
    /// `i(…)` of a word or phrase: as [`Test::Phrase`] on the lowercased value.
    IPhrase(String),
    /// `i(…*)`: as [`Test::Prefix`] on the lowercased value.
    IPrefix(String),
}

/// One matcher of a stream selector.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    /// stream field name
    pub name: String,
    /// the comparison
    pub op: LabelOp,
}

/// Stream selector comparisons (Prometheus label matchers: a missing field is `""`, and
/// regular expressions match the whole value).
#[derive(Debug, Clone)]
pub enum LabelOp {
    /// `=`
    Eq(String),
    /// `!=`
    Ne(String),
    /// `=~` (anchored)
    Re(Regex),
    /// `!~` (anchored)
    NotRe(Regex),
    /// `in (…)`
    In(Vec<String>),
    /// `not_in (…)`
    NotIn(Vec<String>),
}

impl LabelMatcher {
    /// Whether `stream` satisfies the matcher.
    pub fn matches(&self, stream: &Stream) -> bool {
        let value = stream.get(&self.name).unwrap_or("");
        match &self.op {
            LabelOp::Eq(v) => value == v,
            LabelOp::Ne(v) => value != v,
            LabelOp::Re(re) => re.is_match(value),
            LabelOp::NotRe(re) => !re.is_match(value),
            LabelOp::In(list) => list.iter().any(|v| v == value),
            LabelOp::NotIn(list) => !list.iter().any(|v| v == value),
        }
    }
}

impl Test {
    /// Whether a field value (`None` = missing) satisfies the test.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let v = value.unwrap_or("");
        match self {
            Test::Phrase(p) => !v.is_empty() && tokenizer::contains_bounded(v, p, End::Bounded),
            Test::Prefix(p) => !v.is_empty() && tokenizer::contains_bounded(v, p, End::Open),
            Test::Exact(p) => v == p,
            Test::ExactPrefix(p) => v.starts_with(p.as_str()),
            Test::Empty => v.is_empty(),
            Test::Any => !v.is_empty(),
            Test::In(list) => list.iter().any(|item| item == v),
            Test::Regex(re) => re.is_match(v),
            Test::IPhrase(p) => {
                !v.is_empty() && tokenizer::contains_bounded(&v.to_lowercase(), p, End::Bounded)
            }
            Test::IPrefix(p) => {
                !v.is_empty() && tokenizer::contains_bounded(&v.to_lowercase(), p, End::Open)
            }
        }
    }
}

impl Filter {
    /// Whether `row` matches.
    pub fn matches(&self, row: &dyn RowView) -> bool {
        match self {
            Filter::All => true,
            Filter::And(all) => all.iter().all(|f| f.matches(row)),
            Filter::Or(any) => any.iter().any(|f| f.matches(row)),
            Filter::Not(inner) => !inner.matches(row),
            Filter::Time { min, max } => row.time().is_some_and(|t| *min <= t && t <= *max),
            Filter::Stream(matchers) => row
                .stream()
                .is_some_and(|s| matchers.iter().all(|m| m.matches(s))),
            Filter::StreamId(ids) => row
                .stream()
                .is_some_and(|s| ids.iter().any(|id| id == s.id_text())),
            Filter::Field { name, test } => test.matches(row.get(name).as_deref()),
        }
    }

    /// Bounds every matching row's time lies in (`[i64::MIN, i64::MAX]` when the filter
    /// does not constrain time).
    pub fn time_bounds(&self) -> (i64, i64) {
        match self {
            Filter::Time { min, max } => (*min, *max),
            Filter::And(all) => all.iter().fold((i64::MIN, i64::MAX), |(lo, hi), f| {
                let (a, b) = f.time_bounds();
                (lo.max(a), hi.min(b))
            }),
            Filter::Or(any) if !any.is_empty() => {
                any.iter().fold((i64::MAX, i64::MIN), |(lo, hi), f| {
                    let (a, b) = f.time_bounds();
                    (lo.min(a), hi.max(b))
                })
            }
            _ => (i64::MIN, i64::MAX),
        }
    }

    /// Whether some row of `candidate` may match: `false` only when none can.
    pub fn may_match(&self, candidate: &dyn Candidate) -> bool {
        match self {
            Filter::All | Filter::Not(_) => true,
            Filter::And(all) => all.iter().all(|f| f.may_match(candidate)),
            Filter::Or(any) => any.iter().any(|f| f.may_match(candidate)),
            Filter::Time { min, max } => {
                let (lo, hi) = candidate.time_range();
                lo <= *max && *min <= hi
            }
            Filter::Stream(matchers) => candidate
                .stream()
                .is_none_or(|s| matchers.iter().all(|m| m.matches(s))),
            Filter::StreamId(ids) => candidate
                .stream()
                .is_none_or(|s| ids.iter().any(|id| id == s.id_text())),
            Filter::Field { name, test } => {
                if name == TIME || name == STREAM || name == STREAM_ID {
                    return true;
                }
                match candidate.column(name) {
                    Column::Absent => test.matches(None),
                    Column::Unknown => true,
                    Column::Present => match test {
                        Test::Phrase(p) | Test::Exact(p) => {
                            candidate.may_contain(name, &tokenizer::required_words(p, End::Bounded))
                        }
                        Test::Prefix(p) | Test::ExactPrefix(p) => {
                            candidate.may_contain(name, &tokenizer::required_words(p, End::Open))
                        }
                        Test::In(values) => values.iter().any(|v| {
                            v.is_empty()
                                || candidate
                                    .may_contain(name, &tokenizer::required_words(v, End::Bounded))
                        }),
                        _ => true,
                    },
                }
            }
        }
    }
}

/// What is known about a column of a candidate block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// No row has the field.
    Absent,
    /// Some row has it.
    Present,
    /// Nothing is known (not a block).
    Unknown,
}

/// A set of rows a query may skip: a sealed block, or just a stream.
pub trait Candidate {
    /// The rows' time range.
    fn time_range(&self) -> (i64, i64);
    /// The rows' stream, if they share one.
    fn stream(&self) -> Option<&Stream>;
    /// Whether the rows have field `name`.
    fn column(&self, name: &str) -> Column;
    /// Whether column `name` may contain every one of `words` (token filter lookup).
    fn may_contain(&self, name: &str, words: &[&str]) -> bool;
}

/// A candidate that knows only its stream: lets the store skip whole streams.
#[derive(Debug)]
pub struct StreamOnly<'a>(pub &'a Stream);

impl Candidate for StreamOnly<'_> {
    fn time_range(&self) -> (i64, i64) {
        (i64::MIN, i64::MAX)
    }
    fn stream(&self) -> Option<&Stream> {
        Some(self.0)
    }
    fn column(&self, _: &str) -> Column {
        Column::Unknown
    }
    fn may_contain(&self, _: &str, _: &[&str]) -> bool {
        true
    }
}
