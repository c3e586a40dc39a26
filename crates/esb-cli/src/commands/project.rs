//! `esb project ls|use`: the project directory commands work on when run outside any project
//! (after `--template`, `ESB_TEMPLATE` and the current directory), kept per user in
//! `$ESB_HOME/projects.toml` ([crate::projects]).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use esb_agent::catalog::esb_home;
use esb_build::BuildError;
use esb_template::TemplateError;
use miette::miette;

use crate::output;
use crate::projects::Projects;

#[derive(Debug, Args)]
#[command(
    after_help = "The template is, in order: --template, ESB_TEMPLATE, template.yaml \
    in the current directory or a parent, then the current project's. The list is kept in \
    $ESB_HOME/projects.toml (default ~/.esb)."
)]
pub struct ProjectArgs {
    #[command(subcommand)]
    pub command: ProjectCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects esb knows; * marks the current one
    #[command(visible_alias = "list")]
    Ls,
    /// Make DIR the current project: commands run outside any project directory use it
    Use(ProjectUseArgs),
}

#[derive(Debug, Args)]
pub struct ProjectUseArgs {
    /// The project directory: the one holding its template.yaml
    pub dir: PathBuf,
}

impl ProjectArgs {
    pub fn run(self) -> miette::Result<()> {
        let home = esb_home();
        match self.command {
            ProjectCommand::Ls => list(&home),
            ProjectCommand::Use(args) => use_dir(&home, &args.dir),
        }
    }
}

fn use_dir(home: &Path, dir: &Path) -> miette::Result<()> {
    let dir = dir
        .canonicalize()
        .map_err(|e| miette!("cannot use {} as a project: {e}", dir.display()))?;
    if !dir.is_dir() {
        return Err(miette!(
            help = "pass the directory holding the template",
            "{} is not a directory",
            dir.display()
        ));
    }
    let template = esb_build::project_template(&dir).map_err(|error| match error {
        BuildError::Template(TemplateError::NotFound { .. }) => miette!(
            help = "a project directory holds template.yaml (or .yml, .json)",
            "{} holds no SAM template",
            dir.display()
        ),
        other => other.into(),
    })?;
    let mut projects = Projects::load(home)?;
    projects.use_dir(dir.clone());
    projects.save(home)?;
    eprintln!(
        "{} {} is the current project ({}); commands run outside a project directory use it",
        output::good("ok:"),
        dir.display(),
        template.strip_prefix(&dir).unwrap_or(&template).display()
    );
    Ok(())
}

fn list(home: &Path) -> miette::Result<()> {
    let projects = Projects::load(home)?;
    if projects.known().is_empty() {
        eprintln!("no projects yet; `esb project use DIR` adds one");
        return Ok(());
    }
    for dir in projects.known() {
        let marker = if projects.current() == Some(dir.as_path()) {
            "*"
        } else {
            " "
        };
        println!("{marker} {}{}", dir.display(), problem(dir));
    }
    Ok(())
}

/// Why a recorded project can no longer be used, as a suffix for its line.
fn problem(dir: &Path) -> String {
    if !dir.is_dir() {
        return format!("  {}", output::warn("(missing)"));
    }
    match esb_build::project_template(dir) {
        Ok(_) => String::new(),
        Err(BuildError::Template(TemplateError::NotFound { .. })) => {
            format!("  {}", output::warn("(no template)"))
        }
        Err(error) => format!("  {} {error}", output::warn("(error)")),
    }
}
