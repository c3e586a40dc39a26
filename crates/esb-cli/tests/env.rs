//! `esb env`: environments in generator.yml, end to end through the binary.

mod support;

use std::path::Path;
use std::process::Output;

use predicates::prelude::*;

use support::project::esb_command as esb;

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          STAGE: !Ref Stage
"#;

fn project(generator: &str) -> tempfile::TempDir {
    support::project::project(&[
        ("template.yaml", TEMPLATE),
        (
            "hello/app.py",
            "def handler(event, context):\n    return {}\n",
        ),
        ("generator.yml", generator),
    ])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn env_ls(dir: &Path) -> String {
    stdout(&esb(dir).args(["env", "ls"]).output().expect("runs"))
}

/// The `STAGE` variable the build gave the function (`STAGE: value` in functions.yml).
fn built_stage(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(".esb/config/functions.yml")).expect("built");
    text.lines()
        .find_map(|line| line.trim().strip_prefix("STAGE: "))
        .unwrap_or_else(|| panic!("no STAGE in:\n{text}"))
        .to_string()
}

#[test]
fn add_ls_use_rm_round_trip() {
    let dir = project("# kept\napp:\n  tag: v1\n");
    let root = dir.path();
    esb(root)
        .args(["env", "ls"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("esb env add NAME"));
    esb(root)
        .args([
            "env",
            "add",
            "staging",
            "--parameter-overrides",
            "Stage=prod",
        ])
        .args([
            "--port",
            "9443",
            "--s3-port",
            "9100",
            "--dynamodb-port",
            "0",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("esb env use staging"));
    esb(root)
        .args(["env", "add", "dev", "--mode", "process"])
        .assert()
        .success();
    esb(root)
        .args(["env", "add", "staging"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "environment staging already exists",
        ));

    let text = env_ls(root);
    assert!(!text.contains('*'), "none active yet:\n{text}");
    assert!(
        text.contains("staging  (default)  gateway 9443, s3 9100, dynamodb 0  Stage=prod"),
        "{text}"
    );
    assert!(text.contains("  dev      process"), "{text}");

    esb(root)
        .args(["env", "use", "nope"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("has no environment nope")
                .and(predicate::str::contains("staging, dev")),
        );
    esb(root)
        .args(["env", "use", "staging"])
        .assert()
        .success()
        .stderr(predicate::str::contains("environment staging is active"));
    let text = stdout(&esb(root).args(["env", "list"]).output().expect("runs"));
    assert!(text.contains("* staging"), "{text}");
    assert!(text.contains("\n  dev"), "{text}");
    let generator = std::fs::read_to_string(root.join("generator.yml")).expect("written");
    assert!(generator.starts_with("# kept\n"), "{generator}");
    assert!(generator.contains("last_env: staging"), "{generator}");
    assert!(generator.contains("tag: v1"), "{generator}");

    esb(root)
        .args(["env", "rm", "staging"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("environment staging is the active one")
                .and(predicate::str::contains("--force")),
        );
    esb(root).args(["env", "use", "dev"]).assert().success();
    esb(root).args(["env", "rm", "staging"]).assert().success();
    esb(root)
        .args(["env", "rm", "dev", "--force"])
        .assert()
        .success();
    let generator = std::fs::read_to_string(root.join("generator.yml")).expect("written");
    assert!(
        !generator.contains("last_env") && !generator.contains("environments"),
        "{generator}"
    );
}

#[test]
fn add_refuses_bad_names_container_modes_and_unknown_parameters() {
    let dir = project("");
    let root = dir.path();
    esb(root)
        .args(["env", "add", "Prod!"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid environment name"));
    esb(root)
        .args(["env", "add", "edge", "--mode", "docker"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("the docker mode is not built yet").and(
                predicate::str::contains("the modes this box runs are: process"),
            ),
        );
    esb(root)
        .args(["env", "add", "edge", "--mode", "firecracker"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown mode \"firecracker\""));
    esb(root)
        .args(["env", "add", "edge", "--parameter-overrides", "Stag=prod"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("declares no parameter Stag")
                .and(predicate::str::contains("its parameters are Stage")),
        );
    assert_eq!(
        std::fs::read_to_string(root.join("generator.yml")).expect("read"),
        "",
        "nothing written"
    );
}

#[test]
fn build_uses_the_active_environments_parameters_under_the_flags() {
    let dir = project("parameters:\n  Stage: base\n");
    let root = dir.path();
    esb(root).arg("build").assert().success();
    assert_eq!(built_stage(root), "base");
    esb(root)
        .args(["env", "add", "prod", "--parameter-overrides", "Stage=prod"])
        .assert()
        .success();
    esb(root).args(["env", "use", "prod"]).assert().success();
    esb(root)
        .arg("build")
        .assert()
        .success()
        .stderr(predicate::str::contains("(environment prod)"));
    assert_eq!(built_stage(root), "prod");
    esb(root)
        .args(["build", "--parameter-overrides", "Stage=flag"])
        .assert()
        .success();
    assert_eq!(built_stage(root), "flag");
}

#[test]
fn the_original_esbs_generator_yml_still_builds_and_up_refuses_its_container_mode() {
    let dir = project(
        "app:\n  name: demo\n  tag: latest\n  last_env: local\nenvironments:\n  local: docker\n  edge: containerd\n",
    );
    let root = dir.path();
    esb(root).arg("build").assert().success();
    let text = env_ls(root);
    assert!(text.contains("* local  docker (not built yet)"), "{text}");
    // The active environment's mode reaches the worker settings, refused before a box starts.
    esb(root)
        .args(["up", "--http"])
        .env("ESB_HOME", root.join("home"))
        .env_remove("ESB_MODE")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the docker driver is not built yet",
        ));

    // Its older list form reads too.
    std::fs::write(
        root.join("generator.yml"),
        "environments:\n  - local\n  - name: edge\n    mode: containerd\n",
    )
    .expect("write");
    let text = env_ls(root);
    assert!(
        text.contains("  edge   containerd (not built yet)"),
        "{text}"
    );

    std::fs::write(root.join("generator.yml"), "app:\n  last_env: gone\n").expect("write");
    esb(root)
        .arg("build")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("app.last_env is gone"));
}
