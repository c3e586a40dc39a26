//! The init's PID-1 duties: reports in order, the worker stopped by the box (socket closed) or
//! with the outer stage (SIGKILL), signals forwarded, cgroups joined, failures reported.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use esb_init::spec::Report;
use nix::sys::signal::Signal;

use crate::harness::{
    Init, assert_gone_within, marker, path, plain, processes_with, sh, wait_for_count,
    wait_for_processes,
};

const NEW_PID_NS: &[&str] = &["--new-pid-namespace"];

fn exited(program: usize, code: i32) -> Report {
    Report::Exited {
        program,
        code: Some(code),
        signal: None,
    }
}

/// `Started` first, then each program's exit with its index and code, in the order they end;
/// the init exits 0 after the last program (which here ends last).
fn reports_exits(args: &[&str]) {
    let spec = plain(vec![
        sh("exit 3"),
        sh("sleep 0.3; exit 5"),
        sh("sleep 0.6; echo runtime out; echo runtime err >&2; exit 7"),
    ]);
    let (exits, stdout, stderr) = Init::start(args, &spec).run_to_end();
    assert_eq!(exits, vec![exited(0, 3), exited(1, 5), exited(2, 7)]);
    assert_eq!(stdout, "runtime out\n");
    assert_eq!(stderr, "runtime err\n");
}

#[test]
fn reports_exits_in_a_new_pid_namespace() {
    reports_exits(NEW_PID_NS);
}

#[test]
fn reports_exits_without_a_new_pid_namespace() {
    reports_exits(&[]);
}

/// The runtime (last program) ending ends the worker: an extension still running is killed
/// and never reported.
fn runtime_end_kills_the_rest(args: &[&str]) {
    let marker = marker();
    let spec = plain(vec![
        sh(&format!("sleep {marker}")),
        sh("sleep 0.2; exit 4"),
    ]);
    let mut init = Init::start(args, &spec);
    init.started();
    assert_eq!(init.report(), exited(1, 4));
    assert_eq!(init.next_report(), None);
    assert_eq!(init.exit_code(), Some(0));
    assert_gone_within(&marker, Duration::from_secs(1));
}

#[test]
fn runtime_end_kills_the_rest_in_a_new_pid_namespace() {
    runtime_end_kills_the_rest(NEW_PID_NS);
}

#[test]
fn runtime_end_kills_the_rest_without_a_new_pid_namespace() {
    runtime_end_kills_the_rest(&[]);
}

/// Closing the box's end of the socket kills every process of the worker (a program and the
/// background child it started) within a second, and the init exits.
fn socket_close_stops_the_worker(args: &[&str]) {
    let marker = marker();
    let spec = plain(vec![sh(&format!("sleep {marker} & sleep {marker}"))]);
    let mut init = Init::start(args, &spec);
    init.started();
    let pids = wait_for_processes(&marker);
    assert!(!pids.is_empty());
    let closed = Instant::now();
    init.close_socket();
    init.wait_within(Duration::from_secs(1));
    assert_gone_within(
        &marker,
        Duration::from_secs(1).saturating_sub(closed.elapsed()),
    );
}

#[test]
fn socket_close_stops_the_worker_in_a_new_pid_namespace() {
    socket_close_stops_the_worker(NEW_PID_NS);
}

#[test]
fn socket_close_stops_the_worker_without_a_new_pid_namespace() {
    socket_close_stops_the_worker(&[]);
}

/// SIGKILL on the outer stage kills PID 1 (parent-death signal), hence the namespace.
#[test]
fn killing_the_outer_stage_leaves_nothing() {
    let marker = marker();
    let spec = plain(vec![sh(&format!("sleep {marker} & sleep {marker}"))]);
    let mut init = Init::start(NEW_PID_NS, &spec);
    init.started();
    wait_for_processes(&marker);
    init.signal(Signal::SIGKILL);
    init.wait_within(Duration::from_secs(1));
    assert_gone_within(&marker, Duration::from_secs(1));
}

/// SIGTERM to the init reaches the programs (through the outer stage and PID 1, which would
/// drop it without a handler); the runtime's trap decides its exit code.
#[test]
fn sigterm_is_forwarded_to_the_programs() {
    let marker = marker();
    let spec = plain(vec![sh(&format!(
        "trap 'exit 7' TERM; sleep {marker} & wait"
    ))]);
    let mut init = Init::start(NEW_PID_NS, &spec);
    init.started();
    // The shell's own command line has the marker too: the trap is set once a second
    // process (the sleep) has it.
    wait_for_count(&marker, 2);
    init.signal(Signal::SIGTERM);
    assert_eq!(init.report(), exited(0, 7));
    assert_eq!(init.exit_code(), Some(0));
    // The sleep, in the runtime's process group, got the signal too.
    assert_gone_within(&marker, Duration::from_secs(1));
}

/// A program killed by a signal is reported with the signal and no code.
#[test]
fn reports_a_signal() {
    let spec = plain(vec![sh("kill -9 $$")]);
    let (exits, _, _) = Init::start(NEW_PID_NS, &spec).run_to_end();
    assert_eq!(
        exits,
        vec![Report::Exited {
            program: 0,
            code: None,
            signal: Some(9),
        }]
    );
}

/// A program that cannot run: `Failed` naming it, exit 125, and what was already started is
/// killed.
fn spawn_failure(args: &[&str]) {
    let marker = marker();
    let spec = plain(vec![
        sh(&format!("sleep {marker}")),
        harness_program("/no/such/runtime"),
    ]);
    let mut init = Init::start(args, &spec);
    let message = init.failed();
    assert!(
        message.starts_with("cannot run /no/such/runtime: ENOENT"),
        "{message}"
    );
    assert_eq!(init.exit_code(), Some(125));
    assert_gone_within(&marker, Duration::from_secs(1));
}

fn harness_program(program: &str) -> esb_init::spec::ProgramSpec {
    esb_init::spec::ProgramSpec {
        program: program.into(),
        args: vec![],
        cwd: "/".into(),
    }
}

#[test]
fn spawn_failure_in_a_new_pid_namespace() {
    spawn_failure(NEW_PID_NS);
}

#[test]
fn spawn_failure_without_a_new_pid_namespace() {
    spawn_failure(&[]);
}

#[test]
fn missing_working_directory_is_named() {
    let mut program = sh("true");
    program.cwd = path("/no/such/dir");
    let mut init = Init::start(NEW_PID_NS, &plain(vec![program]));
    let message = init.failed();
    assert_eq!(
        message,
        "cannot run /bin/sh: working directory /no/such/dir: ENOENT: No such file or directory"
    );
    assert_eq!(init.exit_code(), Some(125));
}

/// A non-blocking socket (the spec arriving late) works like a blocking one.
#[test]
fn nonblocking_socket() {
    let mut init = Init::spawn(NEW_PID_NS, true);
    thread::sleep(Duration::from_millis(200));
    init.send_line(&serde_json::to_string(&plain(vec![sh("sleep 0.2; exit 6")])).unwrap());
    let (exits, _, _) = init.run_to_end();
    assert_eq!(exits, vec![exited(0, 6)]);
}

#[test]
fn bad_spec_line_fails() {
    for args in [NEW_PID_NS, &[]] {
        let mut init = Init::start_with_line(args, "{\"programs\": 3}");
        let message = init.failed();
        assert!(message.starts_with("bad spec line: "), "{message}");
        assert_eq!(init.exit_code(), Some(125));
    }
}

#[test]
fn no_program_fails() {
    let mut init = Init::start(NEW_PID_NS, &plain(vec![]));
    assert_eq!(init.failed(), "the spec names no program to run");
    assert_eq!(init.exit_code(), Some(125));
}

#[test]
fn bad_arguments_exit_2() {
    let mut init = Init::start(&["--frobnicate"], &plain(vec![sh("true")]));
    assert_eq!(init.next_report(), None);
    assert_eq!(init.exit_code(), Some(2));
    let (_, stderr) = init.output();
    assert!(
        stderr.contains("unknown argument \"--frobnicate\""),
        "{stderr}"
    );
}

/// A cgroup this test creates, removed at the end (once its processes are gone).
struct TestCgroup(PathBuf);

impl TestCgroup {
    /// Under the v1 `pids` hierarchy when the host has one (this CI), else under the v2 root.
    fn create() -> TestCgroup {
        let name = format!("esb-init-test-{}-{}", std::process::id(), marker());
        let parent = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
            .into_iter()
            .map(Path::new)
            .find(|dir| dir.join("cgroup.procs").exists())
            .expect("no cgroup hierarchy under /sys/fs/cgroup");
        let dir = parent.join(name);
        fs::create_dir(&dir).unwrap();
        TestCgroup(dir)
    }

    fn procs(&self) -> PathBuf {
        self.0.join("cgroup.procs")
    }

    fn members(&self) -> Vec<i32> {
        fs::read_to_string(self.procs())
            .unwrap()
            .lines()
            .map(|line| line.parse().unwrap())
            .collect()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // EBUSY until the killed processes are fully gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::remove_dir(&self.0).is_err() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `--cgroup`: the init joins the cgroup before starting anything, so the programs are in it.
#[test]
fn programs_run_in_the_given_cgroup() {
    let cgroup = TestCgroup::create();
    let marker = marker();
    let procs = cgroup.procs();
    let args = ["--cgroup", procs.to_str().unwrap(), "--new-pid-namespace"];
    let mut init = Init::start(&args, &plain(vec![sh(&format!("sleep {marker}"))]));
    init.started();
    let members = cgroup.members();
    assert!(members.contains(&init.pid()), "{members:?}");
    for pid in wait_for_processes(&marker) {
        assert!(members.contains(&pid) || cgroup.members().contains(&pid));
    }
    init.close_socket();
    assert_eq!(init.exit_code(), Some(0));
    assert_gone_within(&marker, Duration::from_secs(1));
}

#[test]
fn unwritable_cgroup_fails() {
    let mut init = Init::start(
        &["--cgroup", "/no/such/cgroup.procs", "--new-pid-namespace"],
        &plain(vec![sh("true")]),
    );
    assert_eq!(
        init.failed(),
        "cannot join cgroup /no/such/cgroup.procs: ENOENT: No such file or directory"
    );
    assert_eq!(init.exit_code(), Some(125));
    assert!(processes_with("/no/such/cgroup.procs").is_empty());
}
