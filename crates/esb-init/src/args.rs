//! The init's command line: what the box passes (`--cgroup`, `--new-pid-namespace`) and what
//! the outer stage passes to itself when it re-executes as PID 1 (`--pid1 --outer-pid <pid>`).

use std::ffi::OsString;
use std::path::PathBuf;

/// The parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `cgroup.procs` files the init writes its own pid into before starting anything.
    pub cgroups: Vec<PathBuf>,
    /// Run the programs as PID 1 of a new PID namespace (the outer stage re-executes itself).
    pub new_pid_namespace: bool,
    /// Internal: this process is the re-executed PID-1 stage, the child of the outer stage whose
    /// pid (as the outer stage sees it) is given.
    pub pid1: Option<Pid1Args>,
}

/// What the outer stage tells the PID-1 stage it re-executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pid1Args {
    /// The outer stage's pid in its own namespace. `getppid()` cannot check the parent from
    /// inside the new namespace (it returns 0 there), so the PID-1 stage compares this with its
    /// parent as `/proc` (still the outer namespace's proc at that point) sees it.
    pub outer_pid: i32,
}

/// A command line the init does not understand (exit code 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("--outer-pid: not a pid: {0:?}")]
    BadPid(OsString),
    #[error("--outer-pid only goes with --pid1, and --pid1 needs it")]
    Pid1WithoutOuter,
    #[error("unknown argument {0:?} (usage: [--cgroup <cgroup.procs>]… [--new-pid-namespace])")]
    Unknown(OsString),
}

impl Args {
    /// Parses the arguments that follow the program name and the re-invocation words.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, ArgsError> {
        let mut parsed = Args::default();
        let mut pid1 = false;
        let mut outer_pid = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--cgroup") => {
                    let path = args.next().ok_or(ArgsError::MissingValue("--cgroup"))?;
                    parsed.cgroups.push(PathBuf::from(path));
                }
                Some("--new-pid-namespace") => parsed.new_pid_namespace = true,
                Some("--pid1") => pid1 = true,
                Some("--outer-pid") => {
                    let value = args.next().ok_or(ArgsError::MissingValue("--outer-pid"))?;
                    let pid = value
                        .to_str()
                        .and_then(|v| v.parse::<i32>().ok())
                        .filter(|pid| *pid > 0)
                        .ok_or_else(|| ArgsError::BadPid(value.clone()))?;
                    outer_pid = Some(pid);
                }
                _ => return Err(ArgsError::Unknown(arg)),
            }
        }
        parsed.pid1 = match (pid1, outer_pid) {
            (true, Some(outer_pid)) => Some(Pid1Args { outer_pid }),
            (false, None) => None,
            _ => return Err(ArgsError::Pid1WithoutOuter),
        };
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().map(OsString::from))
    }

    #[test]
    fn box_arguments() {
        let args = parse(&[
            "--cgroup",
            "/a/cgroup.procs",
            "--new-pid-namespace",
            "--cgroup",
            "/b",
        ]);
        assert_eq!(
            args,
            Ok(Args {
                cgroups: vec![PathBuf::from("/a/cgroup.procs"), PathBuf::from("/b")],
                new_pid_namespace: true,
                pid1: None,
            })
        );
        assert_eq!(parse(&[]), Ok(Args::default()));
    }

    #[test]
    fn pid1_arguments() {
        let args = parse(&["--pid1", "--outer-pid", "42"]);
        assert_eq!(args.map(|a| a.pid1), Ok(Some(Pid1Args { outer_pid: 42 })));
        assert_eq!(parse(&["--pid1"]), Err(ArgsError::Pid1WithoutOuter));
        assert_eq!(
            parse(&["--outer-pid", "42"]),
            Err(ArgsError::Pid1WithoutOuter)
        );
        assert_eq!(
            parse(&["--pid1", "--outer-pid", "x"]),
            Err(ArgsError::BadPid("x".into()))
        );
    }

    #[test]
    fn bad_arguments() {
        assert_eq!(
            parse(&["--cgroup"]),
            Err(ArgsError::MissingValue("--cgroup"))
        );
        assert_eq!(parse(&["-x"]), Err(ArgsError::Unknown("-x".into())));
    }
}
