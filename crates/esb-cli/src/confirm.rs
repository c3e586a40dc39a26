//! Asking before deleting what the user may want to keep (`esb down --volumes`, `esb prune`):
//! `--yes` answers for them; without a terminal to ask on, the command refuses rather than
//! deleting unasked.

use std::io::IsTerminal;

use miette::IntoDiagnostic;

use crate::exit::UsageError;

/// Whether to delete `what`: `yes` (`--yes`), else the user's answer on the terminal. Without
/// a terminal, a usage error saying that `command` would delete `what` and how to confirm.
pub fn deletion(command: &str, what: &str, yes: bool) -> miette::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError {
            message: format!("{command} would delete {what}"),
            help: "pass --yes to confirm without a terminal".to_string(),
        }
        .into());
    }
    dialoguer::Confirm::new()
        .with_prompt(format!("Delete {what}?"))
        .default(false)
        .interact()
        .into_diagnostic()
}
