//! Knowing for certain which process is the running box, and signalling only that one.
//!
//! A pid alone proves nothing: after the box dies (even by `kill -9`) its pid can be reused by
//! any process. So the box holds an exclusive lock on `.esb/run/lock` while it runs (the kernel
//! drops it when the box dies, however it dies), and the state file records the pid together
//! with the process's start time. A state file names the box only while its lock is held and the
//! pid's start time still matches; a signal goes through a pidfd opened before that check, so it
//! reaches the very process that was checked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

/// The lock a running box holds for its whole life; dropping it releases it.
#[derive(Debug)]
pub struct BoxLock {
    _file: File,
}

pub fn lock_path(run_dir: &Path) -> PathBuf {
    run_dir.join("lock")
}

impl BoxLock {
    /// Takes the lock, or `None` when another process holds it (a box is running).
    pub fn acquire(run_dir: &Path) -> io::Result<Option<BoxLock>> {
        std::fs::create_dir_all(run_dir)?;
        let file = open_lock_file(run_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(BoxLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// Whether some process (this one included, through another open) holds the lock now.
    pub fn is_held(run_dir: &Path) -> bool {
        let Ok(file) = open_lock_file(run_dir) else {
            return false;
        };
        // Locks taken through different opens conflict even within one process, so this
        // probe fails while the box holds its lock, and releases at once when it succeeds.
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }
}

fn open_lock_file(run_dir: &Path) -> io::Result<File> {
    // std opens with O_CLOEXEC: workers the box execs never inherit (and so never keep) the lock.
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(run_dir))
}

/// When the process started, in clock ticks since boot (`/proc/<pid>/stat` field 22), or
/// `None` when no such process is running (a zombie counts as gone).
pub fn start_time(pid: u32) -> Option<u64> {
    stat_start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn stat_start_time(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces or ')': the fields
    // that follow start after its last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?; // field 3
    if state == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok() // field 22
}

/// The process with this pid and start time, held by a pidfd so that a signal cannot reach a
/// process that took over the pid afterwards.
#[derive(Debug)]
pub struct BoxProcess {
    pid: u32,
    pidfd: OwnedFd,
}

impl BoxProcess {
    /// The process, when one with this pid and this start time is running.
    pub fn find(pid: u32, started: u64) -> Option<BoxProcess> {
        let raw = Pid::from_raw(i32::try_from(pid).ok()?)?;
        let pidfd = pidfd_open(raw, PidfdFlags::empty()).ok()?;
        // Checked after the pidfd is open: if the pid was reused before the open, the start
        // time differs; if the process dies after this check, the pidfd still names it and a
        // signal to it fails instead of reaching a newcomer.
        (start_time(pid) == Some(started)).then_some(BoxProcess { pid, pidfd })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal`; `false` when the process has already exited.
    pub fn signal(&self, signal: Signal) -> bool {
        pidfd_send_signal(&self.pidfd, signal).is_ok()
    }

    /// Whether the process is still running: its pidfd turns readable when it exits.
    pub fn is_running(&self) -> bool {
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&now)).is_ok_and(|ready| ready == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!BoxLock::is_held(dir.path()));
        let lock = BoxLock::acquire(dir.path())
            .expect("lock file")
            .expect("free lock");
        assert!(BoxLock::is_held(dir.path()));
        assert!(BoxLock::acquire(dir.path()).expect("lock file").is_none());
        drop(lock);
        assert!(!BoxLock::is_held(dir.path()));
    }

    #[test]
    fn a_process_is_found_only_with_its_own_start_time() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let started = start_time(child.id()).expect("sleep is running");
        assert!(BoxProcess::find(child.id(), started + 1).is_none());
        let process = BoxProcess::find(child.id(), started).expect("same start time");
        assert!(process.is_running());
        assert!(process.signal(Signal::TERM));
        child.wait().expect("reaped");
        assert!(!process.is_running());
        // Reaped: the pidfd still names the old process, so nothing else can be signalled.
        assert!(!process.signal(Signal::TERM));
        assert!(start_time(child.id()).is_none());
    }

    #[test]
    fn start_time_reads_past_a_command_name_with_spaces_and_parentheses() {
        let rest = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 19 20";
        assert_eq!(stat_start_time(&format!("77 (a) b) {rest}")), Some(4242));
        assert_eq!(
            stat_start_time(&format!("77 (esb) {}", rest.replacen('S', "Z", 1))),
            None
        );
        assert_eq!(stat_start_time("77 (esb"), None);
        assert!(start_time(std::process::id()).is_some());
        assert!(start_time(u32::MAX).is_none());
    }
}
