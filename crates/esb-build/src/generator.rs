//! `generator.yml`: per-project build settings beside the template (stack name, image tag,
//! paths, parameter values, base images). Every key is optional; unknown keys are errors.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::BuildError;

/// The file name looked for beside the template.
pub const GENERATOR_FILE: &str = "generator.yml";

/// The default output directory, relative to the project directory.
pub const DEFAULT_OUTPUT_DIR: &str = ".esb";

/// The default image tag.
pub const DEFAULT_TAG: &str = "latest";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    #[serde(default, skip_serializing_if = "App::is_empty")]
    pub app: App,
    #[serde(default, skip_serializing_if = "Paths::is_empty")]
    pub paths: Paths,
    /// Template parameter values; `--parameter-overrides` wins over these.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    /// Values for what only exists in an AWS account: `Fn::ImportValue` export names,
    /// `{{resolve:ssm:NAME}}` references and `AWS::SSM::Parameter::Value` parameters.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub values: IndexMap<String, String>,
    /// Runtime → base image for the generated Dockerfiles.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub base_images: IndexMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Stack name (`AWS::StackName`); the project directory's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Image tag used in Dockerfiles and image names; `latest` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// The template, relative to this file; used when no template is given explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sam_template: Option<PathBuf>,
    /// The output directory, relative to this file; `.esb` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<PathBuf>,
}

/// A parameter value as YAML allows writing it: a scalar or a list (`CommaDelimitedList`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParameterValue {
    Text(String),
    Number(serde_yaml::Number),
    Bool(bool),
    List(Vec<String>),
}

impl ParameterValue {
    /// The value as CloudFormation receives it (lists comma-joined).
    pub fn to_parameter_string(&self) -> String {
        match self {
            ParameterValue::Text(text) => text.clone(),
            ParameterValue::Number(number) => number.to_string(),
            ParameterValue::Bool(value) => value.to_string(),
            ParameterValue::List(items) => items.join(","),
        }
    }
}

impl App {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.tag.is_none()
    }
}

impl Paths {
    fn is_empty(&self) -> bool {
        self.sam_template.is_none() && self.output_dir.is_none()
    }
}

impl Generator {
    /// Reads `generator.yml` in `dir`; a missing file gives the defaults.
    /// The build output directory: `explicit` (`--output-dir`), else `paths.output_dir`, else
    /// `.esb`, relative to the project directory.
    pub fn output_dir(&self, project_dir: &Path, explicit: Option<&Path>) -> PathBuf {
        let relative = explicit
            .or(self.paths.output_dir.as_deref())
            .unwrap_or(Path::new(DEFAULT_OUTPUT_DIR));
        project_dir.join(relative)
    }

    pub fn load_from_dir(dir: &Path) -> Result<Generator, BuildError> {
        let path = dir.join(GENERATOR_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Generator::parse(&path, &text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Generator::default()),
            Err(error) => Err(BuildError::GeneratorRead { path, error }),
        }
    }

    /// Parses the text of a generator file; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Generator, BuildError> {
        // A file holding only comments is an empty document: the defaults.
        serde_yaml::from_str::<Option<Generator>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|error| BuildError::GeneratorParse {
                path: path.to_owned(),
                error,
            })
    }

    /// `parameters` as strings, overlaid with `overrides` (which win).
    pub fn parameter_overrides(
        &self,
        overrides: &IndexMap<String, String>,
    ) -> IndexMap<String, String> {
        let mut merged: IndexMap<String, String> = self
            .parameters
            .iter()
            .map(|(name, value)| (name.clone(), value.to_parameter_string()))
            .collect();
        merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
    }

    pub fn tag(&self) -> &str {
        self.app.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// `app.name`, else the project directory's name, else `esb`.
    pub fn stack_name(&self, project_dir: &Path) -> String {
        self.app.name.clone().unwrap_or_else(|| {
            project_dir
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "esb".to_string())
        })
    }
}

/// Finds the template: `esb_template::discover`, then, when no template was given explicitly,
/// `paths.sam_template` of the `generator.yml` beside the discovered one.
pub fn discover_template(explicit: Option<&Path>, start_dir: &Path) -> Result<PathBuf, BuildError> {
    let found = esb_template::discover(explicit, start_dir)?;
    if explicit.is_some() {
        return Ok(found);
    }
    let dir = found.parent().unwrap_or(Path::new("."));
    let generator = Generator::load_from_dir(dir)?;
    Ok(match generator.paths.sam_template {
        Some(template) => dir.join(template),
        None => found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_merges_overrides() {
        let text = "app:\n  name: demo\n  tag: v1\npaths:\n  output_dir: out\nparameters:\n  A: x\n  Port: 8080\n  List: [a, b]\nbase_images:\n  python3.12: my/python\n";
        let generator = Generator::parse(Path::new("generator.yml"), text).expect("parse");
        assert_eq!(generator.tag(), "v1");
        assert_eq!(generator.stack_name(Path::new("/x/proj")), "demo");
        let overrides = [("A".to_string(), "cli".to_string())].into_iter().collect();
        let merged = generator.parameter_overrides(&overrides);
        assert_eq!(merged["A"], "cli");
        assert_eq!(merged["Port"], "8080");
        assert_eq!(merged["List"], "a,b");
    }

    #[test]
    fn empty_and_comment_only_files_give_defaults() {
        for text in ["", "# nothing here\n"] {
            let generator = Generator::parse(Path::new("generator.yml"), text).expect("parse");
            assert_eq!(generator, Generator::default());
            assert_eq!(generator.stack_name(Path::new("/x/proj")), "proj");
        }
    }

    #[test]
    fn unknown_keys_are_rejected_naming_the_file() {
        let err = Generator::parse(Path::new("/p/generator.yml"), "app:\n  nmae: x\n")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("/p/generator.yml"), "{text}");
        assert!(text.contains("nmae"), "{text}");
    }

    #[test]
    fn sam_template_is_followed_only_when_no_template_is_explicit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("template.yaml"), "Resources: {}").expect("write");
        std::fs::write(root.join("other.yaml"), "Resources: {}").expect("write");
        std::fs::write(
            root.join(GENERATOR_FILE),
            "paths:\n  sam_template: other.yaml\n",
        )
        .expect("write");
        assert_eq!(
            discover_template(None, root).expect("found"),
            root.join("other.yaml")
        );
        let explicit = discover_template(Some(Path::new("template.yaml")), root).expect("found");
        assert_eq!(explicit, root.join("template.yaml"));
    }
}
