//! `esb prune`: delete what esb left on this machine for the project, after listing it and
//! asking: the build output and a stopped box's state; with `--volumes` the box's data and
//! logs; with `--all` the per-user runtimes every project shares; with `--hard` generator.yml.
//! Only what esb itself makes is named, never "everything under .esb", so an output directory
//! pointed somewhere odd cannot take the user's files with it.

use std::path::{Path, PathBuf};

use clap::Args;
use esb_agent::catalog::{default_runtimes_dir, esb_home};
use esb_build::GENERATOR_FILE;
use indicatif::HumanBytes;
use miette::miette;

use crate::box_process::BoxLock;
use crate::cli::TemplatePath;
use crate::commands::down::volume_dirs;
use crate::projects::Projects;
use crate::run_state::{RunState, run_dir};
use crate::{confirm, output};

#[derive(Debug, Args)]
#[command(
    after_help = "Refuses while the project's box runs (`esb down` stops it). Lists \
    what it would delete and asks; without a terminal, --yes confirms."
)]
pub struct PruneArgs {
    #[command(flatten)]
    pub template: TemplatePath,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// Also the box's data and logs (.esb/data, .esb/logs): buckets, tables, function logs
    #[arg(long)]
    pub volumes: bool,
    /// Also the per-user caches every project shares: the runtimes under ESB_HOME (~/.esb)
    #[arg(long)]
    pub all: bool,
    /// Also generator.yml: the project's build settings and environments
    #[arg(long)]
    pub hard: bool,
}

/// Why `esb prune` will not delete anything.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PruneError {
    #[error("the box of {} is running at {url} (pid {pid})", project.display())]
    #[diagnostic(help(
        "`esb down` stops it (run there, or with -t); prune deletes only a stopped box's files"
    ))]
    Running {
        project: PathBuf,
        url: String,
        pid: u32,
    },
    #[error("a box of {} is starting (it holds {})", project.display(), lock.display())]
    #[diagnostic(help("wait for it and `esb down`, then prune"))]
    Starting { project: PathBuf, lock: PathBuf },
    #[error("the output directory {} holds the project itself", output_dir.display())]
    #[diagnostic(help(
        "prune deletes what esb writes into a separate output directory; set paths.output_dir in generator.yml to one"
    ))]
    OutputHoldsProject { output_dir: PathBuf },
}

/// One path to delete and the bytes it holds.
#[derive(Debug)]
struct Target {
    path: PathBuf,
    bytes: u64,
}

impl PruneArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = std::path::absolute(self.template.locate()?)
            .map_err(|e| miette!("cannot resolve the template path: {e}"))?;
        let project_dir = template.parent().unwrap_or(Path::new("/")).to_owned();
        let output_dir = esb_build::output_dir(&template)?;
        refuse_running(&project_dir, &output_dir)?;
        if self.all {
            // The runtimes are shared: a box of any project may be running workers from them.
            refuse_any_known_running()?;
        }
        let targets = self.targets(&project_dir, &output_dir)?;
        if targets.is_empty() {
            eprintln!("nothing to prune for {}", project_dir.display());
            return Ok(());
        }
        let total: u64 = targets.iter().map(|target| target.bytes).sum();
        let shown = |path: &Path| {
            path.strip_prefix(&project_dir)
                .unwrap_or(path)
                .display()
                .to_string()
        };
        if !self.yes {
            eprintln!("esb prune would delete, in {}:", project_dir.display());
            for target in &targets {
                eprintln!("  {:<40} {}", shown(&target.path), HumanBytes(target.bytes));
            }
        }
        let what = format!("{} path(s), {}", targets.len(), HumanBytes(total));
        if !confirm::deletion("esb prune", &what, self.yes)? {
            eprintln!("nothing deleted");
            return Ok(());
        }
        for target in &targets {
            remove(&target.path)?;
            eprintln!(
                "removed {} ({})",
                shown(&target.path),
                HumanBytes(target.bytes)
            );
        }
        // The output directory itself goes once esb's files are gone, if nothing else is left.
        let _ = std::fs::remove_dir(&output_dir);
        eprintln!("{} freed {}", output::good("ok:"), HumanBytes(total));
        Ok(())
    }

    /// What the flags ask to delete, among what exists.
    fn targets(&self, project_dir: &Path, output_dir: &Path) -> miette::Result<Vec<Target>> {
        let mut paths = Vec::new();
        if output_dir.exists() {
            let holds_project = project_dir
                .canonicalize()
                .ok()
                .zip(output_dir.canonicalize().ok())
                .is_some_and(|(project, output)| project.starts_with(output));
            if holds_project {
                return Err(PruneError::OutputHoldsProject {
                    output_dir: output_dir.to_owned(),
                }
                .into());
            }
            paths.extend(esb_build::build_outputs(output_dir));
            paths.push(run_dir(output_dir));
            if self.volumes {
                paths.extend(volume_dirs(output_dir));
            }
        }
        if self.hard {
            paths.push(project_dir.join(GENERATOR_FILE));
        }
        if self.all {
            paths.push(default_runtimes_dir());
        }
        Ok(paths
            .into_iter()
            .filter(|path| path.symlink_metadata().is_ok())
            .map(|path| Target {
                bytes: disk_usage(&path),
                path,
            })
            .collect())
    }
}

/// Refuses while the project's box runs or starts: its state, build and data are in use.
fn refuse_running(project_dir: &Path, output_dir: &Path) -> Result<(), PruneError> {
    if let Some(state) = RunState::read_live(output_dir) {
        return Err(PruneError::Running {
            project: project_dir.to_owned(),
            url: state.url,
            pid: state.pid,
        });
    }
    // A box holds its lock from before it writes its state: one that is starting.
    let run_dir = run_dir(output_dir);
    if run_dir.is_dir() && BoxLock::is_held(&run_dir) {
        return Err(PruneError::Starting {
            project: project_dir.to_owned(),
            lock: crate::box_process::lock_path(&run_dir),
        });
    }
    Ok(())
}

/// Refuses while the box of any project `esb project use` recorded runs.
fn refuse_any_known_running() -> miette::Result<()> {
    let projects = Projects::load(&esb_home())?;
    for dir in projects.known() {
        let Ok(template) = esb_build::project_template(dir) else {
            continue;
        };
        if let Ok(output_dir) = esb_build::output_dir(&template) {
            refuse_running(dir, &output_dir)?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> miette::Result<()> {
    let removed = if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.map_err(|e| miette!("cannot delete {}: {e}", path.display()))
}

/// The bytes of the files under `path`, links not followed.
fn disk_usage(path: &Path) -> u64 {
    let Ok(metadata) = path.symlink_metadata() else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.len();
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| disk_usage(&entry.path()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::box_process::start_time;

    fn args() -> PruneArgs {
        PruneArgs {
            template: TemplatePath { template: None },
            yes: true,
            volumes: false,
            all: false,
            hard: false,
        }
    }

    #[test]
    fn a_running_box_is_refused_and_a_dead_ones_state_is_not() {
        let project = tempfile::tempdir().expect("tempdir");
        let output_dir = project.path().join(".esb");
        let state = RunState {
            pid: std::process::id(),
            started: start_time(std::process::id()).expect("own start time"),
            url: "http://127.0.0.1:1".into(),
            addr: "127.0.0.1:1".parse().expect("addr"),
            admin: "127.0.0.1:2".parse().expect("addr"),
            s3: None,
            dynamodb: None,
            resources: None,
        };
        state.write(&output_dir).expect("state");
        // No lock held: what a box that died leaves.
        refuse_running(project.path(), &output_dir).expect("a dead box's state is prunable");

        let lock = BoxLock::acquire(&run_dir(&output_dir))
            .expect("lock")
            .expect("free");
        let error = refuse_running(project.path(), &output_dir).expect_err("running");
        assert!(matches!(error, PruneError::Running { pid, .. } if pid == std::process::id()));
        RunState::remove(&output_dir);
        let error = refuse_running(project.path(), &output_dir).expect_err("starting");
        assert!(matches!(error, PruneError::Starting { .. }), "{error}");
        drop(lock);
    }

    #[test]
    fn targets_are_what_esb_made_and_exist() {
        let project = tempfile::tempdir().expect("tempdir");
        let output_dir = project.path().join(".esb");
        for dir in [
            "config",
            "functions/Hello/task",
            "run",
            "data",
            "logs",
            "mine",
        ] {
            std::fs::create_dir_all(output_dir.join(dir)).expect("mkdir");
        }
        std::fs::write(output_dir.join("functions/Hello/task/app.py"), "12345").expect("write");
        std::fs::write(project.path().join(GENERATOR_FILE), "{}\n").expect("write");
        let names = |args: &PruneArgs| -> Vec<String> {
            args.targets(project.path(), &output_dir)
                .expect("targets")
                .iter()
                .map(|t| {
                    t.path
                        .strip_prefix(project.path())
                        .expect("inside")
                        .display()
                        .to_string()
                })
                .collect()
        };
        assert_eq!(
            names(&args()),
            [".esb/config", ".esb/functions", ".esb/run"]
        );
        let everything = PruneArgs {
            volumes: true,
            hard: true,
            ..args()
        };
        assert_eq!(
            names(&everything),
            [
                ".esb/config",
                ".esb/functions",
                ".esb/run",
                ".esb/data",
                ".esb/logs",
                GENERATOR_FILE
            ]
        );
        let functions = args()
            .targets(project.path(), &output_dir)
            .expect("targets");
        assert_eq!(functions[1].bytes, 5);
    }

    #[test]
    fn an_output_directory_holding_the_project_is_refused() {
        let project = tempfile::tempdir().expect("tempdir");
        let error = args()
            .targets(project.path(), &project.path().join("."))
            .expect_err("the project itself");
        assert!(
            error.to_string().contains("holds the project itself"),
            "{error}"
        );
    }
}
