//! Functions, their events and layers, as resolved from `AWS::Serverless::Function`,
//! `AWS::Lambda::Function` and the two layer resource types.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Lambda's default memory size in MB when a template sets none.
pub const DEFAULT_MEMORY_SIZE: u32 = 128;
/// Lambda's default timeout in seconds when a template sets none.
pub const DEFAULT_TIMEOUT: u32 = 3;
/// Lambda's default `/tmp` size in MB (`EphemeralStorage.Size`) when a template sets none.
pub const DEFAULT_EPHEMERAL_STORAGE: u32 = 512;

/// One function with every property resolved to a concrete value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    pub logical_id: String,
    /// `FunctionName`, or the logical id when the template sets none (as `sam local` does).
    pub name: String,
    pub package_type: PackageType,
    /// Absent for `PackageType: Image`.
    pub runtime: Option<String>,
    /// Absent for `PackageType: Image`.
    pub handler: Option<String>,
    /// Local directory or zip (relative to the template's directory) or an `s3://` URI.
    pub code_uri: Option<String>,
    pub inline_code: Option<String>,
    pub image_uri: Option<String>,
    pub memory_size: u32,
    pub timeout: u32,
    /// `EphemeralStorage.Size`: the size of `/tmp` in MB.
    #[serde(default = "default_ephemeral_storage")]
    pub ephemeral_storage: u32,
    pub environment: IndexMap<String, String>,
    pub layers: Vec<LayerRef>,
    pub architectures: Vec<Architecture>,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: Option<u32>,
    pub auto_publish_alias: Option<String>,
    pub function_url: Option<FunctionUrl>,
    pub events: Vec<Event>,
    /// `Metadata.BuildMethod` (e.g. `rust-cargolambda`): how `esb build` compiles the code.
    pub build_method: Option<String>,
}

impl Function {
    /// A zip function with Lambda's defaults and nothing else set: no runtime, handler, code,
    /// environment, layers or events. Fill in the rest with struct update syntax.
    pub fn new(logical_id: impl Into<String>, name: impl Into<String>) -> Function {
        Function {
            logical_id: logical_id.into(),
            name: name.into(),
            package_type: PackageType::Zip,
            runtime: None,
            handler: None,
            code_uri: None,
            inline_code: None,
            image_uri: None,
            memory_size: DEFAULT_MEMORY_SIZE,
            timeout: DEFAULT_TIMEOUT,
            ephemeral_storage: DEFAULT_EPHEMERAL_STORAGE,
            environment: IndexMap::new(),
            layers: Vec::new(),
            architectures: vec![Architecture::X86_64],
            reserved_concurrency: None,
            provisioned_concurrency: None,
            auto_publish_alias: None,
            function_url: None,
            events: Vec::new(),
            build_method: None,
        }
    }
}

fn default_ephemeral_storage() -> u32 {
    DEFAULT_EPHEMERAL_STORAGE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PackageType {
    Zip,
    Image,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            _ => None,
        }
    }
}

/// A layer a function uses: one defined in the template, or an ARN we cannot fetch here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", untagged)]
pub enum LayerRef {
    /// The logical id of a layer resource in this template.
    Local { layer: String },
    /// A published layer version ARN from elsewhere.
    Arn { arn: String },
}

/// A function URL (`FunctionUrlConfig`), served with the HTTP API v2 payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrl {
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    pub cors: Option<crate::Cors>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
}

/// One entry of a function's `Events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub logical_id: String,
    /// The SAM event type as written: `Api`, `HttpApi`, `Schedule`, `S3`, `SQS`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// Upper-case HTTP method (`ANY` included) for `Api` and `HttpApi` events.
    pub method: Option<String>,
    /// Route path for `Api` and `HttpApi` events (`$default` for the HTTP API catch-all).
    pub path: Option<String>,
    /// The event's resolved `Properties`, kept whole for the roles that serve it later.
    pub properties: serde_json::Value,
}

impl Event {
    /// Event types this box serves today; the others are kept in the model and reported.
    pub fn is_served(&self) -> bool {
        matches!(self.event_type.as_str(), "Api" | "HttpApi")
    }
}

/// A layer defined in the template (`AWS::Serverless::LayerVersion` or
/// `AWS::Lambda::LayerVersion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub logical_id: String,
    pub name: String,
    /// Local directory or zip (relative to the template's directory) or an `s3://` URI.
    pub content_uri: String,
    pub compatible_runtimes: Vec<String>,
    /// `Metadata.BuildMethod` (e.g. `python3.12`): install the layer's own requirements.
    pub build_method: Option<String>,
}
