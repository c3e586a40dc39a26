//! Helpers the integration tests of several crates share (dev-dependency only): free loopback
//! ports, the Python test tools that scripts/test-tools.sh installs (and scripts run with their
//! boto3), and external servers (moto_server) that stop when dropped. Every wait is bounded.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits up to `within` until `addr` accepts connections; panics naming `what` if it never does.
pub fn wait_listening(addr: SocketAddr, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {addr} within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A program from the test tools virtualenv (`$ESB_TEST_TOOLS`, default `~/.esb/test-tools`):
/// `aws`, `moto_server`, `python3`. Panics with the fix when it is not installed.
pub fn test_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("ESB_TEST_TOOLS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".esb")
                .join("test-tools")
        },
        PathBuf::from,
    );
    let path = venv.join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test-tools.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A command running `script` with `args` on the test tools' `python3` (it has boto3), with
/// `env` set. The AWS config and credentials files are `/dev/null`, so the script uses only
/// what the test passes and never the developer's `~/.aws`.
pub fn python_command(script: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(test_tool("python3"));
    command
        .arg(script)
        .args(args)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(env.iter().copied());
    command
}

/// Runs [`python_command`] to the end; panics with its stdout and stderr unless it succeeds.
/// Returns its stdout.
pub fn python(script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = python_command(script, args, env)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {script}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A `moto_server` on a free loopback port, standing in for an external S3 and DynamoDB;
/// killed when dropped. It accepts any credentials.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(test_tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_listening(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(30),
            "moto_server",
        );
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
