//! `esb env add|ls|use|rm`: the project's environments in `generator.yml` (template parameter
//! values, ports and worker mode under a name) and which one is active (`app.last_env`).
//! `esb build`, `esb up` and `esb invoke` use the active one's settings under their own flags.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use esb_agent::driver::DriverKind;
use esb_build::environments::validate_name;
use esb_build::{Environment, Generator, ParameterValue, Ports};
use miette::miette;

use crate::cli::{TemplatePath, parse_key_value};
use crate::output;

#[derive(Debug, Args)]
#[command(
    after_help = "The active environment's parameters win over generator.yml's \
    `parameters`, its ports and mode over esb.toml; environment variables (ESB_PORT, \
    ESB_S3_PORT, ESB_DYNAMODB_PORT, ESB_MODE, .env) and flags win over it."
)]
pub struct EnvArgs {
    #[command(subcommand)]
    pub command: EnvCommand,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Add an environment to generator.yml
    Add(EnvAddArgs),
    /// List the environments; * marks the active one
    #[command(visible_alias = "list")]
    Ls(EnvLsArgs),
    /// Make an environment the active one: esb build, up and invoke use its settings
    Use(EnvUseArgs),
    /// Remove an environment from generator.yml
    #[command(visible_alias = "remove")]
    Rm(EnvRmArgs),
}

#[derive(Debug, Args)]
pub struct EnvAddArgs {
    /// Its name: up to 32 lower-case letters, digits, - and _, starting with a letter
    #[arg(value_parser = parse_name)]
    pub name: String,
    /// Where its workers run: process [default: ESB_MODE, esb.toml [workers] driver, process]
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<String>,
    /// Its template parameter values, over generator.yml's parameters (e.g. Stage=prod)
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_key_value)]
    pub parameter_overrides: Vec<(String, String)>,
    /// Port of the gateway and the Invoke API in it
    #[arg(long)]
    pub port: Option<u16>,
    /// Port of the embedded S3 in it, 0 for any free port
    #[arg(long)]
    pub s3_port: Option<u16>,
    /// Port of the embedded DynamoDB in it, 0 for any free port
    #[arg(long)]
    pub dynamodb_port: Option<u16>,
    #[command(flatten)]
    pub template: TemplatePath,
}

#[derive(Debug, Args)]
pub struct EnvLsArgs {
    #[command(flatten)]
    pub template: TemplatePath,
}

#[derive(Debug, Args)]
pub struct EnvUseArgs {
    /// The environment to make active
    pub name: String,
    #[command(flatten)]
    pub template: TemplatePath,
}

#[derive(Debug, Args)]
pub struct EnvRmArgs {
    /// The environment to remove
    pub name: String,
    /// Remove it even when it is the active one (then none is)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub template: TemplatePath,
}

impl EnvArgs {
    pub fn run(self) -> miette::Result<()> {
        match self.command {
            EnvCommand::Add(args) => args.run(),
            EnvCommand::Ls(args) => args.run(),
            EnvCommand::Use(args) => args.run(),
            EnvCommand::Rm(args) => args.run(),
        }
    }
}

/// The project's `generator.yml`, read to change and write back.
struct ProjectFile {
    template: PathBuf,
    dir: PathBuf,
    generator: Generator,
}

impl ProjectFile {
    fn load(template: &TemplatePath) -> miette::Result<ProjectFile> {
        let template = std::path::absolute(template.locate()?)
            .map_err(|e| miette!("cannot resolve the template path: {e}"))?;
        // The directory `esb build` reads generator.yml from.
        let dir = template.parent().unwrap_or(Path::new("/")).to_owned();
        let generator = Generator::load_from_dir(&dir)?;
        Ok(ProjectFile {
            template,
            dir,
            generator,
        })
    }

    fn save(&self) -> miette::Result<PathBuf> {
        Ok(self.generator.save(&self.dir)?)
    }

    /// An error for `name`, which is not one of the environments.
    fn unknown(&self, name: &str) -> miette::Report {
        let known: Vec<&str> = self
            .generator
            .environments
            .keys()
            .map(String::as_str)
            .collect();
        let help = if known.is_empty() {
            format!("there are none yet: `esb env add {name}` adds it")
        } else {
            format!("the environments are {}", known.join(", "))
        };
        miette!(
            help = help,
            "{} has no environment {name}",
            self.dir.join(esb_build::GENERATOR_FILE).display()
        )
    }

    fn is_active(&self, name: &str) -> bool {
        self.generator.app.last_env.as_deref() == Some(name)
    }
}

impl EnvAddArgs {
    fn run(self) -> miette::Result<()> {
        let mut project = ProjectFile::load(&self.template)?;
        if project.generator.environments.contains_key(&self.name) {
            return Err(miette!(
                help = format!(
                    "`esb env rm {}` first, or edit it in generator.yml",
                    self.name
                ),
                "environment {} already exists",
                self.name
            ));
        }
        check_parameters(&project.template, &self.parameter_overrides)?;
        let environment = Environment {
            mode: self.mode,
            parameters: self
                .parameter_overrides
                .into_iter()
                .map(|(key, value)| (key, ParameterValue::Text(value)))
                .collect(),
            ports: Ports {
                gateway: self.port,
                s3: self.s3_port,
                dynamodb: self.dynamodb_port,
            },
        };
        project
            .generator
            .environments
            .insert(self.name.clone(), environment);
        let path = project.save()?;
        eprintln!(
            "{} added environment {} to {}",
            output::good("ok:"),
            self.name,
            path.display()
        );
        if !project.is_active(&self.name) {
            eprintln!("  `esb env use {}` makes it the active one", self.name);
        }
        Ok(())
    }
}

/// Refuses parameter names the template does not declare, which the build would only warn
/// about once the environment is active.
fn check_parameters(template: &Path, given: &[(String, String)]) -> miette::Result<()> {
    if given.is_empty() {
        return Ok(());
    }
    let declared = esb_template::parameters_of_file(template)?;
    let unknown: Vec<&str> = given
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !declared.iter().any(|p| p.name == *name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
    Err(miette!(
        help = if names.is_empty() {
            "the template declares no parameters".to_string()
        } else {
            format!("its parameters are {}", names.join(", "))
        },
        "{} declares no parameter {}",
        template.display(),
        unknown.join(", ")
    ))
}

impl EnvLsArgs {
    fn run(self) -> miette::Result<()> {
        let project = ProjectFile::load(&self.template)?;
        let environments = &project.generator.environments;
        if environments.is_empty() {
            eprintln!(
                "no environments in {}; `esb env add NAME` adds one",
                project.dir.join(esb_build::GENERATOR_FILE).display()
            );
            return Ok(());
        }
        let rows: Vec<[String; 4]> = environments
            .iter()
            .map(|(name, environment)| {
                [
                    name.clone(),
                    mode_cell(environment.mode.as_deref()),
                    ports_cell(&environment.ports),
                    parameters_cell(environment),
                ]
            })
            .collect();
        let header = ["NAME", "MODE", "PORTS", "PARAMETERS"].map(String::from);
        let widths: Vec<usize> = (0..4)
            .map(|column| {
                std::iter::once(&header)
                    .chain(&rows)
                    .map(|row| row[column].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |marker: &str, row: &[String; 4]| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{marker} {}", cells.join("  "))
                .trim_end()
                .to_string()
        };
        println!("{}", line(" ", &header));
        for row in &rows {
            let marker = if project.is_active(&row[0]) { "*" } else { " " };
            println!("{}", line(marker, row));
        }
        Ok(())
    }
}

fn mode_cell(mode: Option<&str>) -> String {
    match mode {
        None => "(default)".to_string(),
        Some(mode) => match DriverKind::parse(mode) {
            Ok(kind) if kind.is_built() => mode.to_string(),
            Ok(_) => format!("{mode} (not built yet)"),
            Err(_) => format!("{mode} (unknown)"),
        },
    }
}

fn ports_cell(ports: &Ports) -> String {
    let set: Vec<String> = [
        ("gateway", ports.gateway),
        ("s3", ports.s3),
        ("dynamodb", ports.dynamodb),
    ]
    .into_iter()
    .filter_map(|(service, port)| port.map(|port| format!("{service} {port}")))
    .collect();
    if set.is_empty() {
        "-".to_string()
    } else {
        set.join(", ")
    }
}

fn parameters_cell(environment: &Environment) -> String {
    if environment.parameters.is_empty() {
        return "-".to_string();
    }
    environment
        .parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", value.to_parameter_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl EnvUseArgs {
    fn run(self) -> miette::Result<()> {
        let mut project = ProjectFile::load(&self.template)?;
        if !project.generator.environments.contains_key(&self.name) {
            return Err(project.unknown(&self.name));
        }
        if project.is_active(&self.name) {
            eprintln!("environment {} is already the active one", self.name);
            return Ok(());
        }
        project.generator.app.last_env = Some(self.name.clone());
        project.save()?;
        eprintln!(
            "{} environment {} is active: esb build, up and invoke use its parameters, ports and mode",
            output::good("ok:"),
            self.name
        );
        Ok(())
    }
}

impl EnvRmArgs {
    fn run(self) -> miette::Result<()> {
        let mut project = ProjectFile::load(&self.template)?;
        if !project.generator.environments.contains_key(&self.name) {
            return Err(project.unknown(&self.name));
        }
        if project.is_active(&self.name) {
            if !self.force {
                return Err(miette!(
                    help = "`esb env use OTHER` first, or pass --force to remove it and leave no environment active",
                    "environment {} is the active one",
                    self.name
                ));
            }
            project.generator.app.last_env = None;
        }
        project.generator.environments.shift_remove(&self.name);
        project.save()?;
        eprintln!("{} removed environment {}", output::good("ok:"), self.name);
        Ok(())
    }
}

fn parse_name(text: &str) -> Result<String, String> {
    validate_name(text)
        .map(|()| text.to_string())
        .map_err(|error| error.to_string())
}

/// A mode this box runs workers in; the original ESB's container modes are refused with why.
fn parse_mode(text: &str) -> Result<String, String> {
    let built: Vec<&str> = DriverKind::ALL
        .into_iter()
        .filter(|kind| kind.is_built())
        .map(DriverKind::name)
        .collect();
    let built = built.join(", ");
    match DriverKind::parse(text) {
        Ok(kind) if kind.is_built() => Ok(kind.name().to_string()),
        Ok(kind) => Err(format!(
            "the {} mode is not built yet (container workers are planned); the modes this box runs are: {built}",
            kind.name()
        )),
        Err(_) => Err(format!(
            "unknown mode {text:?}; the modes this box runs are: {built}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn add(args: &[&str]) -> Result<EnvAddArgs, clap::Error> {
        let args = ["esb", "env", "add"].iter().chain(args);
        Cli::try_parse_from(args).map(|cli| match cli.command {
            Command::Env(EnvArgs {
                command: EnvCommand::Add(add),
            }) => add,
            other => panic!("not env add: {other:?}"),
        })
    }

    #[test]
    fn add_takes_a_mode_ports_and_parameters() {
        let args = add(&[
            "staging",
            "--mode",
            "Process",
            "--port",
            "9443",
            "--s3-port",
            "0",
            "--parameter-overrides",
            "Stage=prod",
            "Greeting=a=b",
        ])
        .expect("parses");
        assert_eq!(args.name, "staging");
        assert_eq!(args.mode.as_deref(), Some("process"));
        assert_eq!(
            (args.port, args.s3_port, args.dynamodb_port),
            (Some(9443), Some(0), None)
        );
        assert_eq!(
            args.parameter_overrides[1],
            ("Greeting".into(), "a=b".into())
        );
        assert_eq!(add(&["dev"]).expect("bare").mode, None);
    }

    #[test]
    fn add_refuses_bad_names_and_modes_saying_why() {
        let error = add(&["Dev"]).expect_err("capital").to_string();
        assert!(error.contains("start with a lower-case letter"), "{error}");
        let error = add(&["dev", "--mode", "docker"])
            .expect_err("docker")
            .to_string();
        assert!(error.contains("docker mode is not built yet"), "{error}");
        assert!(
            error.contains("modes this box runs are: process"),
            "{error}"
        );
        let error = add(&["dev", "--mode", "containerd"])
            .expect_err("containerd")
            .to_string();
        assert!(
            error.contains("containerd mode is not built yet"),
            "{error}"
        );
        let error = add(&["dev", "--mode", "firecracker"])
            .expect_err("unknown")
            .to_string();
        assert!(error.contains("unknown mode \"firecracker\""), "{error}");
        assert!(add(&["dev", "--port", "70000"]).is_err());
    }

    #[test]
    fn ls_cells_say_what_is_unset_and_what_is_not_built() {
        assert_eq!(mode_cell(None), "(default)");
        assert_eq!(mode_cell(Some("process")), "process");
        assert_eq!(mode_cell(Some("docker")), "docker (not built yet)");
        assert_eq!(ports_cell(&Ports::default()), "-");
        let ports = Ports {
            gateway: Some(1),
            s3: None,
            dynamodb: Some(3),
        };
        assert_eq!(ports_cell(&ports), "gateway 1, dynamodb 3");
    }
}
