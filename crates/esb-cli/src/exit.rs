//! Exit codes, and the error that means "the command was used wrongly" (exit 2).

use miette::Diagnostic;

/// What the process returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The command ran and failed (bad template, failed build, …).
    Failure = 1,
    /// The command line was wrong.
    Usage = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// A usage error found after parsing (e.g. a prompt needed without a terminal).
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(esb::usage), help("{help}"))]
pub struct UsageError {
    pub message: String,
    pub help: String,
}

/// The invoked function answered with an error: its payload is already on stdout.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("function {function} returned an error ({error})")]
#[diagnostic(code(esb::function_error))]
pub struct FunctionFailed {
    pub function: String,
    pub error: &'static str,
}
