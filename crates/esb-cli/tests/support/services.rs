//! Running a data service on its own (`esb s3 serve`, `esb dynamodb serve`) and driving it
//! with boto3.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

/// A running `esb <service> serve`, killed when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    esb_testkit::wait_listening(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(30),
        &format!("esb {service} serve"),
    );
    server
}

/// Runs Python code with boto3 (the test-tools virtualenv, see esb-testkit) with `env` added
/// to its environment, and returns its standard output.
pub fn python(code: &str, env: &[(&str, &str)]) -> String {
    esb_testkit::python("-c", &[code], env)
}
