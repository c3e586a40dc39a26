//! One function's build: its code read and hashed, its layers, Dockerfile and dependency
//! install (or, for `BuildMethod: rust-cargolambda`, compile) decided; then, when its
//! fingerprint changed, `functions/<Name>/` rewritten.

use esb_model::{Architecture, Function, LayerRef, PackageType};
use indexmap::IndexMap;

use crate::code::{CodeReader, Owner, SourceTree};
use crate::deps::{Install, Tool};
use crate::fingerprint::{self, Fingerprint};
use crate::layers::{LayerPlan, remove_dir_if_present};
use crate::layout::Layout;
use crate::{BuildError, cargo, dockerfile};

/// What every function's plan needs from the build around it.
#[derive(Debug)]
pub struct Context<'a> {
    pub layout: &'a Layout,
    pub code: &'a CodeReader,
    pub base_images: &'a IndexMap<String, String>,
    pub stack_name: &'a str,
    pub tag: &'a str,
    pub layers: &'a [LayerPlan<'a>],
}

/// A function with everything its build needs, computed without writing anything.
#[derive(Debug)]
pub struct FunctionPlan<'a> {
    pub function: &'a Function,
    /// `None` for image functions: nothing to build.
    pub build: Option<ZipBuild>,
    pub warnings: Vec<String>,
    /// Whether its directory must be (re)written; decided after planning.
    pub stale: bool,
}

#[derive(Debug)]
pub struct ZipBuild {
    tree: SourceTree,
    /// Indices into the build's layer plans, in the function's order.
    pub layers: Vec<usize>,
    dockerfile: String,
    pub image: String,
    pub install: Option<Install>,
    /// False for compiled functions: `task/` holds only what the compile produces.
    copy_code: bool,
    pub fingerprint: String,
}

impl<'a> FunctionPlan<'a> {
    pub fn new(function: &'a Function, ctx: &Context<'_>) -> Result<FunctionPlan<'a>, BuildError> {
        if function.package_type == PackageType::Image {
            return Ok(FunctionPlan {
                function,
                build: None,
                warnings: Vec::new(),
                stale: false,
            });
        }
        let logical_id = &function.logical_id;
        let runtime = function
            .runtime
            .as_deref()
            .ok_or_else(|| BuildError::MissingRuntime {
                logical_id: logical_id.clone(),
            })?;
        let base_image = dockerfile::base_image(runtime, ctx.base_images).ok_or_else(|| {
            BuildError::NoBaseImage {
                logical_id: logical_id.clone(),
                runtime: runtime.to_string(),
            }
        })?;
        let compiled = function.build_method.as_deref() == Some(cargo::RUST_CARGOLAMBDA);
        let skipped_top: &[&str] = if compiled { &cargo::SKIPPED_DIRS } else { &[] };
        let tree = match (&function.inline_code, &function.code_uri) {
            (Some(code), _) => SourceTree::inline(logical_id, runtime, code)?,
            (None, Some(uri)) => {
                let owner = Owner {
                    logical_id,
                    property: "CodeUri",
                };
                ctx.code.load_uri(owner, uri, skipped_top)?
            }
            (None, None) => {
                return Err(BuildError::NoCode {
                    logical_id: logical_id.clone(),
                });
            }
        };
        let mut warnings = tree.warnings.clone();
        match function.build_method.as_deref() {
            Some(_) if compiled => warnings.extend(architecture_warning(function)),
            // SAM's default: the BuildMethod is the runtime, built like no BuildMethod.
            Some(method) if method != runtime => warnings.push(format!(
                "function {logical_id}: BuildMethod {method} is not built here; its code is copied as is"
            )),
            _ => {}
        }
        let mut layers = Vec::new();
        for layer_ref in &function.layers {
            match layer_ref {
                LayerRef::Local { layer } => {
                    let index = ctx
                        .layers
                        .iter()
                        .position(|plan| &plan.layer.logical_id == layer)
                        .ok_or_else(|| BuildError::UnknownLayer {
                            logical_id: logical_id.clone(),
                            layer: layer.clone(),
                        })?;
                    layers.push(index);
                }
                LayerRef::Arn { arn } => warnings.push(format!(
                    "function {logical_id}: layer {arn} cannot be fetched here; its content is not in /opt"
                )),
            }
        }
        let task_dir = ctx.layout.task_dir(&function.name);
        let tool = if compiled {
            if tree.origin_dir.is_none() || !tree.contains("Cargo.toml") {
                return Err(BuildError::NotACrate {
                    logical_id: logical_id.clone(),
                    build_method: cargo::RUST_CARGOLAMBDA.to_string(),
                });
            }
            Some(Tool::Cargo {
                target_dir: ctx.layout.cargo_target_dir(),
            })
        } else if runtime.starts_with("python") && tree.contains("requirements.txt") {
            Some(Tool::Pip)
        } else if runtime.starts_with("nodejs") && tree.contains("package.json") {
            Some(Tool::Npm)
        } else {
            None
        };
        let install = tool.map(|tool| Install {
            target: format!("function {logical_id}"),
            cwd: match (&tool, &tree.origin_dir) {
                (Tool::Pip | Tool::Cargo { .. }, Some(origin)) => origin.clone(),
                _ => task_dir.clone(),
            },
            tool,
            into: task_dir,
        });
        let image = dockerfile::image_name(ctx.stack_name, &function.name, ctx.tag);
        let dockerfile = dockerfile::render(function, &base_image, &image);
        let mut hash = Fingerprint::default();
        let model = serde_json::to_vec(function).unwrap_or_default();
        hash.field("function", &model)
            .field("dockerfile", dockerfile.as_bytes())
            .tree(&tree);
        for &index in &layers {
            hash.field("layer", ctx.layers[index].fingerprint.as_bytes());
        }
        Ok(FunctionPlan {
            function,
            build: Some(ZipBuild {
                tree,
                layers,
                dockerfile,
                image,
                install,
                copy_code: !compiled,
                fingerprint: hash.finish(),
            }),
            warnings,
            stale: false,
        })
    }
}

/// Cargo builds for this machine: say so when the template asks for another architecture.
fn architecture_warning(function: &Function) -> Option<String> {
    let wanted = function
        .architectures
        .first()
        .copied()
        .unwrap_or(Architecture::X86_64);
    let host = std::env::consts::ARCH;
    let same = matches!(
        (wanted, host),
        (Architecture::X86_64, "x86_64") | (Architecture::Arm64, "aarch64")
    );
    (!same).then(|| {
        format!(
            "function {}: Architectures is {} but cargo builds for this machine ({host}); the bootstrap runs here, not in a {} image",
            function.logical_id,
            wanted.as_str(),
            wanted.as_str()
        )
    })
}

impl ZipBuild {
    pub fn is_current(&self, layout: &Layout, name: &str) -> bool {
        fingerprint::is_current(&layout.function_dir(name), &self.fingerprint)
    }

    /// Rewrites `functions/<name>/`: task, opt (layers in order) and Dockerfile. The
    /// fingerprint is recorded separately, once the dependency install succeeded.
    pub fn write(
        &self,
        layout: &Layout,
        name: &str,
        layers: &[LayerPlan<'_>],
    ) -> Result<(), BuildError> {
        let dir = layout.function_dir(name);
        remove_dir_if_present(&dir)?;
        let task = layout.task_dir(name);
        let opt = layout.opt_dir(name);
        for path in [&task, &opt] {
            std::fs::create_dir_all(path).map_err(BuildError::io("create", path))?;
        }
        if self.copy_code {
            self.tree.write_to(&task)?;
        }
        for &index in &self.layers {
            layers[index].merge_into(&opt)?;
        }
        let dockerfile = layout.dockerfile(name);
        std::fs::write(&dockerfile, &self.dockerfile).map_err(BuildError::io("write", &dockerfile))
    }

    pub fn record(&self, layout: &Layout, name: &str) -> Result<(), BuildError> {
        let dir = layout.function_dir(name);
        fingerprint::record(&dir, &self.fingerprint).map_err(BuildError::io("write", &dir))
    }
}
