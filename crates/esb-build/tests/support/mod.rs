//! Helpers shared by the tests that build the projects under `examples/`.

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the example's sources (not `.esb/` or a `target/`) into `to`.
pub fn copy_project(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".esb" && e.file_name() != "target")
    {
        let entry = entry.expect("walk example");
        let target = to.join(entry.path().strip_prefix(from).expect("inside example"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Points the project's cargo target directory at one kept between test runs.
#[cfg(unix)]
pub fn share_cargo_target_dir(project: &Path) {
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hello-rust-cargo-target");
    std::fs::create_dir_all(&shared).expect("mkdir shared target");
    let cache = project.join(".esb/cache");
    std::fs::create_dir_all(&cache).expect("mkdir cache");
    std::os::unix::fs::symlink(&shared, cache.join("cargo-target")).expect("symlink");
}

#[cfg(not(unix))]
pub fn share_cargo_target_dir(_project: &Path) {}
