//! Builds a generated 200-function SAM project 10 times (first cold, then `no_cache`) and
//! prints min/median/max wall time. Run: `cargo bench -p esb-build --bench build_many`.

use std::path::Path;
use std::time::{Duration, Instant};

use esb_build::{BuildOptions, BuildRequest, BuildStatus};

const FUNCTIONS: usize = 200;
const RUNS: usize = 10;

fn write(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}

/// A template with `FUNCTIONS` python functions, each in its own small directory with an API
/// route, sharing one layer.
fn generate(dir: &Path) -> std::io::Result<()> {
    let mut template = String::from(
        "AWSTemplateFormatVersion: \"2010-09-09\"\nTransform: AWS::Serverless-2016-10-31\n\
         Globals:\n  Function:\n    Runtime: python3.12\n    Handler: app.handler\n\
         Resources:\n  Shared:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: layer/\n",
    );
    write(
        &dir.join("layer/python/shared.py"),
        "def shared():\n    return 1\n",
    )?;
    for i in 0..FUNCTIONS {
        let name = format!("Fn{i:03}");
        template.push_str(&format!(
            "  {name}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/{name}/\n      Layers: [!Ref Shared]\n      Events:\n        Get:\n          Type: Api\n          Properties:\n            Path: /{name}\n            Method: get\n"
        ));
        let code = dir.join("src").join(&name);
        write(
            &code.join("app.py"),
            &format!("def handler(event, context):\n    return {{'fn': '{name}'}}\n"),
        )?;
        write(
            &code.join("lib/helpers.py"),
            &"# helper\nX = 1\n".repeat(50),
        )?;
        write(&code.join("data/config.json"), "{\"enabled\": true}\n")?;
    }
    write(&dir.join("template.yaml"), &template)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    generate(dir.path())?;
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let request = BuildRequest {
            template: dir.path().join("template.yaml"),
            options: BuildOptions {
                no_cache: run > 0,
                ..BuildOptions::default()
            },
            ..BuildRequest::default()
        };
        let start = Instant::now();
        let report = esb_build::build(&request)?;
        times.push(start.elapsed());
        assert_eq!(report.count(BuildStatus::Built), FUNCTIONS);
    }
    let cold = times[0];
    let unchanged = {
        let request = BuildRequest {
            template: dir.path().join("template.yaml"),
            ..BuildRequest::default()
        };
        let start = Instant::now();
        esb_build::build(&request)?;
        start.elapsed()
    };
    times.sort();
    println!(
        "build_many: {FUNCTIONS} functions, {RUNS} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms (cold {:.1} ms; all unchanged {:.1} ms)",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1]),
        ms(cold),
        ms(unchanged),
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
