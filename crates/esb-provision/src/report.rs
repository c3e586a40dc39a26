//! What a provisioning run did to each resource, for people (`Display`) and for tests.

use std::fmt;

/// The kind of resource an [`Outcome`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Bucket,
    Table,
}

/// What happened to one bucket or table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: ResourceKind,
    /// The bucket or table name on the endpoint.
    pub name: String,
    /// The template's logical id.
    pub logical_id: String,
    /// It did not exist and was created.
    pub created: bool,
    /// Settings changed on an existing resource (or set right after creation), one line each.
    pub changes: Vec<String>,
    /// Differences from the template that the endpoint cannot apply in place, with what to do.
    pub cannot: Vec<String>,
}

impl Outcome {
    pub(crate) fn new(kind: ResourceKind, name: &str, logical_id: &str) -> Outcome {
        Outcome {
            kind,
            name: name.to_string(),
            logical_id: logical_id.to_string(),
            created: false,
            changes: Vec::new(),
            cannot: Vec::new(),
        }
    }

    /// Nothing was done and nothing differs.
    pub fn unchanged(&self) -> bool {
        !self.created && self.changes.is_empty() && self.cannot.is_empty()
    }
}

/// Every resource of one run, buckets first, in template order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// True when the endpoints already matched the template.
    pub fn unchanged(&self) -> bool {
        self.outcomes.iter().all(Outcome::unchanged)
    }

    /// True when some difference could not be applied.
    pub fn has_cannot(&self) -> bool {
        self.outcomes.iter().any(|o| !o.cannot.is_empty())
    }

    pub fn find(&self, kind: ResourceKind, name: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.outcomes {
            let kind = match outcome.kind {
                ResourceKind::Bucket => "bucket",
                ResourceKind::Table => "table",
            };
            let state = if outcome.created {
                "created"
            } else if !outcome.changes.is_empty() {
                "updated"
            } else if !outcome.cannot.is_empty() {
                "differs"
            } else {
                "unchanged"
            };
            writeln!(
                f,
                "  {kind:<6} {} ({}): {state}",
                outcome.name, outcome.logical_id
            )?;
            for change in &outcome.changes {
                writeln!(f, "           + {change}")?;
            }
            for cannot in &outcome.cannot {
                writeln!(f, "           ! cannot update: {cannot}")?;
            }
        }
        Ok(())
    }
}
