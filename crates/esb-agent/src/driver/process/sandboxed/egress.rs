//! Outbound network for a worker in its own network namespace, as Lambda functions have by
//! default: `slirp4netns` (Debian's package) gives the namespace a `tap0` with a NAT'd
//! user-mode network stack (10.0.2.100, gateway 10.0.2.2, DNS forwarder 10.0.2.3) whose
//! connections leave from the box's own network stack. With `--disable-host-loopback` the
//! worker cannot use it to reach the host's loopback (the box's listeners, other workers'
//! nothing); with `--enable-sandbox` slirp4netns itself runs confined. It is attached while a
//! sandbox is prepared ahead of its worker, so it costs a cold start nothing then; it exits when
//! the box does (its exit descriptor is a pipe only the box holds).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, Command};

/// The program.
const SLIRP4NETNS: &str = "slirp4netns";
/// Where a worker with outbound access resolves names: slirp4netns's DNS forwarder.
pub(super) const RESOLVER: &str = "10.0.2.3";
/// How long slirp4netns may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// A worker's outbound network; dropping it ends it.
#[derive(Debug)]
pub(super) struct Egress {
    _slirp: Child,
    /// slirp4netns's exit descriptor: it exits when this closes (the box stopped or died).
    _exit: ChildStdin,
}

/// Whether this host has slirp4netns.
pub(super) fn available() -> Result<(), String> {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(SLIRP4NETNS).is_file())
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "{SLIRP4NETNS} is not installed (apt-get install {SLIRP4NETNS}, or run \
             scripts/install.sh)"
        ))
    }
}

/// Gives the network namespace of process `pid` outbound access; returns once it works.
pub(super) async fn attach(pid: u32) -> Result<Egress, String> {
    let mut slirp = Command::new(SLIRP4NETNS)
        .args([
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            "--enable-sandbox",
            "--ready-fd=1",
            "--exit-fd=0",
        ])
        .arg(pid.to_string())
        .arg("tap0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {SLIRP4NETNS}: {e}"))?;
    let exit = slirp
        .stdin
        .take()
        .ok_or_else(|| format!("{SLIRP4NETNS} has no exit descriptor"))?;
    let mut ready = slirp
        .stdout
        .take()
        .ok_or_else(|| format!("{SLIRP4NETNS} has no ready descriptor"))?;
    // It writes "1" once the namespace's tap0, address, route and DNS are configured.
    let mut byte = [0u8; 1];
    match tokio::time::timeout(READY_TIMEOUT, ready.read(&mut byte)).await {
        Ok(Ok(1)) if byte[0] == b'1' => Ok(Egress {
            _slirp: slirp,
            _exit: exit,
        }),
        Ok(_) => Err(format!(
            "{SLIRP4NETNS} could not configure the worker's network"
        )),
        Err(_) => Err(format!(
            "{SLIRP4NETNS} did not configure the worker's network within {} s",
            READY_TIMEOUT.as_secs()
        )),
    }
}
