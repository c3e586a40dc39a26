//! `esb down`: stop the box `esb up` started — SIGTERM, so in-flight requests drain and every
//! worker stops — and wait until it is gone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use miette::miette;
use rustix::process::Signal;

use crate::box_process::BoxProcess;
use crate::cli::TemplateArgs;
use crate::run_state::{RunState, StopReport};
use crate::{confirm, output};

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Seconds to wait for a graceful stop before killing
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Also delete the box's data and logs (.esb/data, .esb/logs), after confirmation
    #[arg(long)]
    pub volumes: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
}

impl DownArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let output_dir = esb_build::output_dir(&template)?;
        // Only a box proved to be ours is signalled: a stale state file whose pid now belongs
        // to another process is removed, and that process left alone.
        match RunState::read_live_process(&output_dir) {
            Some((_, process)) => self.stop(&process, &output_dir),
            None => eprintln!("esb is not running"),
        }
        RunState::remove(&output_dir);
        if self.volumes {
            delete_volumes(&output_dir, self.yes)?;
        }
        Ok(())
    }

    fn stop(&self, process: &BoxProcess, output_dir: &Path) {
        let _ = StopReport::take(output_dir);
        process.signal(Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(self.timeout);
        while process.is_running() {
            if Instant::now() > deadline {
                process.signal(Signal::KILL);
                eprintln!(
                    "esb (pid {}) did not stop within {} s; killed",
                    process.pid(),
                    self.timeout
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("{} esb is down", output::good("ok:"));
        if let Some(summary) = StopReport::take(output_dir).and_then(|r| r.summary()) {
            eprintln!(
                "{} {summary}; raise --drain (esb up) or drain_seconds to let them finish",
                output::warn("warning:")
            );
        }
    }
}

/// The directories `--volumes` deletes: what the box stored, not what `esb build` made.
pub fn volume_dirs(output_dir: &Path) -> [PathBuf; 2] {
    [output_dir.join("data"), output_dir.join("logs")]
}

fn delete_volumes(output_dir: &Path, yes: bool) -> miette::Result<()> {
    let present: Vec<PathBuf> = volume_dirs(output_dir)
        .into_iter()
        .filter(|d| d.exists())
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    let list = present
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !confirm::deletion("--volumes", &list, yes)? {
        eprintln!("kept {list}");
        return Ok(());
    }
    for dir in &present {
        std::fs::remove_dir_all(dir)
            .map_err(|e| miette!("cannot delete {}: {e}", dir.display()))?;
    }
    eprintln!("{} deleted {list}", output::good("ok:"));
    Ok(())
}
