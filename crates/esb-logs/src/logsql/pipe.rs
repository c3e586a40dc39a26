//! LogsQL pipes (the part after `|`) as the parser produces them.

use super::filter::Filter;

/// One pipe.
#[derive(Debug, Clone)]
pub enum Pipe {
    /// `fields a, b*` / `keep`: only these fields remain.
    Fields(Vec<String>),
    /// `delete a, b*`: these fields go.
    Delete(Vec<String>),
    /// `sort by (…)`.
    Sort(SortSpec),
    /// `limit N` / `head N`.
    Limit(usize),
    /// `offset N` / `skip N`.
    Offset(usize),
    /// `stats [by (…)] f(…) [as] name, …`.
    Stats(StatsSpec),
    /// `uniq by (…) [limit N]`.
    Uniq {
        /// the fields whose value combinations are listed
        by: Vec<String>,
        /// stop after this many combinations
        limit: Option<usize>,
    },
    /// `filter …` / `where …`.
    Filter(Filter),
}

impl Pipe {
    /// Whether the pipe reorders, aggregates or cuts rows: then `limit=N` of the query API
    /// becomes a trailing `| limit N` instead of "the newest N rows".
    pub fn reorders(&self) -> bool {
        matches!(
            self,
            Pipe::Sort(_) | Pipe::Stats(_) | Pipe::Uniq { .. } | Pipe::Limit(_) | Pipe::Offset(_)
        )
    }
}

/// `sort by (a desc, b) [desc] [offset N] [limit N]`.
#[derive(Debug, Clone, Default)]
pub struct SortSpec {
    /// the keys, in order
    pub keys: Vec<SortKey>,
    /// reverse the whole order
    pub desc: bool,
    /// rows skipped after sorting
    pub offset: usize,
    /// rows kept after the offset
    pub limit: Option<usize>,
}

/// One sort key.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// the field
    pub field: String,
    /// descending
    pub desc: bool,
}

/// `stats by (…) …`.
#[derive(Debug, Clone)]
pub struct StatsSpec {
    /// the grouping keys
    pub by: Vec<GroupKey>,
    /// the results computed per group
    pub funcs: Vec<StatsFunc>,
}

/// A grouping key of `stats by (…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    /// a field's value
    Field(String),
    /// `_time:step [offset d]`: the row time rounded down to a multiple of `step`
    Time {
        /// bucket width in nanoseconds
        step: i64,
        /// shift of the bucket boundaries in nanoseconds
        offset: i64,
    },
}

/// One stats function with its result name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsFunc {
    /// which function
    pub kind: StatsKind,
    /// its fields (empty = `*`)
    pub fields: Vec<String>,
    /// the result field name
    pub name: String,
}

/// The stats functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    /// `count()`, `count(f, …)`: rows (with one of the fields non-empty)
    Count,
    /// `count_uniq(f, …)`: distinct non-empty value combinations
    CountUniq,
    /// `min(f)`: smallest value (numeric when both are numbers)
    Min,
    /// `max(f)`
    Max,
    /// `sum(f)`: sum of the numeric values
    Sum,
    /// `avg(f)`: mean of the numeric values
    Avg,
}

impl StatsKind {
    /// The function of a LogsQL name.
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "count" => Self::Count,
            "count_uniq" => Self::CountUniq,
            "min" => Self::Min,
            "max" => Self::Max,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            _ => return None,
        })
    }

    /// Its LogsQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::CountUniq => "count_uniq",
            Self::Min => "min",
            Self::Max => "max",
            Self::Sum => "sum",
            Self::Avg => "avg",
        }
    }
}
