//! `esb build`: the template to `.esb/`, then a short summary on stderr.

use std::path::PathBuf;

use clap::Args;
use esb_build::{BuildOptions, BuildReport, BuildRequest, BuildStatus};

use crate::cli::{CopyArgs, TemplateArgs};
use crate::output;

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Where to write the build [default: generator.yml paths.output_dir, else .esb beside the template]
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Show what would be built and installed; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Rebuild every function, even unchanged ones
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub copy: CopyArgs,
}

impl BuildArgs {
    pub fn run(self) -> miette::Result<()> {
        let output_dir = self
            .output_dir
            .map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        let request = BuildRequest {
            template: self.template.locate()?,
            input: self.template.input(),
            options: BuildOptions {
                output_dir,
                dry_run: self.dry_run,
                no_cache: self.no_cache,
                allow_outside_links: self.copy.allow_outside_links,
            },
        };
        let report = esb_build::build(&request)?;
        eprint!("{}", summary(&report));
        Ok(())
    }
}

fn summary(report: &BuildReport) -> String {
    let mut out = String::new();
    let verb = if report.dry_run {
        "Would build"
    } else {
        "Built"
    };
    let built = report.count(BuildStatus::Built) + report.count(BuildStatus::WouldBuild);
    let environment = report
        .environment
        .as_ref()
        .map(|name| format!(" (environment {name})"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} {built} function(s), {} unchanged, into {}{environment}\n",
        output::good(verb),
        report.count(BuildStatus::Unchanged),
        report.output_dir.display()
    ));
    for function in &report.functions {
        let installs = if function.installs.is_empty() {
            String::new()
        } else {
            format!(" ({})", function.installs.join(", "))
        };
        let status = match function.status {
            BuildStatus::Unchanged | BuildStatus::Image => output::dim(function.status),
            _ => output::good(function.status),
        };
        out.push_str(&format!("  {:<28} {status}{installs}\n", function.name));
    }
    let names = |list: &[String]| {
        if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        }
    };
    out.push_str(&format!(
        "{} {}  {} {}{}  {} {}{}\n",
        output::heading("routes:"),
        report.routes,
        output::heading("tables:"),
        report.tables.len(),
        names(&report.tables),
        output::heading("buckets:"),
        report.buckets.len(),
        names(&report.buckets),
    ));
    if report.dry_run {
        for path in &report.written {
            out.push_str(&format!("  would write {path}\n"));
        }
        for path in &report.removed {
            out.push_str(&format!("  would remove {path}\n"));
        }
    }
    for notice in notices(report) {
        out.push_str(&notice);
        out.push('\n');
    }
    out
}

/// The build's warnings and what the template declares that is not served, one line each:
/// `esb build` and `esb up` print them, `esb up --strict` refuses to start on any.
pub fn notices(report: &BuildReport) -> Vec<String> {
    let warnings = report
        .warnings
        .iter()
        .map(|warning| format!("{} {warning}", output::warn("warning:")));
    let events = report
        .unserved_events
        .iter()
        .map(|event| format!("{} {event}", output::warn("not served:")));
    let resources = report.unsupported.iter().map(|resource| {
        format!(
            "{} {} ({}) is not served here",
            output::warn("unsupported:"),
            resource.logical_id,
            resource.resource_type
        )
    });
    warnings.chain(events).chain(resources).collect()
}
