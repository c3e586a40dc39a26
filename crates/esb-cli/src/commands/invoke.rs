//! `esb invoke FUNCTION`: build if needed, run one invocation in a fresh worker like
//! `sam local invoke`, print the result on stdout and the function's log on stderr. A
//! streamed response is printed chunk by chunk as it arrives.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use esb_agent::catalog::{AgentSettings, default_runtimes_dir, worker_spec};

use crate::commands::data_roles::DataSettings;
use crate::commands::workers::WorkerArgs;
use crate::config::Layers;
use crate::run_state::RunState;
use esb_agent::runtimes::RuntimeClients;
use esb_agent::{BodyStream, InvokeInput, StreamError, Worker};
use esb_build::{BuildOptions, BuildRequest};
use esb_model::artifacts::{self, FunctionArtifact, FunctionsFile};
use indexmap::IndexMap;
use miette::{IntoDiagnostic, miette};

use crate::cli::{CopyArgs, TemplateArgs};
use crate::exit::FunctionFailed;
use crate::function_log::{FunctionLog, Terminal};

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The function's name or logical id
    pub function: String,
    /// The event as a JSON file, or - for standard input [default: {}]
    #[arg(short, long, value_name = "FILE")]
    pub event: Option<PathBuf>,
    /// JSON of environment overrides: {"Function": {"VAR": "v"}, "Parameters": {"VAR": "v"}}
    #[arg(short = 'n', long, value_name = "FILE")]
    pub env_vars: Option<PathBuf>,
    /// `tail`: print only the last 4 KB of the log after the result, as Lambda's LogResult
    #[arg(long, value_enum)]
    pub log_type: Option<LogType>,
    /// Refuse to run a function whose runtime version this host does not have exactly
    #[arg(long)]
    pub strict_runtimes: bool,
    #[command(flatten)]
    pub template: TemplateArgs,
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub workers: WorkerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogType {
    Tail,
}

impl InvokeArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let report = esb_build::build(&BuildRequest {
            template: template.clone(),
            input: self.template.input(),
            options: BuildOptions {
                allow_outside_links: self.copy.allow_outside_links,
                ..BuildOptions::default()
            },
        })?;
        let project_dir = template
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let functions: FunctionsFile = artifacts::read(
            &report
                .output_dir
                .join("config")
                .join(artifacts::FUNCTIONS_FILE),
        )
        .into_diagnostic()?;
        let artifact = find_function(&functions, &self.function)?;
        let payload = read_event(self.event.as_deref())?;
        let overrides = read_env_vars(self.env_vars.as_deref(), artifact)?;

        let clients = RuntimeClients::new(default_runtimes_dir(), self.strict_runtimes);
        let settings = box_settings(&project_dir, &report.output_dir)?;
        let spec = worker_spec(artifact, &project_dir, &settings, &clients, overrides)
            .into_diagnostic()?;
        if let Some(warning) = &spec.launch.warning {
            eprintln!("{} {warning}", crate::output::warn("warning:"));
        }
        let log_file = report
            .output_dir
            .join("logs")
            .join(format!("{}.log", spec.function.name));
        let terminal = if self.log_type.is_none() {
            Terminal::Plain
        } else {
            Terminal::Off
        };
        let sink = Arc::new(FunctionLog::open(&log_file, terminal)?);
        let driver = self.workers.driver(&Layers::load(&project_dir)?)?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .into_diagnostic()?;
        let (result, streamed) = runtime
            .block_on(async {
                let worker = Worker::start(Arc::new(spec), driver.as_ref(), sink).await?;
                let result = worker
                    .invoke(InvokeInput {
                        request_id: esb_model::ids::request_id(),
                        payload,
                        trace_id: Some(esb_model::ids::trace_id()),
                        client_context: None,
                        cognito_identity: None,
                    })
                    .await;
                // A stream is printed while the worker still runs; it ends before the worker.
                let streamed = match result {
                    Ok(mut result) => {
                        let streamed = match result.stream.as_mut() {
                            Some(stream) => Some(print_stream(stream).await),
                            None => None,
                        };
                        Ok((result, streamed))
                    }
                    Err(error) => Err(error),
                };
                worker.shutdown().await;
                driver.release().await;
                streamed
            })
            .into_diagnostic()?;

        let mut stdout = std::io::stdout().lock();
        // Empty when the body was streamed (already printed).
        stdout.write_all(&result.payload).into_diagnostic()?;
        writeln!(stdout).into_diagnostic()?;
        if self.log_type == Some(LogType::Tail) {
            eprint!("{}", result.log_tail);
        }
        let function = artifact.function.name.clone();
        match (result.function_error, streamed) {
            (Some(error), _) => Err(FunctionFailed {
                function,
                error: error.as_str(),
            }
            .into()),
            (None, Some(Err(error))) => {
                eprintln!("{} {error}", crate::output::warn("stream error:"));
                Err(FunctionFailed {
                    function,
                    error: "Unhandled",
                }
                .into())
            }
            (None, _) => Ok(()),
        }
    }
}

/// Prints a streamed body to stdout chunk by chunk; the error it ended with, if any.
async fn print_stream(stream: &mut BodyStream) -> Result<(), StreamError> {
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) stops printing, not the function.
        let _ = stdout.write_all(&chunk).and_then(|()| stdout.flush());
    }
    Ok(())
}

fn find_function<'a>(
    functions: &'a FunctionsFile,
    wanted: &str,
) -> miette::Result<&'a FunctionArtifact> {
    let by = |matches: &dyn Fn(&FunctionArtifact) -> bool| {
        functions.functions.iter().find(|f| matches(f))
    };
    by(&|f| f.function.name == wanted)
        .or_else(|| by(&|f| f.function.logical_id == wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = functions
                .functions
                .iter()
                .map(|f| f.function.name.as_str())
                .collect();
            miette!(
                help = format!("functions in this template: {}", names.join(", ")),
                "no function named {wanted}"
            )
        })
}

/// The event bytes: a file, standard input, or `{}`; it must be JSON, as Lambda requires.
fn read_event(path: Option<&Path>) -> miette::Result<Bytes> {
    let bytes = match path {
        None => b"{}".to_vec(),
        Some(path) if path == Path::new("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .into_diagnostic()?;
            buffer
        }
        Some(path) => std::fs::read(path)
            .map_err(|e| miette!("cannot read the event file {}: {e}", path.display()))?,
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| miette!("the event is not valid JSON: {e}"))?;
    Ok(Bytes::from(bytes))
}

/// `--env-vars`, as `sam local invoke` reads it: `Parameters` apply to every function, a
/// function's own entry (by logical id or name) wins.
fn read_env_vars(
    path: Option<&Path>,
    artifact: &FunctionArtifact,
) -> miette::Result<IndexMap<String, String>> {
    let Some(path) = path else {
        return Ok(IndexMap::new());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| miette!("cannot read the env-vars file {}: {e}", path.display()))?;
    let file: IndexMap<String, IndexMap<String, serde_json::Value>> = serde_json::from_str(&text)
        .map_err(|e| {
        miette!(
            "{}: expected {{\"Function\": {{\"VAR\": \"value\"}}}}: {e}",
            path.display()
        )
    })?;
    let function = &artifact.function;
    let mut overrides = IndexMap::new();
    for section in [
        "Parameters",
        function.logical_id.as_str(),
        function.name.as_str(),
    ] {
        for (key, value) in file.get(section).into_iter().flatten() {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            overrides.insert(key.clone(), value);
        }
    }
    Ok(overrides)
}

/// The box's credentials and region; when the project's box is running, also its S3, DynamoDB
/// and Lambda endpoints, so the function reaches the same data as under `esb up` (as
/// `sam local invoke` reaches the real account).
fn box_settings(project_dir: &Path, output_dir: &Path) -> miette::Result<AgentSettings> {
    let data = DataSettings::resolve(None, None, &Layers::load(project_dir)?)?;
    let mut settings = data.credentials.agent_settings();
    if let Some(state) = RunState::read_live(output_dir) {
        settings.endpoints.s3 = state.s3;
        settings.endpoints.dynamodb = state.dynamodb;
        settings.endpoints.lambda = Some(format!("http://{}", state.admin));
    }
    Ok(settings)
}
