//! `esb status`: whether the box runs, where, and each function's workers.

use clap::Args;

use crate::cli::TemplateArgs;
use crate::output;
use crate::run_state::{RunState, http_get};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

impl StatusArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let output_dir = esb_build::output_dir(&template)?;
        let Some(state) = RunState::read_live(&output_dir) else {
            if self.json {
                println!("{}", serde_json::json!({"running": false}));
            } else {
                println!("esb is not running");
            }
            return Ok(());
        };
        let healthy =
            http_get(state.admin, "/_esb/health").is_some_and(|(status, _)| status == 200);
        let functions: serde_json::Value = http_get(state.admin, "/_esb/status")
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or(serde_json::Value::Null);
        if self.json {
            let status = serde_json::json!({
                "running": true, "pid": state.pid, "url": state.url, "healthy": healthy,
                "s3": state.s3, "dynamodb": state.dynamodb,
                "functions": functions["functions"],
                "isolation": functions["isolation"],
            });
            println!("{status}");
            return Ok(());
        }
        println!(
            "esb is running at {} (pid {}), {}",
            state.url,
            state.pid,
            if healthy {
                "healthy"
            } else {
                "not answering /health"
            }
        );
        if let (Some(s3), Some(dynamodb)) = (&state.s3, &state.dynamodb) {
            println!("  S3: {s3}   DynamoDB: {dynamodb}");
        }
        if let Some(summary) = functions["isolation"]["summary"].as_str() {
            let label = if functions["isolation"]["sandboxed"] == true {
                "workers:".to_string()
            } else {
                output::warn("workers:").to_string()
            };
            println!("  {label} {summary}");
        }
        for function in functions["functions"].as_array().into_iter().flatten() {
            let name = function["name"].as_str().unwrap_or("?");
            if let Some(error) = function["error"].as_str() {
                println!("  {name:<28} {} {error}", output::bad("cannot run:"));
                continue;
            }
            println!(
                "  {name:<28} idle {}  busy {}  starting {}  cold starts {}",
                function["idle"], function["busy"], function["starting"], function["started"],
            );
            if let Some(runs_on) = function["runsOn"].as_str() {
                println!(
                    "  {:<28} {} on {runs_on}",
                    "",
                    function["runtime"].as_str().unwrap_or("?")
                );
            }
            if let Some(warning) = function["warning"].as_str() {
                println!("  {:<28} {} {warning}", "", output::warn("warning:"));
            }
        }
        Ok(())
    }
}
