//! Builds a worker's sandbox in the init's own process before any program runs: new mount, UTS
//! and IPC namespaces, a read-only tmpfs root holding only what [`SandboxSpec`] names, a private
//! `/tmp`, `/proc` and a minimal `/dev`. The network namespace is the box's business.
//!
//! `/proc` is a fresh proc mount. Under `--new-pid-namespace` (what the box uses) it shows only
//! the worker's processes; without it, it shows every process of the init's PID namespace,
//! which is acceptable for that mode (the programs still run as an unprivileged user).
//!
//! `/tmp` is mounted before the binds, symlinks and files, so that what the spec puts under
//! `/tmp` (a runtime that lives under the host's temporary directory) lands inside it; `/proc`
//! and `/dev` are mounted after them and hide anything the spec puts there.

mod mountinfo;

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{chdir, pivot_root, sethostname};

use crate::errno_of;
use crate::spec::{Bind, File, SandboxSpec, Symlink};

/// Why the sandbox could not be set up; the message goes to the box in a `Failed` report.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the sandbox does not run programs as root (uid {uid}, gid {gid})")]
    Root { uid: u32, gid: u32 },
    #[error("tmp_size_mb is 0 (a tmpfs of size 0 would be unlimited)")]
    NoTmp,
    #[error("{}: {why}", path.display())]
    Path { path: PathBuf, why: &'static str },
    #[error("cannot {what}: {errno}")]
    Sys { what: String, errno: Errno },
}

/// Device nodes of the host shown in the sandbox's `/dev` (`tty` only when the host has one).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Links of the sandbox's `/dev` into its `/proc`.
const DEV_LINKS: [(&str, &str); 4] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// Checks the spec, then moves the calling process into the sandbox: on success its root and
/// working directory are the sandbox's `/`. Call it before the process has any other thread:
/// namespaces and the root directory are per thread until then shared by the threads spawned.
pub fn enter(spec: &SandboxSpec) -> Result<(), SandboxError> {
    check(spec)?;
    // Directories created below are 0755 whatever umask the box runs with.
    umask(Mode::from_bits_truncate(0o022));
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC)
        .what(|| "unshare the mount, UTS and IPC namespaces".into())?;
    // Private, so no mount below propagates to the host and `pivot_root` is allowed.
    mount_flags("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE)
        .what(|| "make every mount private".into())?;
    sethostname(&spec.hostname).what(|| format!("set the hostname {:?}", spec.hostname))?;

    let root = fs::canonicalize(&spec.root_mount_point).what(|| {
        format!(
            "find the root mount point {}",
            spec.root_mount_point.display()
        )
    })?;
    tmpfs(&root, MsFlags::MS_NOSUID | MsFlags::MS_NODEV, "mode=0755")
        .what(|| format!("mount the root tmpfs on {}", root.display()))?;
    add_tmp(&root, spec.tmp_size_mb)?;
    for bind in &spec.binds {
        add_bind(&root, bind)?;
    }
    for link in &spec.symlinks {
        add_symlink(&root, link)?;
    }
    for file in &spec.files {
        add_file(&root, file)?;
    }
    add_proc(&root)?;
    add_dev(&root)?;
    switch_root(&root)
}

/// Refuses what must never run, before anything is changed.
fn check(spec: &SandboxSpec) -> Result<(), SandboxError> {
    if spec.uid == 0 || spec.gid == 0 {
        return Err(SandboxError::Root {
            uid: spec.uid,
            gid: spec.gid,
        });
    }
    if spec.tmp_size_mb == 0 {
        return Err(SandboxError::NoTmp);
    }
    let paths = (spec.binds.iter().map(|b| &b.target))
        .chain(spec.symlinks.iter().map(|s| &s.link))
        .chain(spec.files.iter().map(|f| &f.path));
    for path in paths {
        let mut names = 0;
        for component in path.components() {
            match component {
                Component::RootDir => {}
                Component::Normal(_) => names += 1,
                _ => {
                    return Err(SandboxError::Path {
                        path: path.clone(),
                        why: "a sandbox path must be absolute, without `..`",
                    });
                }
            }
        }
        if !path.is_absolute() || names == 0 {
            return Err(SandboxError::Path {
                path: path.clone(),
                why: "a sandbox path must be absolute and not `/` itself",
            });
        }
    }
    Ok(())
}

/// The host path of sandbox path `path` (checked by [`check`]) under the new root. Refuses a
/// path that is or goes through an existing symbolic link: until `pivot_root` an absolute link
/// would resolve on the host, and the init (root) would create or mount host files.
fn inside(root: &Path, path: &Path) -> Result<PathBuf, SandboxError> {
    let mut host = root.to_path_buf();
    for component in path.components() {
        if let Component::Normal(name) = component {
            host.push(name);
            if fs::symlink_metadata(&host).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(SandboxError::Path {
                    path: path.to_path_buf(),
                    why: "is or goes through a symbolic link in the sandbox",
                });
            }
        }
    }
    Ok(host)
}

fn add_bind(root: &Path, bind: &Bind) -> Result<(), SandboxError> {
    let what = || {
        format!(
            "bind {} on {}",
            bind.source.display(),
            bind.target.display()
        )
    };
    let source = fs::metadata(&bind.source).what(what)?;
    let target = inside(root, &bind.target)?;
    if source.is_dir() {
        fs::create_dir_all(&target).what(what)?;
    } else {
        create_empty_file(&target).what(what)?;
    }
    mount(
        Some(&bind.source),
        &target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .what(what)?;
    if !bind.writable {
        mountinfo::remount_read_only(&target)
            .what(|| format!("make {} read-only", bind.target.display()))?;
    }
    Ok(())
}

fn add_symlink(root: &Path, link: &Symlink) -> Result<(), SandboxError> {
    let path = inside(root, &link.link)?;
    create_parent(&path)
        .and_then(|()| symlink(&link.target, &path))
        .what(|| {
            format!(
                "create the symbolic link {} -> {}",
                link.link.display(),
                link.target.display()
            )
        })
}

fn add_file(root: &Path, file: &File) -> Result<(), SandboxError> {
    let path = inside(root, &file.path)?;
    let mode = file.mode & 0o7777;
    let write = || -> io::Result<()> {
        create_parent(&path)?;
        // `create_new`: never overwrite anything, e.g. a file of a writable bind on the host.
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)?;
        out.write_all(file.contents.as_bytes())?;
        // The mode as given, not as the umask left it.
        out.set_permissions(fs::Permissions::from_mode(mode))
    };
    write().what(|| format!("write {}", file.path.display()))
}

fn add_tmp(root: &Path, size_mb: u32) -> Result<(), SandboxError> {
    let tmp = inside(root, Path::new("/tmp"))?;
    fs::create_dir_all(&tmp)
        .what(|| "create /tmp".into())
        .and_then(|()| {
            tmpfs(
                &tmp,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                &format!("size={size_mb}m,mode=1777"),
            )
            .what(|| format!("mount a {size_mb} MiB tmpfs on /tmp"))
        })
}

fn add_proc(root: &Path) -> Result<(), SandboxError> {
    let proc = inside(root, Path::new("/proc"))?;
    fs::create_dir_all(&proc)
        .what(|| "create /proc".into())
        .and_then(|()| {
            mount(
                Some("proc"),
                &proc,
                Some("proc"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            )
            .what(|| "mount /proc".into())
        })
}

fn add_dev(root: &Path) -> Result<(), SandboxError> {
    let dev = inside(root, Path::new("/dev"))?;
    fs::create_dir_all(&dev).what(|| "create /dev".into())?;
    tmpfs(&dev, MsFlags::MS_NOSUID, "mode=0755").what(|| "mount a tmpfs on /dev".into())?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        let what = || format!("bind {} on {}", host.display(), host.display());
        match fs::metadata(&host) {
            Err(error) if name == "tty" && error.kind() == io::ErrorKind::NotFound => continue,
            other => other.what(what)?,
        };
        // A bind, not mknod: it works wherever the host's own /dev does, and keeps the host's
        // permissions on the node.
        let node = dev.join(name);
        create_empty_file(&node).what(what)?;
        mount(
            Some(&host),
            &node,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .what(what)?;
    }
    for (name, target) in DEV_LINKS {
        symlink(target, dev.join(name))
            .what(|| format!("create the symbolic link /dev/{name} -> {target}"))?;
    }
    Ok(())
}

/// Makes `root` the process's `/`, drops every view of the host, and makes `/` read-only so
/// the programs can write only to `/tmp` and to writable binds.
fn switch_root(root: &Path) -> Result<(), SandboxError> {
    const OLD_ROOT: &str = "/.old-root";
    let old_root = root.join(&OLD_ROOT[1..]);
    fs::create_dir(&old_root).what(|| format!("create {OLD_ROOT}"))?;
    pivot_root(root, &old_root).what(|| format!("pivot_root to {}", root.display()))?;
    chdir("/").what(|| "change directory to the new /".into())?;
    umount2(OLD_ROOT, MntFlags::MNT_DETACH).what(|| "unmount the host's root".into())?;
    fs::remove_dir(OLD_ROOT).what(|| format!("remove {OLD_ROOT}"))?;
    mount_flags(
        "/",
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
    )
    .what(|| "make / read-only".into())
}

/// Mounts a new tmpfs on `target`.
fn tmpfs(target: &Path, flags: MsFlags, options: &str) -> nix::Result<()> {
    mount(Some("tmpfs"), target, Some("tmpfs"), flags, Some(options))
}

/// Changes the flags of the mount on `target` (remount or propagation change).
fn mount_flags(target: &str, flags: MsFlags) -> nix::Result<()> {
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// An empty file to bind a file on, unless something is already there (the mount then says
/// whether it fits).
fn create_empty_file(path: &Path) -> io::Result<()> {
    create_parent(path)?;
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)
            .map(drop),
        Err(error) => Err(error),
    }
}

/// Turns a system error into a [`SandboxError`] saying what was being done.
trait What<T> {
    fn what(self, what: impl FnOnce() -> String) -> Result<T, SandboxError>;
}

impl<T> What<T> for nix::Result<T> {
    fn what(self, what: impl FnOnce() -> String) -> Result<T, SandboxError> {
        self.map_err(|errno| SandboxError::Sys {
            what: what(),
            errno,
        })
    }
}

impl<T> What<T> for io::Result<T> {
    fn what(self, what: impl FnOnce() -> String) -> Result<T, SandboxError> {
        self.map_err(|error| SandboxError::Sys {
            what: what(),
            errno: errno_of(&error),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            root_mount_point: "/nonexistent".into(),
            binds: vec![],
            symlinks: vec![],
            files: vec![],
            tmp_size_mb: 512,
            uid: 993,
            gid: 990,
            hostname: "h".into(),
        }
    }

    fn file(path: &str) -> File {
        File {
            path: path.into(),
            contents: String::new(),
            mode: 0o644,
        }
    }

    #[test]
    fn refuses_root_and_unlimited_tmp() {
        let root = SandboxSpec { uid: 0, ..spec() };
        assert_eq!(
            check(&root).map_err(|e| e.to_string()),
            Err("the sandbox does not run programs as root (uid 0, gid 990)".into())
        );
        let no_tmp = SandboxSpec {
            tmp_size_mb: 0,
            ..spec()
        };
        assert!(matches!(check(&no_tmp), Err(SandboxError::NoTmp)));
        assert!(check(&spec()).is_ok());
    }

    #[test]
    fn refuses_paths_that_leave_the_root() {
        for bad in ["etc/passwd", "/", "/etc/../x", "./etc"] {
            let with_file = SandboxSpec {
                files: vec![file(bad)],
                ..spec()
            };
            assert!(
                matches!(check(&with_file), Err(SandboxError::Path { .. })),
                "{bad}"
            );
        }
        let good = SandboxSpec {
            files: vec![file("/etc/passwd")],
            ..spec()
        };
        assert!(check(&good).is_ok());
    }

    #[test]
    fn inside_refuses_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        symlink("/etc", dir.path().join("etc")).unwrap();
        assert!(matches!(
            inside(dir.path(), Path::new("/etc/passwd")),
            Err(SandboxError::Path { .. })
        ));
        assert_eq!(
            inside(dir.path(), Path::new("/var/task")).ok(),
            Some(dir.path().join("var/task"))
        );
    }

    #[test]
    fn messages_name_the_errno() {
        let error = Err::<(), _>(io::Error::from_raw_os_error(2))
            .what(|| "bind /x on /var/task".into())
            .map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err("cannot bind /x on /var/task: ENOENT: No such file or directory".into())
        );
    }
}
