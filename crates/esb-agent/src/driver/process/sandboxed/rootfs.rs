//! What a sandboxed worker's root file system holds, as Lambda's does: the host's system
//! directories read-only (the stand-in for Lambda's Amazon Linux image), the few files of
//! `/etc` programs need, the runtime's own directories read-only at their host paths, the
//! function's code at `/var/task` and layers at `/opt` read-only. The init adds a private
//! `/tmp`, `/proc` and a minimal `/dev`. Nothing else of the host is there: not the box's data
//! or state directories, not `~/.esb`, not other functions' code.

use std::path::{Path, PathBuf};

use esb_init::spec::{Bind, File, SandboxSpec, Symlink};

use crate::driver::{LAMBDA_OPT_DIR, LAMBDA_TASK_ROOT, Mounts};

/// Lambda's sandbox user: `sbx_user1051`, uid 993, gid 990.
pub(crate) const SANDBOX_UID: u32 = 993;
pub(crate) const SANDBOX_GID: u32 = 990;

/// The host's operating-system directories, shown read-only.
const SYSTEM_DIRS: [&str; 7] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
];

/// The parts of the host's `/etc` that programs read (TLS roots, the dynamic linker's cache,
/// name-service and time-zone data); no credentials live in any of them.
const ETC_ENTRIES: [&str; 13] = [
    "/etc/alternatives",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/mime.types",
    "/etc/os-release",
];

/// The sandbox of one worker.
pub(super) fn sandbox_spec(
    mounts: &Mounts,
    tmp_size_mb: u32,
    root_mount_point: &Path,
    resolver: Option<&str>,
) -> SandboxSpec {
    let mut binds = Vec::new();
    let mut symlinks = Vec::new();
    for dir in SYSTEM_DIRS.iter().chain(&ETC_ENTRIES).map(Path::new) {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir) {
                    symlinks.push(Symlink {
                        link: dir.to_path_buf(),
                        target,
                    });
                }
            }
            Ok(_) => binds.push(read_only(dir, dir)),
            Err(_) => {}
        }
    }
    // The runtime's own directories, unless a system directory already shows them.
    let shown = |path: &Path| SYSTEM_DIRS.iter().any(|dir| path.starts_with(dir));
    let mut runtime: Vec<&PathBuf> = mounts.runtime.iter().filter(|p| !shown(p)).collect();
    runtime.sort();
    runtime.dedup();
    for dir in runtime {
        binds.push(read_only(dir, dir));
    }
    binds.push(read_only(&mounts.task_root, Path::new(LAMBDA_TASK_ROOT)));
    if mounts.opt_dir.is_dir() {
        binds.push(read_only(&mounts.opt_dir, Path::new(LAMBDA_OPT_DIR)));
    }
    SandboxSpec {
        root_mount_point: root_mount_point.to_path_buf(),
        binds,
        symlinks,
        files: etc_files(resolver),
        tmp_size_mb,
        uid: SANDBOX_UID,
        gid: SANDBOX_GID,
        hostname: "localhost".to_string(),
    }
}

fn read_only(source: &Path, target: &Path) -> Bind {
    Bind {
        source: source.to_path_buf(),
        target: target.to_path_buf(),
        writable: false,
    }
}

/// `/etc/passwd`, `/etc/group`, `/etc/hosts` and (with outbound network) `/etc/resolv.conf`
/// of the sandbox, not the host's.
fn etc_files(resolver: Option<&str>) -> Vec<File> {
    let file = |path: &str, contents: String| File {
        path: path.into(),
        contents,
        mode: 0o644,
    };
    vec![
        file(
            "/etc/passwd",
            format!(
                "root:x:0:0:root:/root:/sbin/nologin\n\
                 sbx_user1051:x:{SANDBOX_UID}:{SANDBOX_GID}::/home/sbx_user1051:/sbin/nologin\n"
            ),
        ),
        file(
            "/etc/group",
            format!("root:x:0:\nsbx_user1051:x:{SANDBOX_GID}:\n"),
        ),
        file(
            "/etc/hosts",
            "127.0.0.1 localhost\n::1 localhost\n".to_string(),
        ),
    ]
    .into_iter()
    .chain(resolver.map(|ip| file("/etc/resolv.conf", format!("nameserver {ip}\n"))))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_layers_and_runtime_are_read_only_and_nothing_else_of_the_host_is_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = dir.path().join("task");
        let opt = dir.path().join("opt");
        std::fs::create_dir_all(&task).expect("task");
        std::fs::create_dir_all(&opt).expect("opt");
        let mounts = Mounts {
            task_root: task.clone(),
            opt_dir: opt.clone(),
            runtime: vec![
                "/root/.esb/runtimes/python3.12".into(),
                "/usr/lib/node".into(),
            ],
        };
        let spec = sandbox_spec(&mounts, 512, Path::new("/run/esb/root"), Some("10.0.2.3"));
        assert!(spec.binds.iter().all(|b| !b.writable), "all read-only");
        let target = |source: &Path| {
            spec.binds
                .iter()
                .find(|b| b.source == source)
                .map(|b| b.target.clone())
        };
        assert_eq!(target(&task), Some(PathBuf::from("/var/task")));
        assert_eq!(target(&opt), Some(PathBuf::from("/opt")));
        let esb = Path::new("/root/.esb/runtimes/python3.12");
        assert_eq!(target(esb), Some(esb.to_path_buf()));
        assert_eq!(target(Path::new("/usr/lib/node")), None, "/usr shows it");
        assert!(
            spec.binds
                .iter()
                .all(|b| !b.source.starts_with("/root/.esb/certs")
                    && b.source != Path::new("/root")
                    && b.source != Path::new("/etc")
                    && b.source != Path::new("/tmp")),
            "{:?}",
            spec.binds
        );
        assert_eq!(spec.uid, 993);
        assert_eq!(spec.tmp_size_mb, 512);
        let passwd = spec
            .files
            .iter()
            .find(|f| f.path == Path::new("/etc/passwd"))
            .expect("passwd");
        assert!(passwd.contents.contains("sbx_user1051:x:993:990"));
        let resolv = spec
            .files
            .iter()
            .find(|f| f.path == Path::new("/etc/resolv.conf"));
        assert_eq!(
            resolv.map(|f| f.contents.as_str()),
            Some("nameserver 10.0.2.3\n")
        );
    }
}
