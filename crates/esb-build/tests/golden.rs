//! Golden tests: `esb build` on each project under `examples/` must write exactly the
//! `functions.yml`, `routing.yml` and `resources.yml` stored in `tests/golden/<example>/`.
//! After an intended change, regenerate them with `UPDATE_GOLDEN=1 cargo test -p esb-build
//! --test golden` and review the diff.

use std::path::Path;

use esb_build::{BuildOptions, BuildRequest, build};

mod support;

use support::{copy_project, repo_root, share_cargo_target_dir};

const CONFIG_FILES: [&str; 3] = ["functions.yml", "routing.yml", "resources.yml"];

fn check_example(name: &str) {
    let example = repo_root().join("examples").join(name);
    let project = tempfile::tempdir().expect("temp dir");
    copy_project(&example, project.path());
    if name.contains("rust") {
        share_cargo_target_dir(project.path());
    }
    build(&BuildRequest {
        template: project.path().join("template.yaml"),
        input: Default::default(),
        options: BuildOptions::default(),
    })
    .unwrap_or_else(|e| panic!("example {name} should build: {e}"));

    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for file in CONFIG_FILES {
        let written = std::fs::read_to_string(project.path().join(".esb/config").join(file))
            .unwrap_or_else(|e| panic!("{name}: {file} was not written: {e}"));
        let golden_path = golden_dir.join(file);
        if update {
            std::fs::create_dir_all(&golden_dir).expect("mkdir golden");
            std::fs::write(&golden_path, &written).expect("write golden");
            continue;
        }
        let golden = std::fs::read_to_string(&golden_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
                golden_path.display()
            )
        });
        assert_eq!(
            written,
            golden,
            "{name}/{file} differs from {}",
            golden_path.display()
        );
    }
}

#[test]
fn hello_python_artifacts_match_golden_files() {
    check_example("hello-python");
}

/// Needs cargo and crates.io (or a warm cargo registry cache): the function is compiled.
#[test]
fn hello_rust_artifacts_match_golden_files() {
    check_example("hello-rust");
}
