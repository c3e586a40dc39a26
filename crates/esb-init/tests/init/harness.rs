//! Plays the box: spawns the `esb-init` binary with one end of a socket pair as its standard
//! input, sends the spec line, reads report lines with a deadline, and collects the worker's
//! output. Every wait here is bounded, so a broken init fails a test instead of hanging it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use esb_init::spec::{Bind, InitSpec, ProgramSpec, Report, SandboxSpec, Symlink};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long any single step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(10);

/// The uid and gid sandboxed programs run as in these tests.
pub const USER: u32 = 4242;
pub const GROUP: u32 = 4343;

/// A running init, seen from the box.
pub struct Init {
    child: Child,
    socket: UnixStream,
    reports: BufReader<UnixStream>,
    stdout: Receiver<Vec<u8>>,
    stderr: Receiver<Vec<u8>>,
}

impl Init {
    /// Starts the init with `args` and sends `spec`.
    pub fn start(args: &[&str], spec: &InitSpec) -> Init {
        let line = serde_json::to_string(spec).unwrap();
        Init::start_with_line(args, &line)
    }

    /// Starts the init with `args` and sends `line` (plus a newline) as the spec line.
    pub fn start_with_line(args: &[&str], line: &str) -> Init {
        let mut init = Init::spawn(args, false);
        init.send_line(line);
        init
    }

    /// Sends `line` (plus a newline) on the box's end of the socket.
    pub fn send_line(&mut self, line: &str) {
        // May fail when the init is already gone (bad arguments): the reports then say so.
        let _ = self.socket.write_all(format!("{line}\n").as_bytes());
    }

    /// Starts the init with `args` without sending anything; `nonblocking` hands it its end of
    /// the socket in non-blocking mode, as a box with an async runtime might.
    pub fn spawn(args: &[&str], nonblocking: bool) -> Init {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the esb-init tests need root (namespaces, mounts, cgroups)"
        );
        let (socket, theirs) = UnixStream::pair().unwrap();
        theirs.set_nonblocking(nonblocking).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_esb-init"))
            .args(args)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let reports = BufReader::new(socket.try_clone().unwrap());
        Init {
            child,
            socket,
            reports,
            stdout,
            stderr,
        }
    }

    /// The init's pid (the outer stage's, with `--new-pid-namespace`).
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// The next report, or `None` when the init closed the socket; fails after [`STEP`].
    pub fn next_report(&mut self) -> Option<Report> {
        self.reports.get_ref().set_read_timeout(Some(STEP)).unwrap();
        let mut line = String::new();
        match self.reports.read_line(&mut line) {
            Ok(0) => None,
            // The init exited without reading all the box sent (e.g. on bad arguments).
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap()),
            Err(error) => panic!("no report within {STEP:?}: {error}"),
        }
    }

    /// The next report, which must be there.
    pub fn report(&mut self) -> Report {
        self.next_report()
            .unwrap_or_else(|| panic!("the init closed the socket; {}", self.describe()))
    }

    /// Expects `Started`.
    pub fn started(&mut self) {
        let report = self.report();
        assert_eq!(report, Report::Started, "{}", self.describe());
    }

    /// Expects a `Failed` report and returns its message.
    pub fn failed(&mut self) -> String {
        match self.report() {
            Report::Failed { message } => message,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    /// Closes the box's end of the socket, as a box that stops the worker (or dies) does.
    pub fn close_socket(&mut self) {
        self.socket.shutdown(Shutdown::Both).unwrap();
    }

    /// Sends `signal` to the init process.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Waits for the init to exit, failing after `within`.
    pub fn wait_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the init did not exit within {within:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the init to exit (within [`STEP`]) and returns its exit code.
    pub fn exit_code(&mut self) -> Option<i32> {
        self.wait_within(STEP).code()
    }

    /// The worker's standard output and error, once every holder of the pipes is gone.
    pub fn output(&mut self) -> (String, String) {
        let stdout = self.stdout.recv_timeout(STEP).unwrap_or_default();
        let stderr = self.stderr.recv_timeout(STEP).unwrap_or_default();
        (
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    /// Runs to the end a worker whose programs all end by themselves: `Started`, one `Exited`
    /// per program, the socket closed, exit code 0; returns the exits in report order and the
    /// output.
    pub fn run_to_end(&mut self) -> (Vec<Report>, String, String) {
        self.started();
        let mut exits = Vec::new();
        while let Some(report) = self.next_report() {
            exits.push(report);
        }
        assert_eq!(self.exit_code(), Some(0), "{exits:?}");
        let (stdout, stderr) = self.output();
        (exits, stdout, stderr)
    }

    fn describe(&mut self) -> String {
        let _ = self.child.kill();
        let (stdout, stderr) = self.output();
        format!("worker stdout: {stdout:?}, stderr: {stderr:?}")
    }
}

impl Drop for Init {
    /// A failed test leaves nothing running (with a new PID namespace, killing the outer
    /// stage kills the worker).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a pipe to its end in a thread.
fn collect(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

/// `/bin/sh -c script`, run from `/`.
pub fn sh(script: &str) -> ProgramSpec {
    ProgramSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: "/".into(),
    }
}

/// A spec without sandbox.
pub fn plain(programs: Vec<ProgramSpec>) -> InitSpec {
    InitSpec {
        sandbox: None,
        programs,
        environment: vec![("PATH".into(), "/usr/bin:/bin".into())],
    }
}

/// A spec with `sandbox`.
pub fn sandboxed(sandbox: SandboxSpec, programs: Vec<ProgramSpec>) -> InitSpec {
    InitSpec {
        sandbox: Some(sandbox),
        ..plain(programs)
    }
}

/// A sandbox on `root` with the host's system directories and nothing else, as [`USER`].
pub fn sandbox(root: &Path) -> SandboxSpec {
    let (binds, symlinks) = host_system();
    SandboxSpec {
        root_mount_point: root.to_path_buf(),
        binds,
        symlinks,
        files: vec![],
        tmp_size_mb: 16,
        uid: USER,
        gid: GROUP,
        hostname: "esb-test-worker".into(),
    }
}

/// The host's `/usr`, `/lib`, `/lib64`, `/bin`, `/sbin` as read-only binds, or as the same
/// symbolic links where the host has links (merged-/usr hosts such as Debian 12).
pub fn host_system() -> (Vec<Bind>, Vec<Symlink>) {
    let mut binds = Vec::new();
    let mut symlinks = Vec::new();
    for path in ["/usr", "/lib", "/lib64", "/bin", "/sbin"] {
        let Ok(meta) = fs::symlink_metadata(path) else {
            continue; // e.g. no /lib64 on some architectures
        };
        if meta.file_type().is_symlink() {
            symlinks.push(Symlink {
                link: path.into(),
                target: fs::read_link(path).unwrap(),
            });
        } else {
            binds.push(Bind {
                source: path.into(),
                target: path.into(),
                writable: false,
            });
        }
    }
    (binds, symlinks)
}

/// An argument no other process has: a `sleep` duration of a bit over 1000 s whose fraction
/// is unique, so the test can find its processes in `/proc` by their command line.
pub fn marker() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("1000.{:09}{:06}", nanos, std::process::id() % 1_000_000)
}

/// Host pids of the processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue; // gone meanwhile
        };
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            pids.push(pid);
        }
    }
    pids
}

/// Waits until some process has `marker` in its command line; returns their host pids.
pub fn wait_for_processes(marker: &str) -> Vec<i32> {
    wait_for_count(marker, 1)
}

/// Waits until at least `count` processes have `marker` in their command line.
pub fn wait_for_count(marker: &str, count: usize) -> Vec<i32> {
    let deadline = Instant::now() + STEP;
    loop {
        let pids = processes_with(marker);
        if pids.len() >= count {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "not {count} processes with {marker}: {pids:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Asserts that within `within` no process has `marker` in its command line.
pub fn assert_gone_within(marker: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let pids = processes_with(marker);
        if pids.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes {pids:?} with {marker} still run after {within:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// An empty directory for a sandbox root, removed at the end of the test.
pub fn root_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A host directory outside every path the sandboxes bind, and outside `/tmp` (which the
/// sandbox replaces anyway), for files the sandbox must not see.
pub fn host_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// A path as a string, for scripts.
pub fn text(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// `path` as a `PathBuf`.
pub fn path(path: &str) -> PathBuf {
    PathBuf::from(path)
}
