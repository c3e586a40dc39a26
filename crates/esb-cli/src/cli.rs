//! The command line: global flags, the shared template flags and the subcommands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use esb_agent::catalog::esb_home;
use esb_build::BuildError;
use esb_model::credentials::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use esb_template::TemplateError;
use indexmap::IndexMap;

use crate::commands::{
    BuildArgs, CertArgs, CompletionArgs, DownArgs, DynamodbArgs, EnvArgs, InitArgs, InvokeArgs,
    ProjectArgs, PruneArgs, S3Args, StatusArgs, UpArgs, ValidateArgs,
};
use crate::output;
use crate::projects::Projects;

/// Edge Serverless Box: run AWS SAM applications on machines you own.
#[derive(Debug, Parser)]
#[command(name = "esb", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// More logging: -v debug, -vv trace (default: warn, or RUST_LOG / LOG_LEVEL)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the template into .esb/: config files, function code, dependencies, Dockerfiles
    Build(BuildArgs),
    /// Resolve the template and show what it declares, without building
    Validate(ValidateArgs),
    /// Run one invocation of a function locally and print its result (like `sam local invoke`)
    Invoke(InvokeArgs),
    /// Write generator.yml for the template (parameters, image tag, output directory)
    Init(InitArgs),
    /// Build if needed and bring the box up: gateway, Lambda Invoke API, warm pools
    Up(UpArgs),
    /// Stop the box `esb up` started: drain requests, stop every worker
    Down(DownArgs),
    /// Show whether the box runs, where, and each function's workers
    Status(StatusArgs),
    /// Show the local CA that signs the gateway's HTTPS certificate, and how to trust it
    Cert(CertArgs),
    /// Manage the project's environments: named parameter values, ports and worker mode
    Env(EnvArgs),
    /// Switch the project commands work on outside any project directory
    Project(ProjectArgs),
    /// Delete what esb left on this machine for the project: build output, a stopped box's state
    Prune(PruneArgs),
    /// The embedded S3-compatible object store on its own (`esb s3 serve`)
    S3(S3Args),
    /// The embedded DynamoDB-compatible database on its own (`esb dynamodb serve`)
    Dynamodb(DynamodbArgs),
    /// Print a shell completion script
    Completion(CompletionArgs),
}

impl Command {
    pub fn run(self) -> miette::Result<()> {
        match self {
            Command::Build(args) => args.run(),
            Command::Validate(args) => args.run(),
            Command::Init(args) => args.run(),
            Command::Invoke(args) => args.run(),
            Command::Up(args) => args.run(),
            Command::Down(args) => args.run(),
            Command::Status(args) => args.run(),
            Command::Cert(args) => args.run(),
            Command::Env(args) => args.run(),
            Command::Project(args) => args.run(),
            Command::Prune(args) => args.run(),
            Command::S3(args) => args.run(),
            Command::Dynamodb(args) => args.run(),
            Command::Completion(args) => args.run(),
        }
    }
}

/// The address and the credentials of a data service run on its own (`esb s3 serve`,
/// `esb dynamodb serve`).
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Access key clients sign with (SigV4)
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = DEFAULT_ACCESS_KEY_ID)]
    pub access_key_id: String,
    /// Secret key clients sign with (SigV4)
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = DEFAULT_SECRET_ACCESS_KEY,
        hide_env_values = true
    )]
    pub secret_access_key: String,
}

/// Which template, and its parameter values.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// SAM template, or a directory holding one [default: template.yaml here or in a parent, else the current project]
    #[arg(short, long, env = "ESB_TEMPLATE", value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Template parameter values, wins over generator.yml (e.g. Stage=prod Greeting=Hi)
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_key_value)]
    pub parameter_overrides: Vec<(String, String)>,
    /// Refuse a template larger than this many bytes, before reading it (CloudFormation's limit)
    #[arg(long, env = "ESB_MAX_TEMPLATE_BYTES", value_name = "BYTES",
          default_value_t = esb_template::DEFAULT_MAX_TEMPLATE_BYTES)]
    pub max_template_bytes: u64,
}

impl TemplateArgs {
    /// The template path (see [`locate_template`]).
    pub fn locate(&self) -> miette::Result<PathBuf> {
        locate_template(self.template.as_deref())
    }

    pub fn overrides(&self) -> IndexMap<String, String> {
        self.parameter_overrides.iter().cloned().collect()
    }

    /// What the flags say about reading the template.
    pub fn input(&self) -> esb_build::TemplateInput {
        esb_build::TemplateInput {
            parameter_overrides: self.overrides(),
            max_template_bytes: self.max_template_bytes,
        }
    }
}

/// Which template, for commands that take no parameter values (`esb env`, `esb prune`).
#[derive(Debug, Clone, Args)]
pub struct TemplatePath {
    /// SAM template, or a directory holding one [default: template.yaml here or in a parent, else the current project]
    #[arg(short, long, env = "ESB_TEMPLATE", value_name = "FILE")]
    pub template: Option<PathBuf>,
}

impl TemplatePath {
    /// The template path (see [`locate_template`]).
    pub fn locate(&self) -> miette::Result<PathBuf> {
        locate_template(self.template.as_deref())
    }
}

/// The template: `explicit` (`--template`, `ESB_TEMPLATE`), else `template.yaml` in the
/// current directory or a parent, else the current project's (`esb project use`), which is
/// said on stderr so a command run in the wrong directory does not surprise.
fn locate_template(explicit: Option<&Path>) -> miette::Result<PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|err| miette::miette!("cannot read the current directory: {err}"))?;
    match esb_build::discover_template(explicit, &cwd) {
        Err(BuildError::Template(TemplateError::NotFound { searched })) if explicit.is_none() => {
            let projects = Projects::load(&esb_home())?;
            let (dir, template) = projects.current_template(&searched)?;
            eprintln!(
                "{} {} (the current project)",
                output::dim("project:"),
                dir.display()
            );
            Ok(template)
        }
        found => Ok(found?),
    }
}

/// How code is copied into the build, for every command that builds first.
#[derive(Debug, Clone, Copy, Args)]
pub struct CopyArgs {
    /// Copy a CodeUri/ContentUri or a symlink in the code that leads outside the project (the
    /// template's directory) instead of refusing it; dangling symlinks are left out
    #[arg(long)]
    pub allow_outside_links: bool,
}

pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parameter_overrides_take_several_key_values() {
        let cli = Cli::try_parse_from(["esb", "build", "--parameter-overrides", "A=1", "B=x=y"])
            .expect("parse");
        let Command::Build(args) = cli.command else {
            panic!("not build")
        };
        let overrides = args.template.overrides();
        assert_eq!(overrides["A"], "1");
        assert_eq!(overrides["B"], "x=y");
        assert!(Cli::try_parse_from(["esb", "build", "--parameter-overrides", "novalue"]).is_err());
    }

    #[test]
    fn every_command_that_builds_takes_allow_outside_links() {
        let allowed = |args: &[&str]| {
            match Cli::try_parse_from(args).expect("parse").command {
                Command::Build(args) => args.copy,
                Command::Up(args) => args.copy,
                Command::Invoke(args) => args.copy,
                _ => panic!("not a building command"),
            }
            .allow_outside_links
        };
        assert!(allowed(&["esb", "build", "--allow-outside-links"]));
        assert!(allowed(&["esb", "up", "--allow-outside-links"]));
        assert!(allowed(&["esb", "invoke", "Fn", "--allow-outside-links"]));
        assert!(!allowed(&["esb", "build"]));
    }
}
