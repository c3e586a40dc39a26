//! The init of one Lambda worker ("execution environment"): the box spawns it, it builds the
//! worker's sandbox, runs the worker's programs (extensions, then the runtime) as PID 1 and
//! reports their exits to the box on its standard input, a Unix stream socket.
//!
//! [`spec`] is the contract with the box. Since `fork` cannot be called safely, a new PID
//! namespace is entered by re-executing `/proc/self/exe`: the outer stage (module `outer`)
//! joins the worker's cgroups and starts the PID-1 stage (module `pid1`) as the first process
//! of the namespace; the PID-1 stage builds the sandbox (module `sandbox`) and runs the
//! programs.
//!
//! Modes: with `--new-pid-namespace` (what the box uses), killing the init by any means kills
//! the whole worker. Without it, the init is a child subreaper in the box's namespace and stops
//! the worker by killing each program's process group; a process that leaves its group, or an
//! init killed by SIGKILL, can then leave processes behind, and the sandbox's `/proc` shows the
//! host's processes.

mod args;
mod outer;
mod pid1;
mod report;
mod sandbox;
mod signals;
pub mod spec;

use std::process::ExitCode;

use crate::args::Args;

/// The init's exit codes (besides the outer stage passing on the PID-1 stage's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The runtime ended (whatever its own exit code, which was reported), or the box closed
    /// the socket and the worker was stopped.
    Ok = 0,
    /// The command line is wrong.
    Usage = 2,
    /// The worker could not be started; a `Failed` report said why.
    Failed = 125,
}

impl Exit {
    /// Ends the process now, from any thread.
    fn now(self) -> ! {
        std::process::exit(self as i32)
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The errno of an I/O error, so every message reads the same (`ENOENT: No such file…`).
fn errno_of(error: &std::io::Error) -> nix::errno::Errno {
    error
        .raw_os_error()
        .map_or(nix::errno::Errno::UnknownErrno, nix::errno::Errno::from_raw)
}

/// Runs the init with the command line of this process: the arguments after the program name
/// and the `reinvoke` words (`["__worker-init"]` when the `esb` binary runs as the init, none
/// for the `esb-init` binary). The outer stage puts the same words before `--pid1` when it
/// re-executes itself.
pub fn run(reinvoke: &[&str]) -> ExitCode {
    let args = match Args::parse(std::env::args_os().skip(1 + reinvoke.len())) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("esb-init: {error}");
            return Exit::Usage.into();
        }
    };
    match args.pid1 {
        Some(pid1) => pid1::run(
            pid1::Namespace::New {
                outer_pid: pid1.outer_pid,
            },
            report::Reporter::on_stdin(),
        ),
        None => outer::run(&args, reinvoke),
    }
}
