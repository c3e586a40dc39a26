//! Compiled Rust functions (`Metadata.BuildMethod: rust-cargolambda`): `cargo build --release
//! --locked` in the code directory, into a target directory shared by the project's Rust
//! functions, and the package's binary copied to `task/bootstrap`, as SAM and cargo-lambda do
//! (cargo-lambda itself is not needed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::BuildError;
use crate::code::set_executable;

/// SAM's `BuildMethod` for Rust functions.
pub const RUST_CARGOLAMBDA: &str = "rust-cargolambda";

/// Top-level directories of a Rust function's code never read, hashed or copied: cargo's.
pub const SKIPPED_DIRS: [&str; 1] = ["target"];

/// What `Runtime: provided.*` starts: the file AWS runs in `/var/task`.
const BOOTSTRAP: &str = "bootstrap";

/// One Rust function's compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compile<'a> {
    /// `function Hello`, for messages.
    pub target: &'a str,
    /// The code directory: holds the `Cargo.toml`.
    pub crate_dir: &'a Path,
    /// `CARGO_TARGET_DIR`, shared by the project's Rust functions so rebuilds are incremental.
    pub target_dir: &'a Path,
    /// The task directory the binary is copied into, as `bootstrap`.
    pub into: &'a Path,
}

impl Compile<'_> {
    /// Finds the package's binary, builds it and copies it to `<into>/bootstrap` (mode 0755).
    pub fn run(&self) -> Result<(), BuildError> {
        let manifest = self.crate_dir.join("Cargo.toml");
        let metadata = self.cargo(
            "cargo metadata",
            &["metadata", "--no-deps", "--format-version", "1"],
        )?;
        let metadata: Value =
            serde_json::from_slice(&metadata.stdout).map_err(|error| BuildError::RustBinary {
                target: self.target.to_string(),
                reason: format!("cannot parse `cargo metadata` output: {error}"),
            })?;
        let binary =
            select_binary(&metadata, &manifest).map_err(|reason| BuildError::RustBinary {
                target: self.target.to_string(),
                reason,
            })?;
        tracing::debug!(target = self.target, %binary, "compiling");
        let build = self.cargo(
            "cargo build",
            &[
                "build",
                "--release",
                "--locked",
                "--bin",
                &binary,
                "--message-format",
                "json-render-diagnostics",
            ],
        )?;
        // Where cargo says it wrote the binary (a `build.target` puts it under the triple).
        let built = executable(&build.stdout, &binary)
            .unwrap_or_else(|| self.target_dir.join("release").join(&binary));
        let bootstrap = self.into.join(BOOTSTRAP);
        std::fs::create_dir_all(self.into).map_err(BuildError::io("create", self.into))?;
        std::fs::copy(&built, &bootstrap).map_err(BuildError::io("copy", &built))?;
        set_executable(&bootstrap)
    }

    /// Runs `cargo <args> --manifest-path <crate>/Cargo.toml` and returns its output, or an
    /// error with the tail of its stderr.
    fn cargo(&self, program: &str, args: &[&str]) -> Result<Output, BuildError> {
        let output = Command::new("cargo")
            .args(args)
            .arg("--manifest-path")
            .arg(self.crate_dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", self.target_dir)
            .current_dir(self.crate_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|error| BuildError::ToolMissing {
                tool: "cargo".to_string(),
                target: self.target.to_string(),
                error,
            })?;
        if output.status.success() {
            return Ok(output);
        }
        Err(BuildError::Compile {
            tool: program.to_string(),
            target: self.target.to_string(),
            status: output.status.to_string(),
            stderr_tail: crate::deps::tail(&output),
        })
    }
}

/// The binary to run as `bootstrap`, from `cargo metadata --no-deps` output: the package at
/// `manifest`'s single binary, or the one named like the package; for a virtual workspace
/// manifest, the workspace's single binary. The error says why none could be chosen.
pub fn select_binary(metadata: &Value, manifest: &Path) -> Result<String, String> {
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let same_manifest = |package: &&Value| {
        package
            .get("manifest_path")
            .and_then(Value::as_str)
            .is_some_and(|path| same_file(Path::new(path), manifest))
    };
    let (candidates, package_name): (Vec<&Value>, Option<&str>) =
        match packages.iter().find(same_manifest) {
            Some(package) => (vec![package], package.get("name").and_then(Value::as_str)),
            // A virtual manifest: every workspace member is a candidate.
            None => (packages.iter().collect(), None),
        };
    let binaries: Vec<&str> = candidates
        .iter()
        .flat_map(|package| package.get("targets").and_then(Value::as_array))
        .flatten()
        .filter(|target| {
            target
                .get("kind")
                .and_then(Value::as_array)
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
        })
        .filter_map(|target| target.get("name").and_then(Value::as_str))
        .collect();
    match binaries.as_slice() {
        [] => Err(format!(
            "{} has no binary target; add src/main.rs or a [[bin]] section",
            manifest.display()
        )),
        [single] => Ok((*single).to_string()),
        several => package_name
            .filter(|name| several.contains(name))
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{} has several binaries ({}) and none is named like the package; keep one, or name one after the package",
                    manifest.display(),
                    several.join(", ")
                )
            }),
    }
}

/// The path of binary `name` in `cargo build --message-format json` output.
fn executable(stdout: &[u8], name: &str) -> Option<PathBuf> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == name)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_owned());
    a == b || canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, manifest: &str, targets: &[(&str, &str)]) -> Value {
        let targets: Vec<Value> = targets
            .iter()
            .map(|(kind, name)| serde_json::json!({"kind": [kind], "name": name}))
            .collect();
        serde_json::json!({"name": name, "manifest_path": manifest, "targets": targets})
    }

    fn metadata(packages: Vec<Value>) -> Value {
        serde_json::json!({ "packages": packages })
    }

    #[test]
    fn the_executable_is_read_from_cargo_messages() {
        let stdout = concat!(
            "{\"reason\":\"compiler-artifact\",\"target\":{\"name\":\"serde\"},\"executable\":null}\n",
            "not json\n",
            "{\"reason\":\"compiler-artifact\",\"target\":{\"name\":\"app\"},",
            "\"executable\":\"/t/x86_64-unknown-linux-musl/release/app\"}\n",
            "{\"reason\":\"build-finished\",\"success\":true}\n",
        );
        assert_eq!(
            executable(stdout.as_bytes(), "app"),
            Some(PathBuf::from("/t/x86_64-unknown-linux-musl/release/app"))
        );
        assert_eq!(executable(stdout.as_bytes(), "other"), None);
    }

    #[test]
    fn the_single_binary_of_the_package_is_chosen() {
        let manifest = Path::new("/p/app/Cargo.toml");
        let meta = metadata(vec![package(
            "hello-rust",
            "/p/app/Cargo.toml",
            &[("lib", "hello_rust"), ("bin", "server")],
        )]);
        assert_eq!(select_binary(&meta, manifest).as_deref(), Ok("server"));
    }

    #[test]
    fn with_several_binaries_the_one_named_like_the_package_wins() {
        let manifest = Path::new("/p/app/Cargo.toml");
        let meta = metadata(vec![package(
            "hello",
            "/p/app/Cargo.toml",
            &[("bin", "tool"), ("bin", "hello")],
        )]);
        assert_eq!(select_binary(&meta, manifest).as_deref(), Ok("hello"));

        let meta = metadata(vec![package(
            "hello",
            "/p/app/Cargo.toml",
            &[("bin", "a"), ("bin", "b")],
        )]);
        let err = select_binary(&meta, manifest).expect_err("ambiguous");
        assert!(err.contains("a, b"), "{err}");
    }

    #[test]
    fn a_virtual_workspace_uses_its_single_member_binary_and_a_library_fails() {
        let manifest = Path::new("/p/ws/Cargo.toml");
        let meta = metadata(vec![
            package("core", "/p/ws/core/Cargo.toml", &[("lib", "core")]),
            package("api", "/p/ws/api/Cargo.toml", &[("bin", "api")]),
        ]);
        assert_eq!(select_binary(&meta, manifest).as_deref(), Ok("api"));

        let meta = metadata(vec![package("lib", "/p/ws/Cargo.toml", &[("lib", "lib")])]);
        let err = select_binary(&meta, manifest).expect_err("no binary");
        assert!(err.contains("no binary target"), "{err}");
    }
}
