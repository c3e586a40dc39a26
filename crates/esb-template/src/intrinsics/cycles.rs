//! Resolution that would go round in circles: a resource whose name refers to itself through
//! others, an alias, a mapping value or a condition that does. Each is an error naming the
//! cycle (`A -> B -> A`) where it would otherwise recurse until the stack overflows.

use std::cell::RefCell;

use super::EvalError;

/// Longer chains of references than this are refused before they can exhaust the stack; real
/// templates chain a few.
const MAX_CHAIN: usize = 100;

/// What is being resolved now, outermost first: logical ids (their names), `Fn.Alias`,
/// `Mappings.M.Top.Second` and `Conditions.Name`, which cannot collide since logical ids have
/// no dots.
#[derive(Debug, Default)]
pub(super) struct InProgress(RefCell<Vec<String>>);

impl InProgress {
    /// Runs `resolve` for `key`, or fails naming the cycle when `key` is already being
    /// resolved further out.
    pub(super) fn guard<T>(
        &self,
        key: String,
        resolve: impl FnOnce() -> Result<T, EvalError>,
    ) -> Result<T, EvalError> {
        {
            let stack = self.0.borrow();
            if let Some(start) = stack.iter().position(|outer| *outer == key) {
                let cycle: Vec<&str> = stack[start..]
                    .iter()
                    .map(String::as_str)
                    .chain([key.as_str()])
                    .collect();
                return Err(format!("circular reference: {}", cycle.join(" -> ")));
            }
            if stack.len() >= MAX_CHAIN {
                return Err(format!(
                    "references chain through more than {MAX_CHAIN} values: {} -> …",
                    stack[..3].join(" -> ")
                ));
            }
        }
        self.0.borrow_mut().push(key);
        let result = resolve();
        self.0.borrow_mut().pop();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_met_again_inside_itself_names_the_cycle() {
        let in_progress = InProgress::default();
        let result: Result<(), _> = in_progress.guard("A".into(), || {
            in_progress.guard("B".into(), || in_progress.guard("A".into(), || Ok(())))
        });
        assert_eq!(result, Err("circular reference: A -> B -> A".to_string()));
        assert_eq!(
            in_progress.guard("A".into(), || Ok(1)),
            Ok(1),
            "the stack unwound"
        );
    }

    #[test]
    fn endless_chains_stop() {
        fn chain(in_progress: &InProgress, n: usize) -> Result<(), EvalError> {
            in_progress.guard(format!("R{n}"), || chain(in_progress, n + 1))
        }
        let err = chain(&InProgress::default(), 0).expect_err("stops");
        assert!(
            err.starts_with("references chain through more than 100"),
            "{err}"
        );
    }
}
