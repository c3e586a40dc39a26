//! SAM / CloudFormation templates to the Edge Serverless Box model.
//!
//! The pipeline is: `source` parses YAML (short-form tags become long forms) or JSON into a
//! `serde_json::Value` tree; `globals` merges the SAM `Globals` section into each resource;
//! `intrinsics` evaluates Parameters, pseudo parameters, Mappings, Conditions and every
//! `Fn::*` against the names resources have on this box; `sam` turns the resolved resources
//! into `esb_model::Project`.

mod discover;
mod error;
mod globals;
mod intrinsics;
mod sam;
mod source;

use std::path::Path;

use indexmap::IndexMap;

pub use discover::discover;
pub use error::{SyntaxError, TemplateError, Warning};

/// CloudFormation's limit on a template's size (a template uploaded to S3): larger ones are
/// refused before they are read whole.
pub const DEFAULT_MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// Everything outside the template that shapes how it resolves.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `Key=Value` overrides from `generator.yml` and `--parameter-overrides`.
    pub parameter_overrides: IndexMap<String, String>,
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// Values for `{{resolve:ssm:NAME}}` and `Fn::ImportValue` NAME, keyed by NAME.
    pub resolve_values: IndexMap<String, String>,
    /// Templates larger than this are refused.
    pub max_template_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            parameter_overrides: IndexMap::new(),
            stack_name: "esb".to_string(),
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            resolve_values: IndexMap::new(),
            max_template_bytes: DEFAULT_MAX_TEMPLATE_BYTES,
        }
    }
}

/// A resolved template.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: esb_model::Project,
    /// Things AWS would accept but that may not behave the same here.
    pub warnings: Vec<Warning>,
}

/// A template parameter as declared, for prompts (`esb init`) and listings.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterInfo {
    pub name: String,
    pub parameter_type: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
    pub description: Option<String>,
}

/// Reads and resolves the template at `path`.
pub fn load_file(path: &Path, options: &LoadOptions) -> Result<Loaded, TemplateError> {
    let text = source::read(path, options.max_template_bytes)?;
    load_str(&path.display().to_string(), &text, options)
}

/// Resolves a template given as text; `name` is used in error messages.
pub fn load_str(name: &str, text: &str, options: &LoadOptions) -> Result<Loaded, TemplateError> {
    source::check_size(name, text.len(), options.max_template_bytes)?;
    let document = source::parse(name, text)?;
    sam::resolve(document, options)
}

/// The template's `Parameters`, without resolving anything else.
pub fn parameters_of_file(path: &Path) -> Result<Vec<ParameterInfo>, TemplateError> {
    let name = path.display().to_string();
    let text = source::read(path, DEFAULT_MAX_TEMPLATE_BYTES)?;
    let document = source::parse(&name, &text)?;
    intrinsics::declared_parameters(&document.template)
}
