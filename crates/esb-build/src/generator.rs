//! `generator.yml`: per-project build settings beside the template (stack name, image tag,
//! paths, parameter values, base images, environments). Every key is optional; unknown keys
//! are errors.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::BuildError;
use crate::environments::{self, Environment, EnvironmentError};

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
    /// Named settings (`esb env`); `app.last_env` names the active one.
    #[serde(
        default,
        deserialize_with = "environments::deserialize",
        skip_serializing_if = "IndexMap::is_empty"
    )]
    pub environments: IndexMap<String, Environment>,
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
    /// The active environment (`esb env use`); the original ESB's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_env: Option<String>,
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
        self.name.is_none() && self.tag.is_none() && self.last_env.is_none()
    }
}

impl Paths {
    fn is_empty(&self) -> bool {
        self.sam_template.is_none() && self.output_dir.is_none()
    }
}

impl Generator {
    /// The build output directory: `explicit` (`--output-dir`), else `paths.output_dir`, else
    /// `.esb`, relative to the project directory.
    pub fn output_dir(&self, project_dir: &Path, explicit: Option<&Path>) -> PathBuf {
        let relative = explicit
            .or(self.paths.output_dir.as_deref())
            .unwrap_or(Path::new(DEFAULT_OUTPUT_DIR));
        project_dir.join(relative)
    }

    /// Reads `generator.yml` in `dir`; a missing file gives the defaults.
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

    /// Writes this to `dir/generator.yml`, keeping the comment lines the existing file opens
    /// with (serde keeps no comments, so those elsewhere are lost).
    pub fn save(&self, dir: &Path) -> Result<PathBuf, BuildError> {
        let path = dir.join(GENERATOR_FILE);
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(BuildError::GeneratorRead { path, error }),
        };
        let header: String = existing
            .lines()
            .take_while(|line| line.trim_start().starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        self.write(&path, &header)?;
        Ok(path)
    }

    /// Writes `header` then this as YAML to `path`, through a temporary file renamed over it,
    /// so an interrupted write never leaves half a file.
    pub(crate) fn write(&self, path: &Path, header: &str) -> Result<(), BuildError> {
        let body = serde_yaml::to_string(self).map_err(|error| BuildError::GeneratorParse {
            path: path.to_owned(),
            error,
        })?;
        let tmp = path.with_extension("yml.tmp");
        std::fs::write(&tmp, format!("{header}{body}")).map_err(BuildError::io("write", &tmp))?;
        std::fs::rename(&tmp, path).map_err(BuildError::io("write", path))
    }

    /// The active environment (`app.last_env`) and its settings; an active name that
    /// `environments` lacks is an error.
    pub fn active_environment(&self) -> Result<Option<(&str, &Environment)>, EnvironmentError> {
        let Some(name) = self.app.last_env.as_deref() else {
            return Ok(None);
        };
        match self.environments.get_key_value(name) {
            Some((name, environment)) => Ok(Some((name.as_str(), environment))),
            None => Err(EnvironmentError::UnknownActive {
                name: name.to_string(),
                known: match self.environments.len() {
                    0 => "none is defined".to_string(),
                    _ => format!(
                        "defined: {}",
                        self.environments
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            }),
        }
    }

    /// `parameters` as strings, overlaid with the active environment's, overlaid with
    /// `overrides` (which win).
    pub fn parameter_overrides(
        &self,
        overrides: &IndexMap<String, String>,
    ) -> Result<IndexMap<String, String>, EnvironmentError> {
        let environment = self
            .active_environment()?
            .map(|(_, environment)| &environment.parameters);
        let mut merged: IndexMap<String, String> = self
            .parameters
            .iter()
            .chain(environment.into_iter().flatten())
            .map(|(name, value)| (name.clone(), value.to_parameter_string()))
            .collect();
        merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(merged)
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
    follow_sam_template(found)
}

/// The template of the project in `dir` itself, not in a parent, then `paths.sam_template`
/// as [`discover_template`] follows it: the template of a project named by its directory
/// (`esb project use`).
pub fn project_template(dir: &Path) -> Result<PathBuf, BuildError> {
    follow_sam_template(esb_template::discover(Some(dir), dir)?)
}

fn follow_sam_template(found: PathBuf) -> Result<PathBuf, BuildError> {
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
        let merged = generator.parameter_overrides(&overrides).expect("merged");
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
        assert_eq!(
            project_template(root).expect("found"),
            root.join("other.yaml")
        );
        let inner = root.join("inner");
        std::fs::create_dir(&inner).expect("mkdir");
        assert!(
            project_template(&inner).is_err(),
            "a parent's template is not the project's"
        );
    }

    #[test]
    fn the_active_environment_wins_over_parameters_and_loses_to_overrides() {
        let text = "app:\n  last_env: prod\nparameters:\n  Stage: dev\n  Greeting: Hi\nenvironments:\n  dev: process\n  prod:\n    parameters:\n      Stage: prod\n      Port: 8080\n";
        let generator = Generator::parse(Path::new("generator.yml"), text).expect("parse");
        assert_eq!(
            generator
                .active_environment()
                .expect("known")
                .map(|(name, _)| name),
            Some("prod")
        );
        let overrides = [("Port".to_string(), "9090".to_string())]
            .into_iter()
            .collect();
        let merged = generator.parameter_overrides(&overrides).expect("merged");
        assert_eq!(merged["Stage"], "prod");
        assert_eq!(merged["Greeting"], "Hi");
        assert_eq!(merged["Port"], "9090");
    }

    #[test]
    fn an_active_environment_that_is_not_defined_is_named() {
        let text = "app:\n  last_env: staging\nenvironments:\n  dev: process\n  prod: process\n";
        let generator = Generator::parse(Path::new("generator.yml"), text).expect("parse");
        let error = generator
            .parameter_overrides(&IndexMap::new())
            .expect_err("unknown");
        assert!(
            error.to_string().contains("app.last_env is staging"),
            "{error}"
        );
        let rendered = format!("{:?}", miette::Report::new(error));
        assert!(rendered.contains("dev, prod"), "{rendered}");
    }

    #[test]
    fn save_keeps_the_opening_comments_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(GENERATOR_FILE);
        std::fs::write(&path, "# mine\n# also mine\napp:\n  tag: v1 # lost\n").expect("write");
        let mut generator = Generator::load_from_dir(dir.path()).expect("load");
        generator
            .environments
            .insert("dev".into(), Environment::default());
        generator.app.last_env = Some("dev".into());
        generator.save(dir.path()).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("# mine\n# also mine\napp:\n"), "{text}");
        assert_eq!(
            Generator::load_from_dir(dir.path()).expect("reload"),
            generator
        );
    }
}
