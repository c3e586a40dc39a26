//! Settings of `esb up`, layered as STYLE.md asks: built-in defaults, then the project's
//! `esb.toml`, then the active environment of its `generator.yml` (`esb env use`), then its
//! `.env` file, then the environment, then flags. Environment variable names are the original
//! ESB's where they mean the same thing, so an existing `.env` carries over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use esb_build::{BuildError, Environment, Generator};
use indexmap::IndexMap;
use serde::Deserialize;

pub const CONFIG_FILE: &str = "esb.toml";

/// `esb.toml`: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub gateway: GatewaySection,
    #[serde(default)]
    pub pool: PoolSection,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub breaker: BreakerSection,
    #[serde(default)]
    pub credentials: CredentialsSection,
    #[serde(default)]
    pub s3: DataServiceSection,
    #[serde(default)]
    pub dynamodb: DataServiceSection,
    #[serde(default)]
    pub workers: WorkersSection,
}

/// `[workers]`: how workers run (see docs/isolation.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersSection {
    /// `process` (docker and containerd are planned).
    pub driver: Option<String>,
    /// `auto`, `on` or `off`.
    pub sandbox: Option<String>,
    /// `isolated` or `host`.
    pub network: Option<String>,
    /// Outbound network for isolated workers (default true).
    pub egress: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    pub port: Option<u16>,
    pub bind: Option<IpAddr>,
    pub http: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub drain_seconds: Option<u64>,
    /// How long a client may take to send a request's headers (also a TLS handshake).
    pub header_read_timeout_seconds: Option<f64>,
    /// How long a client connection may stay open with nothing in flight and no traffic.
    pub connection_idle_timeout_seconds: Option<f64>,
    /// Client connections open at once.
    pub max_connections: Option<usize>,
    /// Who may call the Lambda Invoke API: `loopback` (default), `any` or `off`.
    pub invoke_api: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSection {
    pub max_workers: Option<usize>,
    pub acquire_timeout_seconds: Option<f64>,
    pub idle_timeout_seconds: Option<u64>,
    pub janitor_interval_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Username → password for the ESB login flow.
    pub users: Option<IndexMap<String, String>>,
    pub api_keys: Option<Vec<String>>,
    pub jwt_secret: Option<String>,
    pub login_path: Option<String>,
    pub jwt_expires_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    pub threshold: Option<u32>,
    pub recovery_timeout_seconds: Option<u64>,
}

/// The box's one key pair and region: the embedded S3 and DynamoDB accept it, functions get it
/// as their AWS credentials, the provisioner signs with it. External endpoints must accept it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSection {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub region: Option<String>,
}

/// `[s3]` or `[dynamodb]`: where the embedded service listens, or an external endpoint that
/// replaces it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataServiceSection {
    pub port: Option<u16>,
    pub bind: Option<IpAddr>,
    /// `http://rustfs:9000`, `https://dynamodb.eu-west-1.amazonaws.com`, …: the embedded
    /// service is not started and functions and the provisioner use this one.
    pub endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    #[diagnostic(help("see docs/gateway.md for the keys esb.toml accepts"))]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Generator(#[from] BuildError),
    #[error("{name}={value:?} is not a valid value ({reason})")]
    #[diagnostic(help("fix it in the environment or in .env"))]
    Variable {
        name: String,
        value: String,
        reason: String,
    },
}

/// The project's settings files.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub file: FileConfig,
    dotenv: HashMap<String, String>,
}

impl Layers {
    /// Reads `esb.toml`, the active environment of `generator.yml` and `.env` in the project
    /// directory (all optional).
    pub fn load(project_dir: &Path) -> Result<Layers, ConfigError> {
        let mut file = match read_optional(&project_dir.join(CONFIG_FILE))? {
            None => FileConfig::default(),
            Some((path, text)) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path,
                message: e.to_string(),
            })?,
        };
        let generator = Generator::load_from_dir(project_dir)?;
        if let Some((_, environment)) = generator.active_environment().map_err(BuildError::from)? {
            file.apply(environment);
        }
        let dotenv = read_optional(&project_dir.join(".env"))?
            .map(|(_, text)| parse_dotenv(&text))
            .unwrap_or_default();
        Ok(Layers { file, dotenv })
    }

    /// A variable from the environment, else from `.env`, parsed.
    pub fn var<T: FromStr>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let Some(value) = std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
        else {
            return Ok(None);
        };
        value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ConfigError::Variable {
                name: name.to_string(),
                value: value.clone(),
                reason: e.to_string(),
            })
    }
}

impl FileConfig {
    /// Lays an environment over `esb.toml`: what the environment sets wins, so `esb env use`
    /// switches ports and mode without editing files, and the environment variables and flags
    /// read after this still win over both.
    fn apply(&mut self, environment: &Environment) {
        let ports = &environment.ports;
        self.gateway.port = ports.gateway.or(self.gateway.port);
        self.s3.port = ports.s3.or(self.s3.port);
        self.dynamodb.port = ports.dynamodb.or(self.dynamodb.port);
        if let Some(mode) = &environment.mode {
            self.workers.driver = Some(mode.clone());
        }
    }
}

fn read_optional(path: &Path) -> Result<Option<(PathBuf, String)>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((path.to_owned(), text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `KEY=VALUE` lines; `#` comments, `export ` prefixes and matching quotes are allowed.
fn parse_dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            Some((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let parsed = parse_dotenv("# c\nA=1\nexport B = \"two words\"\nC='x'\nbroken\n\nD=a=b\n");
        assert_eq!(parsed["A"], "1");
        assert_eq!(parsed["B"], "two words");
        assert_eq!(parsed["C"], "x");
        assert_eq!(parsed["D"], "a=b");
        assert!(!parsed.contains_key("broken"));
    }

    #[test]
    fn files_load_and_bad_ones_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("esb.toml"),
            "[gateway]\nport = 9443\n[pool]\nmax_workers = 3\n",
        )
        .expect("write");
        std::fs::write(dir.path().join(".env"), "ESB_TEST_ONLY_VALUE=42\n").expect("write");
        let layers = Layers::load(dir.path()).expect("loads");
        assert_eq!(layers.file.gateway.port, Some(9443));
        assert_eq!(layers.file.pool.max_workers, Some(3));
        assert_eq!(
            layers.var::<u32>("ESB_TEST_ONLY_VALUE").expect("parses"),
            Some(42)
        );
        assert!(layers.var::<bool>("ESB_TEST_ONLY_VALUE").is_err());
        std::fs::write(dir.path().join("esb.toml"), "[gateway]\nprot = 1\n").expect("write");
        let err = Layers::load(dir.path()).expect_err("unknown key");
        assert!(err.to_string().contains("esb.toml"), "{err}");
    }

    #[test]
    fn the_active_environment_wins_over_esb_toml() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("esb.toml"),
            "[gateway]\nport = 9443\n[s3]\nport = 9100\n[workers]\ndriver = \"process\"\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("generator.yml"),
            "app:\n  last_env: edge\nenvironments:\n  edge:\n    mode: docker\n    ports:\n      gateway: 10443\n      dynamodb: 18001\n  other:\n    ports:\n      s3: 1\n",
        )
        .expect("write");
        let file = Layers::load(dir.path()).expect("loads").file;
        assert_eq!(file.gateway.port, Some(10443));
        assert_eq!(
            file.s3.port,
            Some(9100),
            "esb.toml where the environment is silent"
        );
        assert_eq!(file.dynamodb.port, Some(18001));
        assert_eq!(file.workers.driver.as_deref(), Some("docker"));

        std::fs::write(dir.path().join("generator.yml"), "app:\n  last_env: gone\n")
            .expect("write");
        let error = Layers::load(dir.path()).expect_err("unknown environment");
        assert!(
            error.to_string().contains("app.last_env is gone"),
            "{error}"
        );
    }
}
