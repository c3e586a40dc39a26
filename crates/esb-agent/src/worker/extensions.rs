//! External extensions of a worker: every executable file in `<opt_dir>/extensions/` (AWS's
//! `/opt/extensions/`) runs as its own program of the worker, started before the runtime, with
//! the runtime's environment and the opt dir as working directory.

use std::path::{Path, PathBuf};

/// The extension executables under `opt_dir`, by file name.
pub(super) fn discover(opt_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(opt_dir.join("extensions")) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_executable(path))
        .collect();
    found.sort();
    found
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_executable_files_are_extensions() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(dir) = tempfile::tempdir() else {
            return;
        };
        let extensions = dir.path().join("extensions");
        std::fs::create_dir_all(extensions.join("subdir")).ok();
        for (name, mode) in [("b-ext", 0o755), ("a-ext", 0o700), ("data.txt", 0o644)] {
            let path = extensions.join(name);
            std::fs::write(&path, "#!/bin/sh\n").ok();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).ok();
        }
        let found = discover(dir.path());
        assert_eq!(
            found,
            vec![extensions.join("a-ext"), extensions.join("b-ext")]
        );
        assert!(discover(&dir.path().join("missing")).is_empty());
    }
}
