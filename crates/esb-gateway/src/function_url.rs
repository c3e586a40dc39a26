//! Function URLs (`FunctionUrlConfig`): each function with one is served on its own host name,
//! `<function-name>.lambda-url.localhost` (any port of the box; `*.localhost` resolves to the
//! loopback address), or under the path prefix `/_lambda-url/<FunctionName>/` for clients that
//! cannot set a host. Requests get the HTTP API payload format 2.0, as on AWS.

use std::collections::HashMap;

use esb_model::artifacts::{FunctionsFile, RoutingFile};
use esb_model::{Api, ApiAuth, ApiKind, Route, RouteKind};
use indexmap::IndexMap;

use crate::router::{DEFAULT_ROUTE, Matched, UrlForm};

const HOST_SUFFIX: &str = ".lambda-url.localhost";
const PATH_PREFIX: &str = "/_lambda-url/";

/// One function's URL: its route, an API standing for the URL (stage `$default`, the URL's
/// CORS), and the auth type.
#[derive(Debug, Clone)]
struct FunctionUrl {
    route: Route,
    api: Api,
    auth_type: String,
    /// `InvokeMode: RESPONSE_STREAM`: the response goes out as the function streams it.
    streaming: bool,
}

/// A request that addressed a function URL.
#[derive(Debug)]
pub struct UrlMatch<'u> {
    pub matched: Matched<'u>,
    /// The path the function sees (without `/_lambda-url/<name>` when that form was used).
    pub path: String,
    /// `AWS_IAM` or `NONE`.
    pub auth_type: &'u str,
    /// `InvokeMode: RESPONSE_STREAM`.
    pub streaming: bool,
}

/// Every function URL of the project, by lower-cased function name.
#[derive(Debug, Clone, Default)]
pub struct FunctionUrls {
    by_name: HashMap<String, FunctionUrl>,
}

impl FunctionUrls {
    pub fn new(routing: &RoutingFile, functions: &FunctionsFile) -> FunctionUrls {
        let by_name = routing
            .routes
            .iter()
            .filter(|route| route.kind == RouteKind::Url)
            .filter_map(|route| {
                let function = functions
                    .functions
                    .iter()
                    .find(|f| f.function.name == route.function)?;
                let config = function.function.function_url.as_ref()?;
                let api = Api {
                    logical_id: route.api.clone(),
                    kind: ApiKind::Http,
                    implicit: true,
                    stage_name: DEFAULT_ROUTE.to_string(),
                    cors: config.cors.clone(),
                    auth: ApiAuth::default(),
                    binary_media_types: Vec::new(),
                    base_paths: Vec::new(),
                    models: Default::default(),
                    throttling: Vec::new(),
                };
                let url = FunctionUrl {
                    route: route.clone(),
                    api,
                    auth_type: config.auth_type.clone(),
                    streaming: config.invoke_mode == "RESPONSE_STREAM",
                };
                Some((route.function.to_ascii_lowercase(), url))
            })
            .collect();
        FunctionUrls { by_name }
    }

    /// The function URL a request addresses, by its `Host` or its path prefix.
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<UrlMatch<'_>> {
        let by_host = host
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
            .and_then(|h| h.strip_suffix(HOST_SUFFIX).map(str::to_string))
            .and_then(|name| self.by_name.get(&name))
            .map(|url| (url, path.to_string()));
        let found = by_host.or_else(|| {
            let rest = path.strip_prefix(PATH_PREFIX)?;
            let (name, inner) = rest.split_once('/').map_or((rest, ""), |(n, p)| (n, p));
            let url = self.by_name.get(&name.to_ascii_lowercase())?;
            Some((url, format!("/{inner}")))
        });
        let (url, path) = found?;
        Some(UrlMatch {
            matched: Matched {
                route: &url.route,
                api: &url.api,
                path_parameters: IndexMap::new(),
                resource: DEFAULT_ROUTE.to_string(),
                path: path.clone(),
                form: UrlForm::Root,
            },
            path,
            auth_type: &url.auth_type,
            streaming: url.streaming,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esb_model::artifacts::FunctionArtifact;
    use esb_model::{Architecture, Function, FunctionUrl as UrlConfig, PackageType, RouteAuth};

    fn urls() -> FunctionUrls {
        let function = Function {
            logical_id: "Hook".into(),
            name: "WebHook".into(),
            package_type: PackageType::Zip,
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            code_uri: None,
            inline_code: None,
            image_uri: None,
            memory_size: 128,
            timeout: 3,
            ephemeral_storage: 512,
            environment: IndexMap::new(),
            layers: vec![],
            architectures: vec![Architecture::X86_64],
            reserved_concurrency: None,
            provisioned_concurrency: None,
            auto_publish_alias: None,
            function_url: Some(UrlConfig {
                auth_type: "NONE".into(),
                cors: None,
                invoke_mode: "BUFFERED".into(),
            }),
            events: vec![],
            build_method: None,
        };
        let functions = FunctionsFile {
            functions: vec![FunctionArtifact {
                function,
                task_root: None,
                opt_dir: None,
            }],
            layers: vec![],
        };
        let routing = RoutingFile {
            apis: vec![],
            routes: vec![Route {
                api: "Hook".into(),
                kind: RouteKind::Url,
                method: "ANY".into(),
                path: "$default".into(),
                function: "WebHook".into(),
                event: "Hook".into(),
                auth: RouteAuth::default(),
                validation: None,
            }],
            ..RoutingFile::default()
        };
        FunctionUrls::new(&routing, &functions)
    }

    #[test]
    fn found_by_host_or_by_path_prefix() {
        let urls = urls();
        let by_host = urls
            .find(Some("webhook.lambda-url.localhost:8443"), "/a/b")
            .expect("host");
        assert_eq!((by_host.path.as_str(), by_host.auth_type), ("/a/b", "NONE"));
        assert_eq!(by_host.matched.route.function, "WebHook");
        let by_path = urls
            .find(Some("localhost"), "/_lambda-url/WebHook/x?")
            .expect("path");
        assert_eq!(by_path.path, "/x?");
        assert_eq!(
            urls.find(None, "/_lambda-url/webhook").expect("bare").path,
            "/"
        );
        assert!(urls.find(Some("other.lambda-url.localhost"), "/").is_none());
        assert!(urls.find(Some("localhost"), "/hello").is_none());
    }
}
