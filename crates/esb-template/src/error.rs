//! Errors and warnings a template can produce, each saying what, where and what to do.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TemplateError {
    #[error("cannot read template {path}: {error}")]
    #[diagnostic(code(esb::template::read))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("template {file} is larger than {limit} bytes")]
    #[diagnostic(
        code(esb::template::too_large),
        help(
            "CloudFormation refuses templates over 1 MB; move inline code or API definitions \
             into files (CodeUri, DefinitionUri)"
        )
    )]
    TooLarge { file: String, limit: u64 },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),

    #[error("{file}: {message}")]
    #[diagnostic(code(esb::template::structure))]
    Structure { file: String, message: String },

    #[error("parameter {name}: {message}")]
    #[diagnostic(code(esb::template::parameter), help("{help}"))]
    Parameter {
        name: String,
        message: String,
        help: String,
    },

    #[error("{}resource {logical_id}, property {property}: {message}", Location::prefix(.location.as_ref()))]
    #[diagnostic(code(esb::template::resource))]
    Resource {
        logical_id: String,
        property: String,
        message: String,
        /// Where the property (or the resource, when the property is not written out) is.
        location: Option<Location>,
    },

    #[error("no SAM template found in {searched} or its parent directories")]
    #[diagnostic(
        code(esb::template::not_found),
        help("pass --template FILE, set ESB_TEMPLATE, or run inside a project with template.yaml")
    )]
    NotFound { searched: PathBuf },
}

/// A YAML or JSON syntax error, with the source to show the position in.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
#[diagnostic(
    code(esb::template::syntax),
    help("fix the syntax at the marked position")
)]
pub struct SyntaxError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("here")]
    pub span: SourceSpan,
}

impl TemplateError {
    pub(crate) fn resource(
        logical_id: &str,
        property: &str,
        message: impl Into<String>,
    ) -> TemplateError {
        TemplateError::Resource {
            logical_id: logical_id.to_string(),
            property: property.to_string(),
            message: message.into(),
            location: None,
        }
    }

    /// The same error, placed at `at` when it is a resource error without a place yet.
    pub(crate) fn at(mut self, at: Option<Location>) -> TemplateError {
        if let TemplateError::Resource {
            location: location @ None,
            ..
        } = &mut self
        {
            *location = at;
        }
        self
    }
}

/// A place in a template file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// `file:line:column: ` before a message, or nothing when the place is unknown.
    fn prefix(location: Option<&Location>) -> String {
        location.map_or_else(String::new, |location| format!("{location}: "))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Something AWS would accept that may not behave the same here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub logical_id: Option<String>,
    pub message: String,
    pub location: Option<Location>,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Location::prefix(self.location.as_ref()))?;
        match &self.logical_id {
            Some(id) => write!(f, "resource {id}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
