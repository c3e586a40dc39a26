//! The `stats` pipe: rows grouped by field values and time buckets, one accumulator per
//! function and group. Results are strings, as VictoriaLogs returns them (`"n":"5"`).

use std::collections::{HashMap, HashSet};

use super::natural;
use super::pipe::{GroupKey, StatsFunc, StatsKind, StatsSpec};
use super::view::{OwnedRow, RowView};
use crate::row::TIME;
use crate::timeutil;

/// Groups and accumulators of one `stats` pipe.
#[derive(Debug)]
pub struct Stats {
    spec: StatsSpec,
    groups: HashMap<Vec<String>, Vec<Acc>>,
}

#[derive(Debug)]
enum Acc {
    Count(u64),
    CountUniq(HashSet<Vec<String>>),
    Min(Option<String>),
    Max(Option<String>),
    Sum { sum: f64, numbers: u64 },
}

impl Stats {
    /// Empty state for `spec`.
    pub fn new(spec: StatsSpec) -> Self {
        Self {
            spec,
            groups: HashMap::new(),
        }
    }

    /// Adds a row.
    pub fn add(&mut self, row: &dyn RowView) {
        let key: Vec<String> = self
            .spec
            .by
            .iter()
            .map(|k| match k {
                GroupKey::Field(name) => row.get(name).map(|v| v.into_owned()).unwrap_or_default(),
                GroupKey::Time { step, offset } => row
                    .time()
                    .map(|t| {
                        let bucket = (t - offset).div_euclid(*step) * step + offset;
                        timeutil::format_rfc3339(bucket)
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let funcs = &self.spec.funcs;
        let accs = self
            .groups
            .entry(key)
            .or_insert_with(|| funcs.iter().map(|f| Acc::new(f.kind)).collect());
        for (acc, func) in accs.iter_mut().zip(funcs) {
            acc.add(func, row);
        }
    }

    /// The result rows, ordered by group.
    pub fn rows(&mut self) -> Vec<OwnedRow> {
        let mut groups: Vec<(Vec<String>, Vec<Acc>)> = self.groups.drain().collect();
        groups.sort_by(|a, b| {
            a.0.iter()
                .zip(&b.0)
                .map(|(x, y)| natural::compare(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // A stats query over no rows still answers, with zero counts.
        if groups.is_empty() && self.spec.by.is_empty() {
            groups.push((
                Vec::new(),
                self.spec.funcs.iter().map(|f| Acc::new(f.kind)).collect(),
            ));
        }
        groups
            .into_iter()
            .map(|(key, accs)| {
                let mut fields = Vec::new();
                for (k, value) in self.spec.by.iter().zip(key) {
                    let name = match k {
                        GroupKey::Field(name) => name.clone(),
                        GroupKey::Time { .. } => TIME.to_owned(),
                    };
                    fields.push((name, value));
                }
                for (acc, func) in accs.iter().zip(&self.spec.funcs) {
                    fields.push((func.name.clone(), acc.result(func.kind)));
                }
                OwnedRow {
                    time: None,
                    stream: None,
                    fields,
                }
            })
            .collect()
    }
}

impl Acc {
    fn new(kind: StatsKind) -> Self {
        match kind {
            StatsKind::Count => Acc::Count(0),
            StatsKind::CountUniq => Acc::CountUniq(HashSet::new()),
            StatsKind::Min => Acc::Min(None),
            StatsKind::Max => Acc::Max(None),
            StatsKind::Sum | StatsKind::Avg => Acc::Sum {
                sum: 0.0,
                numbers: 0,
            },
        }
    }

    fn add(&mut self, func: &StatsFunc, row: &dyn RowView) {
        let values = || {
            func.fields
                .iter()
                .filter_map(|f| row.get(f))
                .filter(|v| !v.is_empty())
        };
        match self {
            Acc::Count(n) => {
                if func.fields.is_empty() || values().next().is_some() {
                    *n += 1;
                }
            }
            Acc::CountUniq(seen) => {
                let tuple: Vec<String> = func
                    .fields
                    .iter()
                    .map(|f| row.get(f).map(|v| v.into_owned()).unwrap_or_default())
                    .collect();
                if tuple.iter().any(|v| !v.is_empty()) {
                    seen.insert(tuple);
                }
            }
            Acc::Min(best) | Acc::Max(best) => {
                let want = if matches!(func.kind, StatsKind::Min) {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                };
                for value in values() {
                    let better = best
                        .as_deref()
                        .is_none_or(|b| natural::compare(&value, b) == want);
                    if better {
                        *best = Some(value.into_owned());
                    }
                }
            }
            Acc::Sum { sum, numbers } => {
                for value in values() {
                    if let Ok(x) = value.trim().parse::<f64>() {
                        *sum += x;
                        *numbers += 1;
                    }
                }
            }
        }
    }

    fn result(&self, kind: StatsKind) -> String {
        match self {
            Acc::Count(n) => n.to_string(),
            Acc::CountUniq(seen) => seen.len().to_string(),
            Acc::Min(v) | Acc::Max(v) => v.clone().unwrap_or_default(),
            Acc::Sum { sum, numbers } => {
                if *numbers == 0 {
                    "NaN".to_owned()
                } else if kind == StatsKind::Avg {
                    format_float(sum / *numbers as f64)
                } else {
                    format_float(*sum)
                }
            }
        }
    }
}

/// Shortest decimal text, without exponent, as Go's `FormatFloat(f, 'f', -1, 64)`.
fn format_float(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(time: i64, fields: &[(&str, &str)]) -> OwnedRow {
        OwnedRow {
            time: Some(time),
            stream: None,
            fields: fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn func(kind: StatsKind, fields: &[&str], name: &str) -> StatsFunc {
        StatsFunc {
            kind,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            name: name.to_owned(),
        }
    }

    #[test]
    fn groups_and_functions() {
        let mut stats = Stats::new(StatsSpec {
            by: vec![GroupKey::Field("level".into())],
            funcs: vec![
                func(StatsKind::Count, &[], "n"),
                func(StatsKind::Count, &["d"], "with_d"),
                func(StatsKind::CountUniq, &["u"], "users"),
                func(StatsKind::Min, &["d"], "min"),
                func(StatsKind::Max, &["d"], "max"),
                func(StatsKind::Sum, &["d"], "sum"),
                func(StatsKind::Avg, &["d"], "avg"),
            ],
        });
        stats.add(&row(1, &[("level", "ERROR"), ("d", "10"), ("u", "a")]));
        stats.add(&row(2, &[("level", "ERROR"), ("d", "9"), ("u", "a")]));
        stats.add(&row(3, &[("level", "ERROR"), ("u", "b")]));
        stats.add(&row(4, &[("d", "x")]));
        let rows = stats.rows();
        assert_eq!(rows.len(), 2);
        let get = |r: &OwnedRow, f: &str| r.get(f).map(|v| v.into_owned());
        let error = &rows[1];
        assert_eq!(get(error, "level").as_deref(), Some("ERROR"));
        assert_eq!(get(error, "n").as_deref(), Some("3"));
        assert_eq!(get(error, "with_d").as_deref(), Some("2"));
        assert_eq!(get(error, "users").as_deref(), Some("2"));
        assert_eq!(get(error, "min").as_deref(), Some("9"));
        assert_eq!(get(error, "max").as_deref(), Some("10"));
        assert_eq!(get(error, "sum").as_deref(), Some("19"));
        assert_eq!(get(error, "avg").as_deref(), Some("9.5"));
        let other = &rows[0];
        assert_eq!(get(other, "level").as_deref(), Some(""));
        assert_eq!(get(other, "avg").as_deref(), Some("NaN"));
    }

    #[test]
    fn time_buckets_and_empty_input() {
        let mut stats = Stats::new(StatsSpec {
            by: vec![GroupKey::Time {
                step: timeutil::MINUTE,
                offset: 0,
            }],
            funcs: vec![func(StatsKind::Count, &[], "count(*)")],
        });
        stats.add(&row(timeutil::MINUTE + 5, &[]));
        stats.add(&row(timeutil::MINUTE + 7, &[]));
        stats.add(&row(5, &[]));
        let rows = stats.rows();
        assert_eq!(
            rows[1].fields,
            [
                ("_time".to_owned(), "1970-01-01T00:01:00Z".to_owned()),
                ("count(*)".to_owned(), "2".to_owned())
            ]
        );
        let mut none = Stats::new(StatsSpec {
            by: vec![],
            funcs: vec![func(StatsKind::Count, &[], "n")],
        });
        assert_eq!(none.rows()[0].fields, [("n".to_owned(), "0".to_owned())]);
    }
}
