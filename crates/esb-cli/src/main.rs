//! The `esb` binary: parses arguments, sets up logging, colour and error rendering, runs one
//! subcommand and turns its outcome into an exit code.

mod box_process;
mod cli;
mod commands;
mod config;
mod confirm;
mod exit;
mod function_log;
mod line_writer;
mod logging;
mod output;
mod projects;
mod run_state;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::{Exit, UsageError};

fn main() -> std::process::ExitCode {
    // `esb __worker-init …`: this binary is also every sandboxed worker's init. Decided before
    // anything else runs (no threads, no logging): the init sets up namespaces.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(commands::workers::WORKER_INIT))
    {
        return esb_init::run(&[commands::workers::WORKER_INIT]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` come here too, with exit code 0.
            let _ = err.print();
            return if err.exit_code() == 0 {
                Exit::Ok
            } else {
                Exit::Usage
            }
            .into();
        }
    };
    let color = cli.global.color.enabled();
    output::init(color);
    logging::init(cli.global.verbose, color);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .terminal_links(false)
                .force_graphical(true)
                .build(),
        )
    }));
    match cli.command.run() {
        Ok(()) => Exit::Ok.into(),
        Err(report) => {
            eprintln!("{report:?}");
            if report.downcast_ref::<UsageError>().is_some() {
                Exit::Usage.into()
            } else {
                Exit::Failure.into()
            }
        }
    }
}
