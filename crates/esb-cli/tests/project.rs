//! `esb project`: the current project, used by commands run outside any project directory.

mod support;

use predicates::prelude::*;
use support::project::{esb_command_in_home as esb, hello_project};

fn project() -> tempfile::TempDir {
    hello_project(&[])
}

#[test]
fn use_then_build_from_an_unrelated_directory() {
    let home = tempfile::tempdir().expect("home");
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    let app = project();
    let (home, elsewhere) = (home.path(), elsewhere.path());

    esb(elsewhere, home).arg("build").assert().code(1).stderr(
        predicate::str::contains("no current project")
            .and(predicate::str::contains("project use DIR")),
    );
    esb(elsewhere, home)
        .args(["project", "ls"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("no projects yet"));
    esb(elsewhere, home)
        .args(["project", "use"])
        .arg(elsewhere)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("holds no SAM template"));

    esb(elsewhere, home)
        .args(["project", "use"])
        .arg(app.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("is the current project"));
    let app_dir = app.path().canonicalize().expect("canonical");
    esb(elsewhere, home).arg("build").assert().success().stderr(
        predicate::str::contains(format!("project: {}", app_dir.display()))
            .and(predicate::str::contains("Built 1 function(s)")),
    );
    assert!(app.path().join(".esb/config/functions.yml").is_file());
    assert!(
        !elsewhere.join(".esb").exists(),
        "nothing built where esb ran"
    );

    // A template found from the current directory, or given, wins over the current project.
    let other = project();
    esb(other.path(), home)
        .arg("build")
        .assert()
        .success()
        .stderr(predicate::str::contains("project:").not());
    assert!(other.path().join(".esb").is_dir());
    esb(elsewhere, home)
        .args(["validate", "-t"])
        .arg(other.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("project:").not());
}

#[test]
fn ls_marks_the_current_project_and_missing_directories() {
    let home = tempfile::tempdir().expect("home");
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    let (home, elsewhere) = (home.path(), elsewhere.path());
    let first = project();
    let second = project();
    for dir in [first.path(), second.path()] {
        esb(elsewhere, home)
            .args(["project", "use"])
            .arg(dir)
            .assert()
            .success();
    }
    let gone = first.path().canonicalize().expect("canonical");
    let current = second.path().canonicalize().expect("canonical");
    drop(first);
    let output = esb(elsewhere, home)
        .args(["project", "ls"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("  {}  (missing)", gone.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("* {}\n", current.display())),
        "{text}"
    );

    // The current project gone too: commands say so instead of building something else.
    drop(second);
    esb(elsewhere, home)
        .arg("build")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no longer exists"));
}
