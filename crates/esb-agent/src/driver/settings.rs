//! Choosing the driver: `[workers] driver` (or `ESB_MODE`, as in the original ESB), `sandbox`
//! and `network`, one vocabulary for every front end (`esb up`, `esb invoke`, the agent).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::process::{NetworkMode, ProcessDriver, SandboxConfig, SandboxMode};
use super::{Driver, DriverError};

/// The ways of running workers the box knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Process,
    Docker,
    Containerd,
}

impl DriverKind {
    pub const ALL: [DriverKind; 3] = [
        DriverKind::Process,
        DriverKind::Docker,
        DriverKind::Containerd,
    ];

    /// The name `ESB_MODE`, `[workers] driver` and `--driver` spell it with.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Process => "process",
            DriverKind::Docker => "docker",
            DriverKind::Containerd => "containerd",
        }
    }

    /// Whether this box can run workers this way yet ([`driver`] refuses the others).
    pub fn is_built(self) -> bool {
        matches!(self, DriverKind::Process)
    }

    /// `process`, `docker` or `containerd` (the values of `ESB_MODE`).
    pub fn parse(value: &str) -> Result<DriverKind, DriverError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "process" => Ok(DriverKind::Process),
            "docker" => Ok(DriverKind::Docker),
            "containerd" => Ok(DriverKind::Containerd),
            other => Err(DriverError::start(format!(
                "unknown worker driver {other:?}: use process (docker and containerd are planned)"
            ))),
        }
    }
}

/// How the box runs its workers.
#[derive(Debug, Clone)]
pub struct DriverSettings {
    pub kind: DriverKind,
    pub sandbox: SandboxMode,
    pub network: NetworkMode,
    /// Outbound network for isolated workers (as on Lambda); `false` cuts it.
    pub egress: bool,
    /// The program (and leading arguments) that runs a worker's init, e.g. `esb __worker-init`.
    pub init: Vec<OsString>,
    /// A directory for the box's own runtime files (sandbox mount points).
    pub run_dir: PathBuf,
}

/// The driver `settings` ask for.
pub fn driver(settings: &DriverSettings) -> Result<Arc<dyn Driver>, DriverError> {
    match settings.kind {
        DriverKind::Process => {
            let sandbox = SandboxConfig {
                init: settings.init.clone(),
                network: settings.network,
                egress: settings.egress,
                root_mount_point: settings.run_dir.join("sandbox-root"),
            };
            Ok(Arc::new(ProcessDriver::new(settings.sandbox, sandbox)?))
        }
        DriverKind::Docker | DriverKind::Containerd => Err(DriverError::start(format!(
            "the {} driver is not built yet: use driver = \"process\" (ESB_MODE=process)",
            settings.kind.name()
        ))),
    }
}

/// `/run/esb` where it can be made (root), else a directory under the temporary directory.
pub fn default_run_dir() -> PathBuf {
    let run = PathBuf::from("/run/esb");
    if std::fs::create_dir_all(&run).is_ok() {
        return run;
    }
    std::env::temp_dir().join(format!("esb-run-{}", nix::unistd::geteuid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_container_drivers_say_they_are_not_built() {
        assert_eq!(DriverKind::parse("Process").ok(), Some(DriverKind::Process));
        let settings = DriverSettings {
            kind: DriverKind::parse("docker").expect("docker parses"),
            sandbox: SandboxMode::Off,
            network: NetworkMode::Isolated,
            egress: true,
            init: Vec::new(),
            run_dir: std::env::temp_dir(),
        };
        let error = driver(&settings).expect_err("not built");
        assert!(error.to_string().contains("not built yet"), "{error}");
        assert!(DriverKind::parse("firecracker").is_err());
        for kind in DriverKind::ALL {
            assert_eq!(DriverKind::parse(kind.name()).ok(), Some(kind));
        }
        assert!(DriverKind::Process.is_built() && !DriverKind::Docker.is_built());
    }

    #[test]
    fn sandbox_off_is_unconfined_and_says_why() {
        let settings = DriverSettings {
            kind: DriverKind::Process,
            sandbox: SandboxMode::Off,
            network: NetworkMode::Isolated,
            egress: true,
            init: Vec::new(),
            run_dir: std::env::temp_dir(),
        };
        let isolation = driver(&settings).expect("driver").isolation();
        assert!(!isolation.sandboxed);
        assert!(
            isolation.summary.contains("sandbox = \"off\""),
            "{}",
            isolation.summary
        );
    }
}
