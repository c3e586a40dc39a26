//! `esb down`: stop the box `esb up` started — SIGTERM, so in-flight requests drain and every
//! worker stops — and wait until it is gone.

use std::time::{Duration, Instant};

use clap::Args;
use miette::{IntoDiagnostic, miette};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cli::TemplateArgs;
use crate::output;
use crate::run_state::{RunState, process_alive};

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Seconds to wait for a graceful stop before killing
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

impl DownArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let resolved = esb_build::resolve(&template, &self.template.overrides())?;
        let output_dir = resolved.output_dir(None);
        let Some(state) = RunState::read_live(&output_dir) else {
            RunState::remove(&output_dir);
            eprintln!("esb is not running");
            return Ok(());
        };
        let pid = Pid::from_raw(i32::try_from(state.pid).into_diagnostic()?);
        kill(pid, Signal::SIGTERM).map_err(|e| miette!("cannot stop pid {}: {e}", state.pid))?;
        let deadline = Instant::now() + Duration::from_secs(self.timeout);
        while process_alive(state.pid) {
            if Instant::now() > deadline {
                let _ = kill(pid, Signal::SIGKILL);
                eprintln!("esb did not stop within {} s; killed", self.timeout);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        RunState::remove(&output_dir);
        eprintln!("{} esb is down", output::good("ok:"));
        Ok(())
    }
}
