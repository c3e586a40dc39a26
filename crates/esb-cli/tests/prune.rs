//! `esb prune`: what it deletes for each flag, what it keeps, and that it asks first.

mod support;

use predicates::prelude::*;
use support::project::esb_command_in_home as esb;

/// A built project whose box ran and stopped: its state, data and logs are left behind.
fn stopped_project() -> tempfile::TempDir {
    let dir = support::project::hello_project(&[
        ("generator.yml", "app:\n  tag: v1\n"),
        // A box that died: its state names a pid, but no process holds the box's lock.
        (
            ".esb/run/state.json",
            r#"{"pid": 1, "started": 1, "url": "http://127.0.0.1:1", "addr": "127.0.0.1:1", "admin": "127.0.0.1:2"}"#,
        ),
        (".esb/run/esb.log", "a log\n"),
        (".esb/data/s3/bucket/key", "object"),
        (".esb/logs/functions.log", "{}\n"),
    ]);
    support::project::esb_command(dir.path())
        .arg("build")
        .assert()
        .success();
    dir
}

#[test]
fn prune_removes_the_build_and_a_stopped_boxs_state_and_keeps_the_rest() {
    let home = tempfile::tempdir().expect("home");
    let dir = stopped_project();
    let root = dir.path();
    esb(root, home.path())
        .args(["prune", "--yes"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("removed .esb/config")
                .and(predicate::str::contains("removed .esb/functions"))
                .and(predicate::str::contains("removed .esb/run"))
                .and(predicate::str::contains("ok: freed")),
        );
    for gone in [".esb/config", ".esb/functions", ".esb/run"] {
        assert!(!root.join(gone).exists(), "{gone} is pruned");
    }
    for kept in [
        ".esb/data/s3/bucket/key",
        ".esb/logs/functions.log",
        "generator.yml",
        "template.yaml",
        "hello/app.py",
    ] {
        assert!(root.join(kept).exists(), "{kept} is kept");
    }
}

#[test]
fn volumes_hard_and_all_remove_data_generator_yml_and_the_runtimes() {
    let home = tempfile::tempdir().expect("home");
    for (path, content) in [
        ("runtimes/python3.12/bin/python", "#!"),
        ("certs/ca.pem", "CA"),
    ] {
        let path = home.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    let dir = stopped_project();
    let root = dir.path();
    esb(root, home.path())
        .args(["prune", "--yes", "--volumes"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("removed .esb/data")
                .and(predicate::str::contains("removed .esb/logs")),
        );
    assert!(!root.join(".esb").exists(), "an emptied .esb goes too");
    assert!(root.join("generator.yml").is_file(), "kept without --hard");
    assert!(home.path().join("runtimes").is_dir(), "kept without --all");

    esb(root, home.path())
        .args(["prune", "--yes", "--hard", "--all"])
        .assert()
        .success()
        .stderr(predicate::str::contains("removed generator.yml"));
    assert!(!root.join("generator.yml").exists());
    assert!(
        !home.path().join("runtimes").exists(),
        "--all: the runtimes"
    );
    assert!(
        home.path().join("certs/ca.pem").is_file(),
        "the local CA users trusted is not a cache"
    );
    assert!(root.join("template.yaml").is_file());

    esb(root, home.path())
        .args(["prune", "--yes", "--hard", "--all", "--volumes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("nothing to prune"));
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_deleted() {
    let home = tempfile::tempdir().expect("home");
    let dir = stopped_project();
    let root = dir.path();
    esb(root, home.path())
        .args(["prune", "--volumes"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(".esb/functions")
                .and(predicate::str::contains(".esb/data"))
                .and(predicate::str::contains("esb prune would delete 5 path(s)"))
                .and(predicate::str::contains("pass --yes")),
        );
    for kept in [".esb/functions", ".esb/run/state.json", ".esb/data"] {
        assert!(root.join(kept).exists(), "{kept} is kept");
    }
    // `esb down --volumes` asks through the same code.
    esb(root, home.path())
        .args(["down", "--volumes"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--volumes would delete")
                .and(predicate::str::contains("pass --yes")),
        );
    assert!(root.join(".esb/data").exists());
}
