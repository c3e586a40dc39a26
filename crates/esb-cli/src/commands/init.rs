//! `esb init`: ask for each template parameter, the image tag and the output directory
//! (or take defaults with `--yes`), then write generator.yml beside the template.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use dialoguer::{Input, Select};
use esb_build::init::{InitAnswers, default_parameters, write_generator};
use esb_build::{BuildError, DEFAULT_OUTPUT_DIR, GENERATOR_FILE};
use esb_template::ParameterInfo;
use indexmap::IndexMap;
use miette::IntoDiagnostic;

use crate::cli::TemplateArgs;
use crate::exit::UsageError;
use crate::output;

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Take every default without prompting
    #[arg(short, long)]
    pub yes: bool,
    /// Overwrite an existing generator.yml
    #[arg(long)]
    pub force: bool,
    /// Image tag [default: latest]
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Output directory, relative to the template [default: .esb]
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

impl InitArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let project_dir = template.parent().unwrap_or(Path::new("."));
        let existing = project_dir.join(GENERATOR_FILE);
        if existing.exists() && !self.force {
            return Err(BuildError::GeneratorExists { path: existing }.into());
        }
        if !self.yes && !std::io::stdin().is_terminal() {
            return Err(UsageError {
                message: "esb init asks questions but stdin is not a terminal".into(),
                help: "pass --yes to take the defaults (and --parameter-overrides for parameters without one)".into(),
            }
            .into());
        }
        let parameters = esb_template::parameters_of_file(&template)?;
        let given = self.template.overrides();
        let tag = self
            .tag
            .unwrap_or_else(|| esb_build::generator::DEFAULT_TAG.to_string());
        let output_dir = self
            .output_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUTPUT_DIR));
        let answers = if self.yes {
            InitAnswers {
                app_name: None,
                tag,
                output_dir,
                parameters: default_parameters(&parameters, &given)?,
            }
        } else {
            prompt(&parameters, &given, tag, output_dir)?
        };
        let path = write_generator(project_dir, &answers, self.force)?;
        eprintln!("{} wrote {}", output::good("ok:"), path.display());
        Ok(())
    }
}

fn prompt(
    parameters: &[ParameterInfo],
    given: &IndexMap<String, String>,
    tag: String,
    output_dir: PathBuf,
) -> miette::Result<InitAnswers> {
    let mut values = IndexMap::new();
    for parameter in parameters {
        let default = given.get(&parameter.name).or(parameter.default.as_ref());
        let label = match &parameter.description {
            Some(description) => format!("{} ({description})", parameter.name),
            None => parameter.name.clone(),
        };
        let value = if parameter.allowed_values.is_empty() {
            let mut input = Input::<String>::new().with_prompt(label);
            if let Some(default) = default {
                input = input.default(default.clone());
            }
            input.interact_text().into_diagnostic()?
        } else {
            let chosen = default
                .and_then(|d| parameter.allowed_values.iter().position(|v| v == d))
                .unwrap_or(0);
            let index = Select::new()
                .with_prompt(label)
                .items(&parameter.allowed_values)
                .default(chosen)
                .interact()
                .into_diagnostic()?;
            parameter.allowed_values[index].clone()
        };
        values.insert(parameter.name.clone(), value);
    }
    let tag = Input::<String>::new()
        .with_prompt("Image tag")
        .default(tag)
        .interact_text()
        .into_diagnostic()?;
    let output_dir = Input::<String>::new()
        .with_prompt("Output directory")
        .default(output_dir.display().to_string())
        .interact_text()
        .into_diagnostic()?;
    Ok(InitAnswers {
        app_name: None,
        tag,
        output_dir: output_dir.into(),
        parameters: values,
    })
}
