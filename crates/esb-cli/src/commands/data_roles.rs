//! The data roles of `esb up`: the embedded S3 store and DynamoDB database — or the external
//! endpoints configured to replace them — and provisioning the template's buckets and tables
//! on whichever is in use.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use esb_agent::catalog::AgentSettings;
use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service};
use esb_gateway::listen::listen;
use esb_model::artifacts::{self, ResourcesFile};
use esb_model::credentials::{DEFAULT_ACCESS_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET_ACCESS_KEY};
use esb_provision::{Report, ServiceEndpoint, Targets};
use esb_s3::S3ServerConfig;
use miette::{IntoDiagnostic, miette};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{DataServiceSection, Layers};

pub const DEFAULT_S3_PORT: u16 = 9000;

/// The box's one key pair and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

impl BoxCredentials {
    pub fn is_default(&self) -> bool {
        self.access_key_id == DEFAULT_ACCESS_KEY_ID
            && self.secret_access_key == DEFAULT_SECRET_ACCESS_KEY
    }

    /// What every worker gets: this key pair and region.
    pub fn agent_settings(&self) -> AgentSettings {
        let mut settings = AgentSettings {
            region: self.region.clone(),
            ..AgentSettings::default()
        };
        settings.credentials.access_key_id = self.access_key_id.clone();
        settings.credentials.secret_access_key = self.secret_access_key.clone();
        settings
    }

    fn endpoint(&self, url: &str) -> ServiceEndpoint {
        ServiceEndpoint {
            url: url.to_string(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
        }
    }
}

/// Where one data service comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Run the embedded service on this address (port 0: any free port).
    Embedded(SocketAddr),
    /// Use this endpoint; start nothing.
    External(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSettings {
    pub credentials: BoxCredentials,
    pub s3: Placement,
    pub dynamodb: Placement,
}

impl DataSettings {
    /// Flags over `ESB_*` variables over `esb.toml`'s `[credentials]`, `[s3]`, `[dynamodb]`.
    pub fn resolve(
        s3_port: Option<u16>,
        dynamodb_port: Option<u16>,
        layers: &Layers,
    ) -> miette::Result<DataSettings> {
        let file = &layers.file;
        let credentials = BoxCredentials {
            access_key_id: layers
                .var("ESB_ACCESS_KEY_ID")?
                .or(file.credentials.access_key_id.clone())
                .unwrap_or_else(|| DEFAULT_ACCESS_KEY_ID.to_string()),
            secret_access_key: layers
                .var("ESB_SECRET_ACCESS_KEY")?
                .or(file.credentials.secret_access_key.clone())
                .unwrap_or_else(|| DEFAULT_SECRET_ACCESS_KEY.to_string()),
            region: layers
                .var("ESB_REGION")?
                .or(file.credentials.region.clone())
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
        };
        Ok(DataSettings {
            credentials,
            s3: placement("S3", s3_port, DEFAULT_S3_PORT, &file.s3, layers)?,
            dynamodb: placement(
                "DYNAMODB",
                dynamodb_port,
                esb_dynamodb::DEFAULT_PORT,
                &file.dynamodb,
                layers,
            )?,
        })
    }
}

fn placement(
    service: &str,
    flag_port: Option<u16>,
    default_port: u16,
    section: &DataServiceSection,
    layers: &Layers,
) -> miette::Result<Placement> {
    let endpoint: Option<String> = layers
        .var(&format!("ESB_{service}_ENDPOINT"))?
        .or(section.endpoint.clone())
        .filter(|e: &String| !e.is_empty());
    if let Some(url) = endpoint {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(miette!(
                help = "write it as http://host:port or https://host",
                "the {} endpoint {url:?} is not an http(s) URL",
                service.to_lowercase()
            ));
        }
        return Ok(Placement::External(url.trim_end_matches('/').to_string()));
    }
    let port = flag_port
        .or(layers.var(&format!("ESB_{service}_PORT"))?)
        .or(section.port)
        .unwrap_or(default_port);
    let bind = section.bind.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    Ok(Placement::Embedded(SocketAddr::new(bind, port)))
}

/// The running data roles.
#[derive(Debug)]
pub struct DataRoles {
    pub s3_url: String,
    pub dynamodb_url: String,
    credentials: BoxCredentials,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<Result<(), String>>)>,
}

impl DataRoles {
    /// Binds and starts the embedded services (data under `data_dir/s3` and
    /// `data_dir/dynamodb`); external ones are only recorded.
    pub async fn start(settings: &DataSettings, data_dir: &Path) -> miette::Result<DataRoles> {
        let (stop, stopped) = watch::channel(false);
        let shutdown = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let mut tasks = Vec::new();
        let credentials = &settings.credentials;

        let s3_url = match &settings.s3 {
            Placement::External(url) => url.clone(),
            Placement::Embedded(addr) => {
                let listener = listen(*addr, "the embedded S3", "--s3-port")
                    .await
                    .into_diagnostic()?;
                let url = local_url(&listener)?;
                let dir = data_dir.join("s3");
                let config = S3ServerConfig {
                    access_key: credentials.access_key_id.clone(),
                    secret_key: credentials.secret_access_key.clone(),
                    ..S3ServerConfig::default()
                };
                let shutdown = shutdown();
                tasks.push((
                    "S3",
                    tokio::spawn(async move {
                        esb_s3::run(dir, &config, listener, shutdown)
                            .await
                            .map_err(|e| e.to_string())
                    }),
                ));
                url
            }
        };

        let dynamodb_url = match &settings.dynamodb {
            Placement::External(url) => url.clone(),
            Placement::Embedded(addr) => {
                let listener = listen(*addr, "the embedded DynamoDB", "--dynamodb-port")
                    .await
                    .into_diagnostic()?;
                let url = local_url(&listener)?;
                let dir = data_dir.join("dynamodb");
                let engine = tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                    Engine::open(&EngineConfig::on_disk(dir)).map_err(|e| e.to_string())
                })
                .await
                .into_diagnostic()?
                .map_err(|e| miette!("cannot open the DynamoDB database: {e}"))?;
                let service = Arc::new(Service::new(
                    engine,
                    Auth::SigV4(vec![Credential {
                        access_key_id: credentials.access_key_id.clone(),
                        secret_access_key: credentials.secret_access_key.clone(),
                    }]),
                ));
                let shutdown = shutdown();
                tasks.push((
                    "DynamoDB",
                    tokio::spawn(async move {
                        esb_dynamodb::serve(listener, service, shutdown)
                            .await
                            .map_err(|e| e.to_string())
                    }),
                ));
                url
            }
        };
        Ok(DataRoles {
            s3_url,
            dynamodb_url,
            credentials: credentials.clone(),
            stop,
            tasks,
        })
    }

    /// Creates or updates the buckets and tables of the build's `resources.yml`.
    pub async fn provision(&mut self, output_dir: &Path) -> miette::Result<Report> {
        let resources: ResourcesFile =
            artifacts::read(&output_dir.join("config").join(artifacts::RESOURCES_FILE))
                .into_diagnostic()?;
        if resources.buckets.is_empty() && resources.tables.is_empty() {
            return Ok(Report::default());
        }
        let targets = Targets {
            s3: Some(self.credentials.endpoint(&self.s3_url)),
            dynamodb: Some(self.credentials.endpoint(&self.dynamodb_url)),
        };
        match esb_provision::provision(&resources, &targets).await {
            Ok(report) => Ok(report),
            Err(error) => {
                // An embedded role that died at start (say, its data directory is locked by
                // another box) explains a refused connection better than the SDK can.
                if let Some(failure) = self.first_failure().await {
                    return Err(miette!("{failure}"));
                }
                Err(miette!(
                    help = "check the endpoint and the [credentials] in esb.toml",
                    "provisioning the template's buckets and tables failed: {error}"
                ))
            }
        }
    }

    async fn first_failure(&mut self) -> Option<String> {
        for (name, task) in &mut self.tasks {
            if task.is_finished() {
                return Some(match task.await {
                    Ok(Ok(())) => format!("the embedded {name} stopped at start"),
                    Ok(Err(error)) => format!("the embedded {name} did not start: {error}"),
                    Err(error) => format!("the embedded {name} crashed: {error}"),
                });
            }
        }
        None
    }

    /// Stops the embedded services, letting in-flight requests finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for (name, task) in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(service = name, %error, "stopped with an error"),
                Err(error) => tracing::error!(service = name, %error, "crashed"),
            }
        }
    }
}

/// The URL this machine's clients (the functions, the provisioner) use: loopback when the
/// service listens on every interface.
fn local_url(listener: &tokio::net::TcpListener) -> miette::Result<String> {
    let addr = listener.local_addr().into_diagnostic()?;
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Ok(format!("http://{host}:{}", addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_external_endpoints() {
        let settings = DataSettings::resolve(None, Some(0), &Layers::default()).expect("resolves");
        assert_eq!(
            settings.s3,
            Placement::Embedded(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        assert_eq!(
            settings.dynamodb,
            Placement::Embedded(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert!(settings.credentials.is_default());

        let mut layers = Layers::default();
        layers.file.dynamodb.endpoint = Some("http://alternator:8000/".into());
        layers.file.credentials.region = Some("eu-west-1".into());
        let settings = DataSettings::resolve(None, None, &layers).expect("resolves");
        assert_eq!(
            settings.dynamodb,
            Placement::External("http://alternator:8000".into())
        );
        assert_eq!(settings.credentials.region, "eu-west-1");

        layers.file.s3.endpoint = Some("rustfs:9000".into());
        let error = DataSettings::resolve(None, None, &layers).expect_err("no scheme");
        assert!(error.to_string().contains("not an http(s) URL"), "{error}");
    }
}
