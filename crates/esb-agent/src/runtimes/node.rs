//! Node.js workers run under AWS's own runtime interface client (`aws-lambda-ric` from npm),
//! installed once under the cache directory and run by the host's `node`, with the AWS SDK for
//! JavaScript v3 preinstalled ([`super::node_sdk`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cache::{prepare, run, which};
use super::node_sdk::{NodeSdk, node_sdk};
use super::{RuntimeClients, RuntimeError};

/// The client version, pinned so every host runs the same one.
pub const NODE_RIC: &str = "aws-lambda-ric@3.3.0";
const ENTRY: &str = "node_modules/aws-lambda-ric/bin/index.mjs";

/// A ready Node.js client.
#[derive(Debug, Clone)]
pub struct NodeEnvironment {
    pub node: PathBuf,
    /// The client's entry script (`bin/index.mjs`).
    pub entry: PathBuf,
    /// The preinstalled AWS SDK, and the hook that lets ES modules import it.
    pub sdk: NodeSdk,
    /// Whether this Node.js can load that hook (`module.register`: Node.js 20 and later).
    pub esm_hooks: bool,
    /// The directories Node.js and the client run from (a sandbox shows only these of the host,
    /// read-only).
    pub mounts: Vec<PathBuf>,
    /// The host's Node.js, for `esb status`.
    pub runs_on: String,
    /// Set when the host's major version differs from the template's.
    pub warning: Option<String>,
}

impl RuntimeClients {
    /// The client for `nodejs<wanted>.x`, installed on first use (blocking: npm runs).
    pub fn node(&self, wanted: u32) -> Result<NodeEnvironment, RuntimeError> {
        let node = which("node").ok_or(RuntimeError::NoNode)?;
        let found = major_version(&node).ok_or(RuntimeError::NoNode)?;
        if found != wanted && self.strict {
            return Err(RuntimeError::StrictMismatch {
                runtime: format!("nodejs{wanted}.x"),
                found: format!("Node.js {found}"),
            });
        }
        let dir = self
            .cache_dir
            .join(format!("nodejs-{}", NODE_RIC.replace('@', "-")));
        prepare(&dir, ENTRY, install_client).map_err(|message| RuntimeError::ClientInstall {
            dir: dir.display().to_string(),
            message,
        })?;
        let sdk = node_sdk(&self.cache_dir).map_err(|message| RuntimeError::ClientInstall {
            dir: self.cache_dir.display().to_string(),
            message,
        })?;
        let warning = (found != wanted).then(|| {
            format!(
                "the template asks for nodejs{wanted}.x; running it with this host's Node.js \
                 {found} (pass --strict-runtimes to refuse)"
            )
        });
        // `<prefix>/bin/node`: the installation is the prefix (its lib/ holds npm and headers).
        let installation = node
            .canonicalize()
            .ok()
            .and_then(|real| Some(real.parent()?.parent()?.to_path_buf()));
        Ok(NodeEnvironment {
            mounts: [Some(dir.clone()), Some(sdk.dir.clone()), installation]
                .into_iter()
                .flatten()
                .collect(),
            runs_on: format!("Node.js {found} ({})", node.display()),
            node,
            entry: dir.join(ENTRY),
            sdk,
            esm_hooks: found >= 20,
            warning,
        })
    }
}

fn major_version(node: &Path) -> Option<u32> {
    let output = Command::new(node).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    text.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// `npm install` of `packages` (production dependencies only) into `staging`.
pub(super) fn npm_install(staging: &Path, packages: &[&str]) -> Result<(), String> {
    let npm = which("npm").ok_or("npm is not installed")?;
    std::fs::create_dir_all(staging).map_err(|e| e.to_string())?;
    run(Command::new(npm)
        .arg("install")
        .arg("--prefix")
        .arg(staging)
        .args(["--no-audit", "--no-fund", "--omit=dev"])
        .args(packages))
}

/// The package builds its native HTTP client on install (about a minute, once), which needs
/// cmake, autoconf, automake, libtool, make and g++ (`scripts/install.sh` installs them).
fn install_client(staging: &Path) -> Result<(), String> {
    tracing::info!("installing {NODE_RIC} (once)");
    npm_install(staging, &[NODE_RIC]).map_err(|e| {
        format!("{e}\n(its native build needs cmake, autoconf, automake, libtool, make, g++)")
    })?;
    let native = staging.join("node_modules/aws-lambda-ric/dist/rapid-client.node");
    if native.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{NODE_RIC} installed without its native client (are npm install scripts disabled?)"
        ))
    }
}
