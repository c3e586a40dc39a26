//! Helpers for the tests that run a data service on its own (`esb s3 serve`,
//! `esb dynamodb serve`) and drive it with boto3.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running `esb <service> serve`, killed when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts `esb <service> serve` on `port` with `data_dir` and waits until it listens.
pub fn start(service: &str, data_dir: &Path, port: u16) -> Server {
    let child = Command::new(assert_cmd::cargo::cargo_bin("esb"))
        .args([service, "serve", "--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("AWS_ACCESS_KEY_ID", "esb")
        .env("AWS_SECRET_ACCESS_KEY", "esb-local-secret")
        .spawn()
        .expect("esb serve");
    let server = Server(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "esb {service} serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Runs a Python script (with boto3) in the environment esb prepared under ~/.esb/runtimes.
pub fn python(script: &str) -> String {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    let interpreter = std::fs::read_dir(home.join(".esb/runtimes"))
        .expect("an esb Python environment (run the esb-agent tests first)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/python3"))
        .find(|p| p.exists())
        .expect("an esb Python environment");
    let output = Command::new(interpreter)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
