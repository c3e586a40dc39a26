//! From a built function (an entry of `functions.yml`) to what starts its workers: absolute
//! paths, the runtime's launch command, and this box's region, account and credentials.

use std::path::{Path, PathBuf};

use esb_model::PackageType;
use esb_model::artifacts::FunctionArtifact;
use esb_model::credentials;
use indexmap::IndexMap;

use crate::environment::{Credentials, Endpoints};
use crate::runtimes::{LaunchCommand, Runtime, RuntimeClients, RuntimeError, launch_command};
use crate::worker::WorkerSpec;

/// Node-wide settings every worker shares.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub region: String,
    pub account_id: String,
    pub credentials: Credentials,
    pub endpoints: Endpoints,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            region: credentials::DEFAULT_REGION.to_string(),
            account_id: "123456789012".to_string(),
            credentials: Credentials {
                access_key_id: credentials::DEFAULT_ACCESS_KEY_ID.to_string(),
                secret_access_key: credentials::DEFAULT_SECRET_ACCESS_KEY.to_string(),
                session_token: None,
            },
            endpoints: Endpoints::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(
        "function {function} has PackageType Image; the process driver runs zip functions \
         (container drivers come later)"
    )]
    ImageFunction { function: String },
    #[error("function {function} has no Runtime")]
    NoRuntime { function: String },
    #[error("function {function} has no build directory; run `esb build`")]
    NotBuilt { function: String },
    #[error(
        "function {function}: AWS_LAMBDA_EXEC_WRAPPER names {wrapper}, which is not an \
         executable file in the function's code or layers"
    )]
    ExecWrapper { function: String, wrapper: String },
    #[error("function {function}: {source}")]
    Runtime {
        function: String,
        source: RuntimeError,
    },
}

/// The variable naming a script that starts a managed runtime (Lambda's "wrapper scripts").
const EXEC_WRAPPER: &str = "AWS_LAMBDA_EXEC_WRAPPER";

/// The launch command run through a wrapper script, as Lambda runs it: the wrapper gets the
/// runtime's command line as its arguments (and usually ends with `exec "$@"`). `/opt/…` and
/// `/var/task/…` name the function's layers and code where this box keeps them. `None` when
/// the wrapper is not an executable file.
fn wrap_launch(
    launch: LaunchCommand,
    wrapper: &str,
    task_root: &Path,
    opt_dir: &Path,
) -> Option<LaunchCommand> {
    let wrapper = match (
        wrapper.strip_prefix("/opt/"),
        wrapper.strip_prefix("/var/task/"),
    ) {
        (Some(in_layers), _) => opt_dir.join(in_layers),
        (_, Some(in_code)) => task_root.join(in_code),
        _ => PathBuf::from(wrapper),
    };
    if !crate::runtimes::is_executable(&wrapper) {
        return None;
    }
    let mut args = vec![launch.program.display().to_string()];
    args.extend(launch.args);
    Some(LaunchCommand {
        runs_on: format!("{} through {}", launch.runs_on, wrapper.display()),
        program: wrapper,
        args,
        mounts: launch.mounts,
        libraries: launch.libraries,
        warning: launch.warning,
    })
}

/// The user's esb home, `$ESB_HOME`, else `~/.esb`: what esb keeps per user rather than per
/// project (runtimes, the local CA, the list of projects).
pub fn esb_home() -> PathBuf {
    let home = std::env::var_os("ESB_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".esb")));
    home.unwrap_or_else(|| std::env::temp_dir().join("esb"))
}

/// `~/.esb/runtimes`, or `$ESB_HOME/runtimes`.
pub fn default_runtimes_dir() -> PathBuf {
    esb_home().join("runtimes")
}

/// The spec for one built function. Blocking: a Python environment may be created.
pub fn worker_spec(
    artifact: &FunctionArtifact,
    project_dir: &Path,
    settings: &AgentSettings,
    clients: &RuntimeClients,
    env_overrides: IndexMap<String, String>,
) -> Result<WorkerSpec, CatalogError> {
    let function = &artifact.function;
    let name = || function.name.clone();
    if function.package_type == PackageType::Image {
        return Err(CatalogError::ImageFunction { function: name() });
    }
    let runtime = function
        .runtime
        .as_deref()
        .ok_or_else(|| CatalogError::NoRuntime { function: name() })?;
    let (Some(task_root), Some(opt_dir)) = (&artifact.task_root, &artifact.opt_dir) else {
        return Err(CatalogError::NotBuilt { function: name() });
    };
    let task_root = project_dir.join(task_root);
    let opt_dir = project_dir.join(opt_dir);
    if !task_root.is_dir() {
        return Err(CatalogError::NotBuilt { function: name() });
    }
    let runtime_error = |source| CatalogError::Runtime {
        function: name(),
        source,
    };
    let runtime = Runtime::parse(runtime).map_err(runtime_error)?;
    let handler = function.handler.as_deref().unwrap_or_default();
    let mut launch =
        launch_command(&runtime, handler, &task_root, clients).map_err(runtime_error)?;
    if runtime != Runtime::Provided
        && let Some(wrapper) = function.environment.get(EXEC_WRAPPER)
    {
        launch = wrap_launch(launch, wrapper, &task_root, &opt_dir).ok_or_else(|| {
            CatalogError::ExecWrapper {
                function: name(),
                wrapper: wrapper.clone(),
            }
        })?;
    }
    Ok(WorkerSpec {
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{}",
            settings.region, settings.account_id, function.name
        ),
        function: function.clone(),
        launch,
        task_root,
        opt_dir,
        region: settings.region.clone(),
        credentials: settings.credentials.clone(),
        endpoints: settings.endpoints.clone(),
        env_overrides,
        host_path: std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
    })
}
