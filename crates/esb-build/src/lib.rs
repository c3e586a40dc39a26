//! Edge Serverless Box build: a resolved SAM template to the `.esb/` artifacts.
//!
//! `resolve` reads `generator.yml` and the template; `build_resolved` writes
//! `config/{functions,routing,resources}.yml` and, per function, `functions/<Name>/task`
//! (`/var/task`), `opt` (`/opt`: its layers in order) and a `Dockerfile`, skipping functions
//! whose fingerprint is unchanged. Code is read once, hashed and written in parallel;
//! dependency installs and Rust compiles run a few at a time behind a progress bar.

mod cargo;
mod code;
mod config;
mod deps;
mod dockerfile;
pub mod environments;
mod error;
mod fingerprint;
mod function;
pub mod generator;
pub mod init;
mod layers;
mod layout;
mod parallel;
mod plan;
mod report;

use std::path::{Path, PathBuf};

use esb_template::{LoadOptions, Loaded};
use indexmap::IndexMap;

pub use environments::{Environment, EnvironmentError, Ports};
pub use error::BuildError;
pub use generator::{
    DEFAULT_OUTPUT_DIR, GENERATOR_FILE, Generator, ParameterValue, discover_template,
    project_template,
};
pub use layout::build_outputs;
pub use report::{BuildReport, BuildStatus, FunctionReport, LayerReport, UnservedEvent};

use crate::layout::Layout;
use crate::plan::Plan;

/// A build as the CLI asks for it.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub template: PathBuf,
    pub input: TemplateInput,
    pub options: BuildOptions,
}

/// What the command line says about reading the template, beside its path.
#[derive(Debug, Clone)]
pub struct TemplateInput {
    /// `--parameter-overrides`; wins over `generator.yml` `parameters`.
    pub parameter_overrides: IndexMap<String, String>,
    /// `--max-template-bytes`: a larger template is refused before it is read whole.
    pub max_template_bytes: u64,
}

impl Default for TemplateInput {
    fn default() -> Self {
        TemplateInput {
            parameter_overrides: IndexMap::new(),
            max_template_bytes: esb_template::DEFAULT_MAX_TEMPLATE_BYTES,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Overrides `generator.yml` `paths.output_dir`; relative paths are relative to the
    /// project directory.
    pub output_dir: Option<PathBuf>,
    /// Compute and report everything, write nothing.
    pub dry_run: bool,
    /// Rebuild every function even when its fingerprint is unchanged.
    pub no_cache: bool,
    /// Copy a `CodeUri`/`ContentUri` outside the project directory, and symlinks in the code
    /// that resolve outside it, instead of refusing them; dangling links are left out.
    pub allow_outside_links: bool,
}

/// A template resolved with its `generator.yml`.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub template: PathBuf,
    /// The template's directory: code paths and artifact paths are relative to it.
    pub project_dir: PathBuf,
    pub generator: Generator,
    pub loaded: Loaded,
}

/// Reads `generator.yml` beside `template` and resolves the template with its parameters
/// (`input`'s overrides win) and stack name.
pub fn resolve(template: &Path, input: &TemplateInput) -> Result<Resolved, BuildError> {
    let template = std::path::absolute(template).map_err(BuildError::io("resolve", template))?;
    let project_dir = template.parent().unwrap_or(Path::new("/")).to_owned();
    let generator = Generator::load_from_dir(&project_dir)?;
    let options = LoadOptions {
        parameter_overrides: generator.parameter_overrides(&input.parameter_overrides)?,
        stack_name: generator.stack_name(&project_dir),
        resolve_values: generator.values.clone(),
        max_template_bytes: input.max_template_bytes,
        ..LoadOptions::default()
    };
    let loaded = esb_template::load_file(&template, &options)?;
    Ok(Resolved {
        template,
        project_dir,
        generator,
        loaded,
    })
}

impl Resolved {
    /// The build output directory: `explicit` (`--output-dir`), else `generator.yml`'s
    /// `paths.output_dir`, else `.esb`, relative to the project directory.
    pub fn output_dir(&self, explicit: Option<&Path>) -> PathBuf {
        self.generator.output_dir(&self.project_dir, explicit)
    }
}

/// The build output directory of the project whose template is `template`, from its
/// `generator.yml` alone: what `esb down` and `esb status` need to find a running box, without
/// resolving the template (which may need the parameters `esb up` was given).
pub fn output_dir(template: &Path) -> Result<PathBuf, BuildError> {
    let template = std::path::absolute(template).map_err(BuildError::io("resolve", template))?;
    let project_dir = template.parent().unwrap_or(Path::new("/"));
    Ok(Generator::load_from_dir(project_dir)?.output_dir(project_dir, None))
}

/// Resolves and builds.
pub fn build(request: &BuildRequest) -> Result<BuildReport, BuildError> {
    let resolved = resolve(&request.template, &request.input)?;
    build_resolved(&resolved, &request.options)
}

/// Builds an already resolved project.
pub fn build_resolved(
    resolved: &Resolved,
    options: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let layout = Layout::new(
        resolved.project_dir.clone(),
        resolved.output_dir(options.output_dir.as_deref()),
    );
    let plan = Plan::new(resolved, layout, options)?;
    let template_warnings = resolved.loaded.warnings.iter().map(ToString::to_string);
    let mut report = plan.report(template_warnings.collect(), options.dry_run);
    report.environment = resolved.generator.app.last_env.clone();
    if !options.dry_run {
        report.warnings.extend(plan.execute()?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
