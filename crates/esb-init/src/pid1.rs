//! The PID-1 stage: reads the spec, sets up the sandbox, spawns the programs, then reaps every
//! child, reports the programs' exits and stops the whole worker when the runtime (the last
//! program) has ended or the box has closed the socket.

use std::fs;
use std::io::{self, BufRead, Read};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::prctl;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::report::Reporter;
use crate::sandbox::{self, SandboxError};
use crate::signals::Caught;
use crate::spec::{InitSpec, ProgramSpec, Report};
use crate::{Exit, errno_of};

/// Where the PID-1 stage runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// PID 1 of a new PID namespace, started by the outer stage whose pid (in the outer
    /// namespace) is given: killing PID 1 kills every process of the namespace.
    New { outer_pid: i32 },
    /// The init's own namespace (no `--new-pid-namespace`): the init is a child subreaper, so
    /// orphans are still its to reap, and the programs are stopped by their process groups (a
    /// process that leaves its group, or an init killed by SIGKILL, can leave processes behind).
    Shared,
}

/// Why the worker could not start; the message goes to the box in a `Failed` report.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the outer init is gone")]
    OuterGone,
    #[error("the box closed the socket before sending the spec")]
    NoSpec,
    #[error("cannot read the spec line: {0}")]
    ReadSpec(io::Error),
    #[error("bad spec line: {0}")]
    BadSpec(serde_json::Error),
    #[error("the spec names no program to run")]
    NoPrograms,
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot {what}: {errno}")]
    Sys { what: &'static str, errno: Errno },
    #[error("cannot run {}: {why}", program.display())]
    Spawn { program: PathBuf, why: String },
}

/// Runs the PID-1 stage to its end; returns only when the worker could not start.
pub fn run(namespace: Namespace, reporter: Reporter) -> ExitCode {
    let reporter = Arc::new(reporter);
    match start(namespace, &reporter) {
        Ok(worker) => worker.supervise(),
        Err(StartError::OuterGone) => Exit::Failed.into(),
        Err(error) => {
            reporter.failed(error.to_string());
            Exit::Failed.into()
        }
    }
}

/// One running program of the worker.
#[derive(Debug)]
struct Program {
    /// Also its process group: every program leads its own.
    pid: Pid,
    running: AtomicBool,
}

/// The started worker, shared by the reaping main thread and the signal and socket threads.
#[derive(Debug)]
struct Worker {
    namespace: Namespace,
    programs: Vec<Program>,
    reporter: Arc<Reporter>,
}

fn start(namespace: Namespace, reporter: &Arc<Reporter>) -> Result<Arc<Worker>, StartError> {
    match namespace {
        Namespace::New { outer_pid } => {
            // Killing the outer stage (even by SIGKILL) kills PID 1, hence the whole namespace.
            prctl::set_pdeathsig(Signal::SIGKILL).map_err(sys("set the parent-death signal"))?;
            // The outer stage may have died before that took effect. `getppid()` says 0 in a
            // new namespace, but `/proc` still is the outer namespace's proc at this point.
            if parent_in_proc().is_some_and(|parent| parent != outer_pid) {
                return Err(StartError::OuterGone);
            }
        }
        Namespace::Shared => {
            prctl::set_child_subreaper(true).map_err(sys("become a child subreaper"))?
        }
    }
    // Caught from now on (PID 1 would not even receive them without a handler); forwarded
    // once the programs run.
    let caught = Caught::new().map_err(|error| StartError::Sys {
        what: "catch SIGTERM and SIGINT",
        errno: errno_of(&error),
    })?;
    let spec = read_spec()?;
    if spec.programs.is_empty() {
        return Err(StartError::NoPrograms);
    }
    // Still the only thread: namespaces and the root directory change for this thread only
    // and are then inherited by the threads and programs started below.
    if let Some(sandbox) = &spec.sandbox {
        sandbox::enter(sandbox)?;
        // The output pipes are the box's (root's, mode 0600): the programs write to them as
        // inherited descriptors, but opening `/dev/stdout` or `/dev/stderr` (a logging setting
        // some functions use, which works on Lambda) reopens them, which needs their user.
        for fd in [std::io::stdout().as_fd(), std::io::stderr().as_fd()] {
            // Only a pipe: a file or a terminal given as output is not ours to hand over.
            let is_pipe = nix::sys::stat::fstat(fd).is_ok_and(|stat| {
                use nix::sys::stat::SFlag;
                SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFIFO
            });
            if !is_pipe {
                continue;
            }
            nix::unistd::fchown(
                fd,
                Some(nix::unistd::Uid::from_raw(sandbox.uid)),
                Some(nix::unistd::Gid::from_raw(sandbox.gid)),
            )
            .map_err(sys("give the output pipes to the sandbox's user"))?;
        }
    }
    // Inherited by the programs: a setuid binary cannot regain privileges.
    prctl::set_no_new_privs().map_err(sys("set no_new_privs"))?;
    let worker = Arc::new(Worker {
        namespace,
        programs: spawn_all(&spec, namespace)?,
        reporter: Arc::clone(reporter),
    });
    reporter.send(&Report::Started);
    let on_signal = Arc::clone(&worker);
    let on_eof = Arc::clone(&worker);
    let threads = caught
        .forward(move |signal| on_signal.forward(signal))
        .and_then(|()| {
            thread::Builder::new()
                .name("socket".into())
                .spawn(move || on_eof.stop_at_eof())
                .map(drop)
        });
    if let Err(error) = threads {
        worker.kill_all();
        return Err(StartError::Sys {
            what: "start a thread",
            errno: errno_of(&error),
        });
    }
    Ok(worker)
}

/// Reads the one spec line. Through the process-wide buffered stdin, which the socket thread
/// keeps reading, so no byte read ahead is lost.
fn read_spec() -> Result<InitSpec, StartError> {
    // A box with an async runtime may hand over a non-blocking socket: an EAGAIN would then
    // read as a broken spec, or, in the socket thread, as the box being gone.
    let stdin = io::stdin();
    let flags = fcntl(stdin.as_fd(), FcntlArg::F_GETFL).map_err(sys("read stdin's flags"))?;
    let flags = OFlag::from_bits_retain(flags) - OFlag::O_NONBLOCK;
    fcntl(stdin.as_fd(), FcntlArg::F_SETFL(flags)).map_err(sys("make stdin blocking"))?;
    let mut line = String::new();
    let read = stdin
        .lock()
        .read_line(&mut line)
        .map_err(StartError::ReadSpec)?;
    if read == 0 {
        return Err(StartError::NoSpec);
    }
    serde_json::from_str(&line).map_err(StartError::BadSpec)
}

/// Spawns the programs in order; on a failure kills those already started.
fn spawn_all(spec: &InitSpec, namespace: Namespace) -> Result<Vec<Program>, StartError> {
    let ids = spec.sandbox.as_ref().map(|s| (s.uid, s.gid));
    let mut programs = Vec::with_capacity(spec.programs.len());
    for program in &spec.programs {
        match spawn(program, &spec.environment, ids) {
            Ok(pid) => programs.push(Program {
                pid,
                running: AtomicBool::new(true),
            }),
            Err(why) => {
                kill_all(namespace, &programs);
                return Err(StartError::Spawn {
                    program: program.program.clone(),
                    why,
                });
            }
        }
    }
    Ok(programs)
}

/// Spawns one program in its own process group; returns its pid or why it cannot run.
fn spawn(
    program: &ProgramSpec,
    environment: &[(String, String)],
    ids: Option<(u32, u32)>,
) -> Result<Pid, String> {
    // Checked here because the spawn error would not say it was the directory that is missing.
    if let Err(error) = fs::metadata(&program.cwd) {
        return Err(format!(
            "working directory {}: {}",
            program.cwd.display(),
            errno_of(&error)
        ));
    }
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .env_clear()
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .current_dir(&program.cwd)
        .stdin(Stdio::null())
        .process_group(0);
    if let Some((uid, gid)) = ids {
        // As root, std also drops the supplementary groups when it sets the uid.
        command.uid(uid).gid(gid);
    }
    let child = command
        .spawn()
        .map_err(|error| errno_of(&error).to_string())?;
    // A pid always fits; std only hands it out as a u32.
    i32::try_from(child.id())
        .map(Pid::from_raw)
        .map_err(|_| "pid out of range".to_string())
}

/// Kills every process of the worker: the whole namespace from its PID 1, otherwise the
/// programs' process groups.
fn kill_all(namespace: Namespace, programs: &[Program]) {
    match namespace {
        // From PID 1, -1 means every other process of the namespace.
        Namespace::New { .. } => drop(kill(Pid::from_raw(-1), Signal::SIGKILL)),
        Namespace::Shared => {
            for program in programs {
                let _ = killpg(program.pid, Signal::SIGKILL);
            }
        }
    }
}

impl Worker {
    fn kill_all(&self) {
        kill_all(self.namespace, &self.programs);
    }

    /// Passes a signal the init received on to the running programs' process groups.
    fn forward(&self, signal: Signal) {
        for program in &self.programs {
            if program.running.load(Ordering::SeqCst) {
                let _ = killpg(program.pid, signal);
            }
        }
    }

    /// The socket thread: the box sends nothing after the spec line, so the end of the socket
    /// (or an error on it) means the box is gone or wants the worker stopped.
    fn stop_at_eof(&self) {
        let mut stdin = io::stdin().lock();
        let mut buffer = [0; 256];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.kill_all();
        Exit::Ok.now();
    }

    /// The main thread from `Started` on: reaps every child, orphans included, reports the
    /// programs' exits, and ends the worker with the last program.
    fn supervise(&self) -> ! {
        loop {
            match waitpid(None, None) {
                Ok(WaitStatus::Exited(pid, code)) => self.ended(pid, Some(code), None),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    self.ended(pid, None, Some(signal as i32))
                }
                Ok(_) | Err(Errno::EINTR) => {}
                // No child left although the last program was never reaped: cannot happen,
                // but never spin.
                Err(errno) => {
                    self.reporter
                        .failed(format!("cannot wait for the programs: {errno}"));
                    self.kill_all();
                    Exit::Failed.now();
                }
            }
        }
    }

    fn ended(&self, pid: Pid, code: Option<i32>, signal: Option<i32>) {
        let Some(index) = self.programs.iter().position(|p| p.pid == pid) else {
            return; // an orphan, now reaped
        };
        self.programs[index].running.store(false, Ordering::SeqCst);
        self.reporter.send(&Report::Exited {
            program: index,
            code,
            signal,
        });
        if index + 1 == self.programs.len() {
            self.kill_all();
            Exit::Ok.now();
        }
    }
}

/// This process's parent as `/proc` says, or `None` when `/proc` cannot tell.
fn parent_in_proc() -> Option<i32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// Maps a system error to a [`StartError`] saying what was being done.
fn sys(what: &'static str) -> impl FnOnce(Errno) -> StartError {
    move |errno| StartError::Sys { what, errno }
}
