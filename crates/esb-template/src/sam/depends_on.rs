//! `DependsOn` between resources: CloudFormation refuses resources that depend on each other in
//! a circle, and so does esb, naming the circle.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::TemplateError;
use crate::source::Positions;

pub(crate) fn check(
    resources: &Map<String, Value>,
    positions: &Positions,
) -> Result<(), TemplateError> {
    let edges: HashMap<&str, Vec<&str>> = resources
        .iter()
        .map(|(id, resource)| (id.as_str(), dependencies(resource, resources)))
        .collect();
    let Some(cycle) = find_cycle(resources.keys().map(String::as_str), &edges) else {
        return Ok(());
    };
    let first = cycle[0];
    Err(TemplateError::resource(
        first,
        "DependsOn",
        format!("circular DependsOn: {}", cycle.join(" -> ")),
    )
    .at(positions.property(first, None, "DependsOn")))
}

/// The resources of this template that `resource` names in `DependsOn` (a name or a list).
fn dependencies<'r>(resource: &'r Value, resources: &Map<String, Value>) -> Vec<&'r str> {
    let names = match resource.get("DependsOn") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .filter(|name| resources.contains_key(*name))
        .collect()
}

/// The first cycle a depth-first walk from each node in order meets, as `[A, B, A]`. The walk
/// keeps its own stack: a long chain of resources must not exhaust the thread's.
fn find_cycle<'a>(
    nodes: impl Iterator<Item = &'a str>,
    edges: &HashMap<&'a str, Vec<&'a str>>,
) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    let mut state: HashMap<&str, State> = HashMap::new();
    for start in nodes {
        if state.contains_key(start) {
            continue;
        }
        // Each entry: a node on the current path and how many of its edges were followed.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        state.insert(start, State::OnPath);
        while let Some((node, followed)) = path.last_mut() {
            let next = edges.get(node).and_then(|out| out.get(*followed)).copied();
            *followed += 1;
            let Some(next) = next else {
                state.insert(node, State::Done);
                path.pop();
                continue;
            };
            match state.get(next) {
                Some(State::OnPath) => {
                    let from = path.iter().position(|(on, _)| *on == next)?;
                    let mut cycle: Vec<&str> = path[from..].iter().map(|(on, _)| *on).collect();
                    cycle.push(next);
                    return Some(cycle);
                }
                Some(State::Done) => {}
                None => {
                    state.insert(next, State::OnPath);
                    path.push((next, 0));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle_in(pairs: &[(&'static str, &[&'static str])]) -> Option<Vec<&'static str>> {
        let edges: HashMap<&str, Vec<&str>> = pairs
            .iter()
            .map(|(node, out)| (*node, out.to_vec()))
            .collect();
        find_cycle(pairs.iter().map(|(node, _)| *node), &edges)
    }

    #[test]
    fn cycles_are_found_and_named_from_where_they_close() {
        assert_eq!(
            cycle_in(&[("A", &["B"]), ("B", &["C"]), ("C", &["A"])]),
            Some(vec!["A", "B", "C", "A"])
        );
        assert_eq!(
            cycle_in(&[("X", &["A"]), ("A", &["B"]), ("B", &["A"])]),
            Some(vec!["A", "B", "A"])
        );
        assert_eq!(cycle_in(&[("A", &["A"])]), Some(vec!["A", "A"]));
        assert_eq!(
            cycle_in(&[("A", &["B", "C"]), ("B", &["C"]), ("C", &[])]),
            None
        );
    }

    #[test]
    fn long_chains_do_not_exhaust_the_stack() {
        let names: Vec<String> = (0..100_000).map(|n| format!("R{n}")).collect();
        let edges: HashMap<&str, Vec<&str>> = names
            .windows(2)
            .map(|pair| (pair[0].as_str(), vec![pair[1].as_str()]))
            .collect();
        assert_eq!(find_cycle(names.iter().map(String::as_str), &edges), None);
    }
}
