//! A project in a temporary directory and the `esb` binary run on it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

/// Copies a project, leaving out build output and caches.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read project") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".esb" || name == "__pycache__" || name == "target" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of `examples/<name>` in a temporary directory.
pub fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name),
        dir.path(),
    );
    dir
}

/// A temporary project of these files (path relative to the project, content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    dir
}

/// A one-function Python project (`template.yaml`, `hello/app.py`) with `extra` files beside.
pub fn hello_project(extra: &[(&str, &str)]) -> tempfile::TempDir {
    const TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Runtime: python3.12
"#;
    let mut files = vec![
        ("template.yaml", TEMPLATE),
        (
            "hello/app.py",
            "def handler(event, context):\n    return {}\n",
        ),
    ];
    files.extend_from_slice(extra);
    project(&files)
}

/// A temporary project of a template and one Python source file, `src/app.py`.
pub fn python_project(template: &str, app: &str) -> tempfile::TempDir {
    project(&[("template.yaml", template), ("src/app.py", app)])
}

/// Runtimes are cached per user; tests share the real cache so Python's is built once.
pub fn shared_home() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".esb")
}

/// `esb` in `dir`, without colours, killed after two minutes; add arguments and run it.
pub fn esb_command(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("esb").expect("binary");
    command
        .current_dir(dir)
        .env_remove("ESB_TEMPLATE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120));
    command
}

/// [`esb_command`] with the test's own esb home, so no real project list or cache leaks in
/// or is touched.
pub fn esb_command_in_home(dir: &Path, home: &Path) -> Command {
    let mut command = esb_command(dir);
    command.env("ESB_HOME", home);
    command
}

/// Runs `esb <args>` in `dir` with `ESB_HOME=esb_home`, killed after `timeout`.
pub fn esb(dir: &Path, esb_home: &Path, args: &[&str], timeout: Duration) -> Output {
    Command::cargo_bin("esb")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ESB_HOME", esb_home)
        // Any free ports for the embedded S3 and DynamoDB: tests run side by side.
        .env("ESB_S3_PORT", "0")
        .env("ESB_DYNAMODB_PORT", "0")
        .args(args)
        .timeout(timeout)
        .output()
        .expect("esb runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Where the project's running box serves (its `.esb/run/state.json`): tests start boxes on
/// port 0 and read the port back, so no other test or connection can take it in between.
pub fn box_addr(dir: &Path) -> std::net::SocketAddr {
    let text = std::fs::read_to_string(dir.join(".esb/run/state.json"))
        .expect("the state file of a running box");
    let state: serde_json::Value = serde_json::from_str(&text).expect("state JSON");
    state["addr"]
        .as_str()
        .and_then(|addr| addr.parse().ok())
        .expect("the box's address")
}

/// Whether a process runs (a zombie waiting to be reaped does not).
pub fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.split_whitespace()
            .nth(2)
            .is_none_or(|state| state != "Z")
    })
}
