//! `BuildError`: everything a build can fail with, each saying what, where and what to do.
//!
//! Underlying errors are part of the message (fields named `error`, not `source`), so a
//! rendered report says it once.

use std::path::PathBuf;

use miette::Diagnostic;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum BuildError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] esb_template::TemplateError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Environment(#[from] crate::environments::EnvironmentError),

    #[error("cannot read {path}: {error}")]
    #[diagnostic(code(esb::build::generator))]
    GeneratorRead {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{path} is not a valid generator.yml: {error}")]
    #[diagnostic(
        code(esb::build::generator),
        help(
            "known keys: app.name, app.tag, app.last_env, paths.sam_template, paths.output_dir, parameters, values, base_images, environments"
        )
    )]
    GeneratorParse {
        path: PathBuf,
        error: serde_yaml::Error,
    },

    #[error("{path} already exists")]
    #[diagnostic(code(esb::build::init), help("pass --force to overwrite it"))]
    GeneratorExists { path: PathBuf },

    #[error("parameter {name} has no Default and no value was given")]
    #[diagnostic(
        code(esb::build::init),
        help("pass --parameter-overrides {name}=VALUE, or answer the prompt without --yes")
    )]
    MissingParameter { name: String },

    #[error("{logical_id}: {property} {uri} cannot be fetched here")]
    #[diagnostic(
        code(esb::build::s3),
        help("point {property} at a local directory or .zip file")
    )]
    S3Uri {
        logical_id: String,
        property: &'static str,
        uri: String,
    },

    #[error("{logical_id}: {property} {} does not exist", path.display())]
    #[diagnostic(
        code(esb::build::code),
        help(
            "create it, or fix {property} in the template (it is relative to the template's directory)"
        )
    )]
    MissingCode {
        logical_id: String,
        property: &'static str,
        path: PathBuf,
    },

    #[error("{logical_id}: {property} {} is a file but not a .zip archive", path.display())]
    #[diagnostic(
        code(esb::build::code),
        help("point {property} at a directory or a .zip file")
    )]
    NotZip {
        logical_id: String,
        property: &'static str,
        path: PathBuf,
    },

    #[error("{logical_id}: {property} {uri} is outside the project ({})", resolved.display())]
    #[diagnostic(
        code(esb::build::outside),
        help(
            "the project is the template's directory: move the code into it, or pass --allow-outside-links to copy it anyway"
        )
    )]
    OutsideCode {
        logical_id: String,
        property: &'static str,
        uri: String,
        resolved: PathBuf,
    },

    #[error("{logical_id}: link {} points outside the project ({})", link.display(), target.display())]
    #[diagnostic(
        code(esb::build::outside),
        help(
            "pass --allow-outside-links to copy what it points to anyway, or replace the link with a copy"
        )
    )]
    OutsideLink {
        logical_id: String,
        link: PathBuf,
        target: PathBuf,
    },

    #[error("{logical_id}: link {} points to {}, which cannot be resolved: {error}", link.display(), target.display())]
    #[diagnostic(
        code(esb::build::link),
        help("fix or remove the link, or pass --allow-outside-links to leave it out of the build")
    )]
    BrokenLink {
        logical_id: String,
        link: PathBuf,
        target: PathBuf,
        error: std::io::Error,
    },

    #[error("{logical_id}: link {} leads back to {}, so copying it would never end", link.display(), ancestor.display())]
    #[diagnostic(
        code(esb::build::link),
        help("remove the link, or point it at a directory that does not contain it")
    )]
    LinkLoop {
        logical_id: String,
        link: PathBuf,
        ancestor: PathBuf,
    },

    #[error("function {logical_id} has neither CodeUri nor InlineCode")]
    #[diagnostic(
        code(esb::build::code),
        help("set CodeUri to the function's source directory")
    )]
    NoCode { logical_id: String },

    #[error("function {logical_id}: InlineCode is not supported for runtime {runtime}")]
    #[diagnostic(
        code(esb::build::code),
        help("AWS accepts InlineCode only for python and nodejs runtimes; use CodeUri")
    )]
    InlineRuntime { logical_id: String, runtime: String },

    #[error("function {logical_id} has no Runtime")]
    #[diagnostic(
        code(esb::build::runtime),
        help("set Runtime on the function or in Globals.Function")
    )]
    MissingRuntime { logical_id: String },

    #[error("function {logical_id}: no base image is known for runtime {runtime}")]
    #[diagnostic(
        code(esb::build::runtime),
        help("add `base_images: {{{runtime}: <image>}}` to generator.yml")
    )]
    NoBaseImage { logical_id: String, runtime: String },

    #[error("function {logical_id}: layer {layer} is not defined in the template")]
    #[diagnostic(
        code(esb::build::layer),
        help("define the layer as AWS::Serverless::LayerVersion or reference it by ARN")
    )]
    UnknownLayer { logical_id: String, layer: String },

    #[error("function {logical_id}: name {name:?} cannot be used as a directory name")]
    #[diagnostic(
        code(esb::build::name),
        help("use only letters, digits, '-' and '_' in FunctionName, as AWS requires")
    )]
    BadName { logical_id: String, name: String },

    #[error("functions {first} and {second} both resolve to the name {name}")]
    #[diagnostic(code(esb::build::name), help("give one of them another FunctionName"))]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },

    #[error("cannot read zip archive {}: {error}", path.display())]
    #[diagnostic(code(esb::build::zip))]
    Zip {
        path: PathBuf,
        error: zip::result::ZipError,
    },

    #[error("zip archive {} has an entry outside its root: {entry}", path.display())]
    #[diagnostic(
        code(esb::build::zip),
        help("rebuild the archive with relative paths only (no `..`, no absolute paths)")
    )]
    ZipSlip { path: PathBuf, entry: String },

    #[error("cannot {action} {}: {error}", path.display())]
    #[diagnostic(code(esb::build::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{tool} failed for {target} ({status}):\n{stderr_tail}")]
    #[diagnostic(
        code(esb::build::install),
        help("fix the dependency list, then run `esb build` again")
    )]
    Install {
        tool: String,
        target: String,
        status: String,
        stderr_tail: String,
    },

    #[error("{tool} failed for {target} ({status}):\n{stderr_tail}")]
    #[diagnostic(
        code(esb::build::compile),
        help(
            "fix the error above (`cargo build --release --locked` in the code directory shows it whole); a Cargo.lock must be checked in"
        )
    )]
    Compile {
        tool: String,
        target: String,
        status: String,
        stderr_tail: String,
    },

    #[error("{target}: cannot choose the binary to run as bootstrap: {reason}")]
    #[diagnostic(code(esb::build::compile))]
    RustBinary { target: String, reason: String },

    #[error(
        "function {logical_id}: BuildMethod {build_method} needs CodeUri to be a directory holding a Cargo.toml"
    )]
    #[diagnostic(
        code(esb::build::compile),
        help("point CodeUri at the crate's directory (the one with Cargo.toml and Cargo.lock)")
    )]
    NotACrate {
        logical_id: String,
        build_method: String,
    },

    #[error("cannot run {tool} for {target}: {error}")]
    #[diagnostic(
        code(esb::build::install),
        help("install {tool} or remove the dependency file")
    )]
    ToolMissing {
        tool: String,
        target: String,
        error: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(code(esb::build::artifact))]
    Artifact(#[from] esb_model::artifacts::ArtifactError),
}

impl BuildError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BuildError {
        let path = path.into();
        move |error| BuildError::Io {
            action,
            path,
            error,
        }
    }
}
