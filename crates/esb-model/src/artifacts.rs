//! The files `esb build` writes under `<output>/config/` and the other roles read.
//!
//! Paths inside them are relative to the project directory (where the template lives), so a
//! build is relocatable and byte-for-byte deterministic.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{Api, ApiKey, Bucket, Function, Layer, Route, Table, UsagePlan};

pub const FUNCTIONS_FILE: &str = "functions.yml";
pub const ROUTING_FILE: &str = "routing.yml";
pub const RESOURCES_FILE: &str = "resources.yml";

/// `functions.yml`: every function with where its build lives, and the template's layers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionsFile {
    pub functions: Vec<FunctionArtifact>,
    pub layers: Vec<Layer>,
}

/// A function plus its build directories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionArtifact {
    #[serde(flatten)]
    pub function: Function,
    /// What `/var/task` holds: code and installed dependencies. `None` for image functions.
    pub task_root: Option<String>,
    /// What `/opt` holds: the function's layers merged in order.
    pub opt_dir: Option<String>,
}

/// `routing.yml`: every API and every route to a function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingFile {
    pub apis: Vec<Api>,
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_plans: Vec<UsagePlan>,
}

/// `resources.yml`: the tables and buckets the provisioner creates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesFile {
    pub tables: Vec<Table>,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {path}: {source} (run `esb build` first)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid artifact: {source} (run `esb build --no-cache` to rewrite it)")]
    Parse {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialize {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_yaml::Error,
    },
}

/// Reads one artifact file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, ArtifactError> {
    let text = std::fs::read_to_string(path).map_err(|source| ArtifactError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_yaml::from_str(&text).map_err(|source| ArtifactError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Renders one artifact file's text; the same value always gives the same bytes.
pub fn render<T: Serialize>(path: &Path, value: &T) -> Result<String, ArtifactError> {
    serde_yaml::to_string(value).map_err(|source| ArtifactError::Serialize {
        path: path.to_owned(),
        source,
    })
}

/// Writes one artifact file atomically (temp file then rename), so a reader never sees half.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), ArtifactError> {
    let text = render(path, value)?;
    let write_err = |source| ArtifactError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, text).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, PackageType};

    fn sample_function() -> Function {
        Function {
            logical_id: "Hello".into(),
            name: "Hello".into(),
            package_type: PackageType::Zip,
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            code_uri: Some("src/".into()),
            inline_code: None,
            image_uri: None,
            memory_size: 128,
            timeout: 3,
            ephemeral_storage: 512,
            environment: [("A".to_string(), "1".to_string())].into_iter().collect(),
            layers: vec![
                crate::LayerRef::Local {
                    layer: "Deps".into(),
                },
                crate::LayerRef::Arn {
                    arn: "arn:aws:lambda:us-east-1:123:layer:x:1".into(),
                },
            ],
            architectures: vec![Architecture::X86_64],
            reserved_concurrency: None,
            provisioned_concurrency: Some(2),
            auto_publish_alias: None,
            build_method: None,
            function_url: None,
            events: vec![],
        }
    }

    #[test]
    fn functions_file_round_trips_through_yaml() {
        let file = FunctionsFile {
            functions: vec![FunctionArtifact {
                function: sample_function(),
                task_root: Some(".esb/functions/Hello/task".into()),
                opt_dir: Some(".esb/functions/Hello/opt".into()),
            }],
            layers: vec![],
        };
        let path = Path::new("functions.yml");
        let text = render(path, &file).expect("render");
        assert!(text.contains("logicalId: Hello"), "{text}");
        assert!(text.contains("layer: Deps"), "{text}");
        let back: FunctionsFile = serde_yaml::from_str(&text).expect("parse");
        assert_eq!(back, file);
    }

    #[test]
    fn read_reports_the_path_of_a_missing_file() {
        let err = read::<RoutingFile>(Path::new("/nonexistent/routing.yml")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/routing.yml"));
        assert!(err.to_string().contains("esb build"));
    }
}
