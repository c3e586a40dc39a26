//! `esb init`: writing `generator.yml` from answers the CLI collected (prompts or defaults).

use std::path::{Path, PathBuf};

use esb_template::ParameterInfo;
use indexmap::IndexMap;

use crate::BuildError;
use crate::generator::{App, GENERATOR_FILE, Generator, ParameterValue, Paths};

const HEADER: &str = "# generator.yml: esb build settings for this project (written by `esb init`).\n\
# Every key is optional; paths are relative to this file.\n\
# `esb build --parameter-overrides Key=Value` wins over `parameters`.\n";

/// What `generator.yml` records.
#[derive(Debug, Clone, PartialEq)]
pub struct InitAnswers {
    pub app_name: Option<String>,
    pub tag: String,
    pub output_dir: PathBuf,
    pub parameters: IndexMap<String, String>,
}

/// Each parameter's value from `given`, else its `Default`; a parameter with neither is an
/// error naming it.
pub fn default_parameters(
    parameters: &[ParameterInfo],
    given: &IndexMap<String, String>,
) -> Result<IndexMap<String, String>, BuildError> {
    parameters
        .iter()
        .map(|parameter| {
            given
                .get(&parameter.name)
                .or(parameter.default.as_ref())
                .map(|value| (parameter.name.clone(), value.clone()))
                .ok_or_else(|| BuildError::MissingParameter {
                    name: parameter.name.clone(),
                })
        })
        .collect()
}

/// Writes `<project_dir>/generator.yml`; an existing one is kept unless `force`.
pub fn write_generator(
    project_dir: &Path,
    answers: &InitAnswers,
    force: bool,
) -> Result<PathBuf, BuildError> {
    let path = project_dir.join(GENERATOR_FILE);
    if path.exists() && !force {
        return Err(BuildError::GeneratorExists { path });
    }
    let generator = Generator {
        app: App {
            name: answers.app_name.clone(),
            tag: Some(answers.tag.clone()),
            last_env: None,
        },
        paths: Paths {
            sam_template: None,
            output_dir: Some(answers.output_dir.clone()),
        },
        parameters: answers
            .parameters
            .iter()
            .map(|(name, value)| (name.clone(), ParameterValue::Text(value.clone())))
            .collect(),
        values: IndexMap::new(),
        base_images: IndexMap::new(),
        environments: IndexMap::new(),
    };
    generator.write(&path, HEADER)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str, default: Option<&str>) -> ParameterInfo {
        ParameterInfo {
            name: name.into(),
            parameter_type: "String".into(),
            default: default.map(Into::into),
            allowed_values: vec![],
            description: None,
        }
    }

    #[test]
    fn defaults_fill_parameters_and_a_missing_one_is_named() {
        let params = [parameter("A", Some("a")), parameter("B", None)];
        let given = [("B".to_string(), "b".to_string())].into_iter().collect();
        let values = default_parameters(&params, &given).expect("values");
        assert_eq!(values["A"], "a");
        assert_eq!(values["B"], "b");
        let err = default_parameters(&params, &IndexMap::new()).expect_err("missing B");
        assert!(err.to_string().contains("parameter B"), "{err}");
    }

    #[test]
    fn writes_a_generator_that_reads_back_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let answers = InitAnswers {
            app_name: None,
            tag: "v2".into(),
            output_dir: ".esb".into(),
            parameters: [("Stage".to_string(), "prod".to_string())]
                .into_iter()
                .collect(),
        };
        let path = write_generator(dir.path(), &answers, false).expect("write");
        let generator = Generator::load_from_dir(dir.path()).expect("read back");
        assert_eq!(generator.tag(), "v2");
        assert_eq!(
            generator.parameters["Stage"],
            ParameterValue::Text("prod".into())
        );
        let err = write_generator(dir.path(), &answers, false).expect_err("exists");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        write_generator(dir.path(), &answers, true).expect("forced");
    }
}
