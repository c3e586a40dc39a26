//! `esb completion <shell>`: a completion script on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

impl CompletionArgs {
    pub fn run(self) -> miette::Result<()> {
        clap_complete::generate(
            self.shell,
            &mut Cli::command(),
            "esb",
            &mut std::io::stdout(),
        );
        Ok(())
    }
}
