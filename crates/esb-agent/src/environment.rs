//! The environment a worker process starts with: what AWS Lambda sets for every function,
//! the template's variables, and endpoints that point the AWS SDKs at this box.
//!
//! Order matters and follows Lambda: defaults the function may override (`PATH`, SDK
//! endpoints, …), then the function's own variables (and `--env-vars` overrides), then the
//! reserved variables no function can change (`_HANDLER`, `AWS_REGION`, credentials, …).

use std::net::SocketAddr;
use std::path::Path;

use esb_model::Function;
use indexmap::IndexMap;

/// Where the SDKs inside a function reach S3, DynamoDB, Lambda and CloudWatch Logs.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub s3: Option<String>,
    pub dynamodb: Option<String>,
    pub lambda: Option<String>,
    pub logs: Option<String>,
}

impl Endpoints {
    /// The endpoints on this host's loopback (the box's own services), which a worker in its
    /// own network namespace must still reach at the same address.
    /// Each address once (one external service may stand in for both S3 and DynamoDB).
    pub fn loopback_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = Vec::new();
        let found = [&self.s3, &self.dynamodb, &self.lambda, &self.logs]
            .into_iter()
            .flatten()
            .filter_map(|url| loopback_addr(url));
        for addr in found {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        addrs
    }
}

/// `http://127.0.0.1:9000/…` or `http://localhost:9000` → `127.0.0.1:9000`; `None` for any
/// other host or a URL without a port.
fn loopback_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next()?;
    let addr = authority.replacen("localhost:", "127.0.0.1:", 1);
    let addr: SocketAddr = addr.parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

/// The credentials every worker gets (the box's own, not a real AWS account's).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Everything besides the function that shapes its environment.
#[derive(Debug, Clone)]
pub struct EnvironmentContext<'a> {
    pub region: &'a str,
    pub credentials: &'a Credentials,
    pub endpoints: &'a Endpoints,
    /// What `/var/task` is for this function.
    pub task_root: &'a Path,
    /// What `/opt` is for this function.
    pub opt_dir: &'a Path,
    pub log_stream_name: &'a str,
    /// `esb invoke --env-vars` values for this function; they win over the template's.
    pub overrides: &'a IndexMap<String, String>,
    /// The host's `PATH`, kept after the layer's `bin/` so system tools still resolve.
    pub host_path: &'a str,
    /// Libraries the runtime preinstalls (the Node.js AWS SDK), after the layers.
    pub runtime_libraries: &'a [std::path::PathBuf],
}

/// The full environment, in the order it is applied (later entries win), but
/// `AWS_LAMBDA_RUNTIME_API`, which the worker's driver sets where it binds the Runtime API.
pub fn lambda_environment(function: &Function, ctx: &EnvironmentContext) -> Vec<(String, String)> {
    let runtime = function.runtime.as_deref().unwrap_or("provided.al2023");
    let task = ctx.task_root.display().to_string();
    let opt = ctx.opt_dir.display().to_string();
    let mut env: IndexMap<String, String> = IndexMap::new();
    let mut set = |key: &str, value: String| {
        env.insert(key.to_string(), value);
    };

    // Defaults a function may override.
    set("PATH", format!("{opt}/bin:{task}/bin:{}", ctx.host_path));
    set("LD_LIBRARY_PATH", format!("{opt}/lib:{task}/lib"));
    set("LANG", "en_US.UTF-8".to_string());
    set("TZ", ":UTC".to_string());
    if let Some(version) = runtime.strip_prefix("python") {
        set(
            "PYTHONPATH",
            format!("{task}:{opt}/python/lib/python{version}/site-packages:{opt}/python"),
        );
    }
    if let Some(major) = runtime
        .strip_prefix("nodejs")
        .and_then(|v| v.strip_suffix(".x"))
    {
        // Lambda's order: layers, the runtime's own modules (the SDK), the function's code.
        let mut dirs = vec![
            format!("{opt}/nodejs/node{major}/node_modules"),
            format!("{opt}/nodejs/node_modules"),
        ];
        dirs.extend(
            ctx.runtime_libraries
                .iter()
                .map(|d| d.display().to_string()),
        );
        dirs.push(format!("{task}/node_modules"));
        set("NODE_PATH", dirs.join(":"));
    }
    let endpoints = [
        ("AWS_ENDPOINT_URL_S3", &ctx.endpoints.s3),
        ("AWS_ENDPOINT_URL_DYNAMODB", &ctx.endpoints.dynamodb),
        ("AWS_ENDPOINT_URL_LAMBDA", &ctx.endpoints.lambda),
        ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &ctx.endpoints.logs),
    ];
    for (key, value) in endpoints {
        if let Some(url) = value {
            set(key, url.clone());
        }
    }

    // The function's own variables, then invoke-time overrides.
    for (key, value) in function.environment.iter().chain(ctx.overrides) {
        set(key, value.clone());
    }

    // Reserved: Lambda does not let a function change these.
    set("_HANDLER", function.handler.clone().unwrap_or_default());
    set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{runtime}"));
    set("AWS_REGION", ctx.region.to_string());
    set("AWS_DEFAULT_REGION", ctx.region.to_string());
    set("AWS_LAMBDA_FUNCTION_NAME", function.name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        function.memory_size.to_string(),
    );
    set(
        "AWS_LAMBDA_LOG_GROUP_NAME",
        format!("/aws/lambda/{}", function.name),
    );
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        ctx.log_stream_name.to_string(),
    );
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string());
    set("LAMBDA_TASK_ROOT", task.clone());
    set("LAMBDA_RUNTIME_DIR", task);
    set("AWS_ACCESS_KEY_ID", ctx.credentials.access_key_id.clone());
    set(
        "AWS_SECRET_ACCESS_KEY",
        ctx.credentials.secret_access_key.clone(),
    );
    if let Some(token) = &ctx.credentials.session_token {
        set("AWS_SESSION_TOKEN", token.clone());
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> Function {
        Function {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            code_uri: Some("src/".into()),
            memory_size: 256,
            environment: [
                ("TABLE".to_string(), "items".to_string()),
                ("AWS_REGION".to_string(), "eu-north-1".to_string()),
                (
                    "AWS_ENDPOINT_URL_S3".to_string(),
                    "http://minio:9000".to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            ..Function::new("Hello", "hello")
        }
    }

    #[test]
    fn lambda_variables_are_set_and_reserved_ones_cannot_be_overridden() {
        let credentials = Credentials {
            access_key_id: "esb".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        };
        let endpoints = Endpoints {
            s3: Some("http://127.0.0.1:9000".into()),
            dynamodb: Some("http://127.0.0.1:8001".into()),
            ..Endpoints::default()
        };
        let overrides: IndexMap<String, String> = [("TABLE".to_string(), "override".to_string())]
            .into_iter()
            .collect();
        let ctx = EnvironmentContext {
            region: "us-east-1",
            credentials: &credentials,
            endpoints: &endpoints,
            task_root: Path::new("/p/.esb/functions/hello/task"),
            opt_dir: Path::new("/p/.esb/functions/hello/opt"),
            log_stream_name: "2026/11/23/[$LATEST]abc",
            overrides: &overrides,
            host_path: "/usr/bin:/bin",
            runtime_libraries: &[],
        };
        let env: IndexMap<String, String> =
            lambda_environment(&function(), &ctx).into_iter().collect();
        assert!(
            !env.contains_key("AWS_LAMBDA_RUNTIME_API"),
            "the driver's to set"
        );
        assert_eq!(env["_HANDLER"], "app.handler");
        assert_eq!(
            env["AWS_REGION"], "us-east-1",
            "reserved: the template cannot change it"
        );
        assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/hello");
        assert_eq!(env["TZ"], ":UTC");
        assert_eq!(env["TABLE"], "override");
        assert_eq!(
            env["AWS_ENDPOINT_URL_S3"], "http://minio:9000",
            "endpoints are the function's to change"
        );
        assert_eq!(env["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:8001");
        assert!(env["PYTHONPATH"].starts_with("/p/.esb/functions/hello/task:"));
        assert!(env["PYTHONPATH"].contains("/opt/python/lib/python3.12/site-packages"));
        assert!(env["PATH"].ends_with(":/usr/bin:/bin"));
        assert!(!env.contains_key("AWS_SESSION_TOKEN"));
    }

    #[test]
    fn node_path_searches_layers_then_the_runtime_sdk_then_the_code() {
        let credentials = Credentials {
            access_key_id: "esb".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        };
        let sdk = [std::path::PathBuf::from(
            "/root/.esb/runtimes/sdk/node_modules",
        )];
        let ctx = EnvironmentContext {
            region: "us-east-1",
            credentials: &credentials,
            endpoints: &Endpoints::default(),
            task_root: Path::new("/var/task"),
            opt_dir: Path::new("/opt"),
            log_stream_name: "s",
            overrides: &IndexMap::new(),
            host_path: "/usr/bin",
            runtime_libraries: &sdk,
        };
        let function = Function {
            runtime: Some("nodejs20.x".into()),
            ..function()
        };
        let env: IndexMap<String, String> =
            lambda_environment(&function, &ctx).into_iter().collect();
        assert_eq!(
            env["NODE_PATH"],
            "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:\
             /root/.esb/runtimes/sdk/node_modules:/var/task/node_modules"
        );
    }

    #[test]
    fn loopback_endpoints_are_found() {
        let endpoints = Endpoints {
            s3: Some("http://127.0.0.1:9000".into()),
            dynamodb: Some("http://localhost:8001/".into()),
            lambda: Some("http://minio.example:9000".into()),
            logs: Some("http://[::1]:9428".into()),
        };
        let shared = Endpoints {
            s3: Some("http://127.0.0.1:5000".into()),
            dynamodb: Some("http://127.0.0.1:5000".into()),
            ..Endpoints::default()
        };
        assert_eq!(
            shared.loopback_addrs().len(),
            1,
            "one listener for one service"
        );
        let addrs: Vec<String> = endpoints
            .loopback_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(addrs, ["127.0.0.1:9000", "127.0.0.1:8001", "[::1]:9428"]);
    }
}
