//! Helpers the integration tests of several crates share (dev-dependency only): free loopback
//! ports, the Python test tools that scripts/test-tools.sh installs, and external servers
//! (moto_server) that stop when dropped. Every wait is bounded.

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
