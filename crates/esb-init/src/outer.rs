//! The outer stage: joins the worker's cgroups, then either runs the PID-1 stage in this
//! process or re-executes itself as PID 1 of a new PID namespace and waits for it.

use std::fs;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::kill;
use nix::unistd::{Pid, getpid};

use crate::args::Args;
use crate::pid1::{self, Namespace};
use crate::report::Reporter;
use crate::signals::Caught;
use crate::{Exit, errno_of};

/// Why the outer stage could not start the PID-1 stage.
#[derive(Debug, thiserror::Error)]
pub enum OuterError {
    #[error("cannot join cgroup {}: {errno}", path.display())]
    Cgroup { path: PathBuf, errno: Errno },
    #[error("cannot catch SIGTERM and SIGINT: {0}")]
    Signals(io::Error),
    #[error("cannot unshare the PID namespace: {0}")]
    Unshare(Errno),
    #[error("cannot re-execute /proc/self/exe as PID 1: {0}")]
    Reexec(io::Error),
}

/// Runs the outer stage; returns the init's exit code.
pub fn run(args: &Args, reinvoke: &[&str]) -> ExitCode {
    let reporter = Reporter::on_stdin();
    if let Err(error) = join_cgroups(&args.cgroups) {
        reporter.failed(error.to_string());
        return Exit::Failed.into();
    }
    if !args.new_pid_namespace {
        return pid1::run(Namespace::Shared, reporter);
    }
    run_in_new_namespace(reinvoke).unwrap_or_else(|error| {
        reporter.failed(error.to_string());
        Exit::Failed.into()
    })
}

/// Moves this process, so everything it starts from now on, into every cgroup.
fn join_cgroups(cgroups: &[PathBuf]) -> Result<(), OuterError> {
    let pid = getpid().to_string();
    for path in cgroups {
        fs::write(path, &pid).map_err(|error| OuterError::Cgroup {
            path: path.clone(),
            errno: errno_of(&error),
        })?;
    }
    Ok(())
}

/// Starts `/proc/self/exe <reinvoke…> --pid1` as PID 1 of a new PID namespace, forwards it
/// SIGTERM and SIGINT, and exits as it does (128 + signal when it is killed).
fn run_in_new_namespace(reinvoke: &[&str]) -> Result<ExitCode, OuterError> {
    let child = Arc::new(AtomicI32::new(0));
    // The forwarding thread starts before `unshare`: once a process's children are to go to
    // another PID namespace, the kernel refuses it new threads (EINVAL).
    let forwarded_to = Arc::clone(&child);
    Caught::new()
        .and_then(|caught| {
            caught.forward(move |signal| match forwarded_to.load(Ordering::SeqCst) {
                // Nothing runs yet: stop as the signal asks (a child spawned meanwhile dies
                // with this process, by its parent-death signal).
                0 => std::process::exit(128 + signal as i32),
                pid => drop(kill(Pid::from_raw(pid), signal)),
            })
        })
        .map_err(OuterError::Signals)?;
    unshare(CloneFlags::CLONE_NEWPID).map_err(OuterError::Unshare)?;
    let mut pid1 = Command::new("/proc/self/exe")
        .args(reinvoke)
        .arg("--pid1")
        .arg("--outer-pid")
        .arg(getpid().to_string())
        .spawn()
        .map_err(OuterError::Reexec)?;
    child.store(
        i32::try_from(pid1.id()).unwrap_or_default(),
        Ordering::SeqCst,
    );
    let status = pid1.wait().map_err(OuterError::Reexec)?;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => Exit::Failed as i32,
    };
    Ok(ExitCode::from(
        u8::try_from(code).unwrap_or(Exit::Failed as u8),
    ))
}
