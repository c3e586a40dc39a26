//! Template layers: each staged once under `layers/<LogicalId>/opt/` (its content, plus its
//! dependencies when it has a `BuildMethod`), then merged in order into the `/opt` of every
//! function that uses it.
//!
//! A layer without `BuildMethod` is copied as is (its `python/` dir lands at `/opt/python/`);
//! with `BuildMethod: python3.x` its content goes under `python/` and its `requirements.txt` is
//! installed there, with `nodejs*` under `nodejs/` with `npm install`, as `sam build` does.

use std::path::{Path, PathBuf};

use esb_model::Layer;

use crate::BuildError;
use crate::code::{CodeReader, Owner, SourceTree};
use crate::deps::{Install, Tool};
use crate::fingerprint::{self, Fingerprint};
use crate::layout::Layout;

/// A layer read and hashed, ready to be staged.
#[derive(Debug)]
pub struct LayerPlan<'a> {
    pub layer: &'a Layer,
    pub tree: SourceTree,
    pub fingerprint: String,
    /// The staged `/opt` content: `layers/<LogicalId>/opt`.
    pub content_dir: PathBuf,
    /// `python` or `nodejs` when a `BuildMethod` puts the content in a subdirectory.
    subdir: Option<&'static str>,
    pub install: Option<Install>,
    pub warnings: Vec<String>,
    /// Whether it must be (re)staged; decided after planning.
    pub stale: bool,
}

impl<'a> LayerPlan<'a> {
    pub fn new(
        layer: &'a Layer,
        layout: &Layout,
        code: &CodeReader,
    ) -> Result<LayerPlan<'a>, BuildError> {
        let owner = Owner {
            logical_id: &layer.logical_id,
            property: "ContentUri",
        };
        let tree = code.load_uri(owner, &layer.content_uri, &[])?;
        let method = layer.build_method.as_deref().unwrap_or_default();
        let (subdir, tool, method_warning) = if method.starts_with("python") {
            (
                Some("python"),
                tree.contains("requirements.txt").then_some(Tool::Pip),
                None,
            )
        } else if method.starts_with("nodejs") {
            (
                Some("nodejs"),
                tree.contains("package.json").then_some(Tool::Npm),
                None,
            )
        } else if method.is_empty() {
            (None, None, None)
        } else {
            let warning = format!(
                "layer {}: BuildMethod {method} is not built here; its content is used as is",
                layer.logical_id
            );
            (None, None, Some(warning))
        };
        let content_dir = layout.layer_content_dir(&layer.logical_id);
        let target_dir = subdir.map_or_else(|| content_dir.clone(), |sub| content_dir.join(sub));
        let install = tool.map(|tool| Install {
            target: format!("layer {}", layer.logical_id),
            cwd: match (&tool, &tree.origin_dir) {
                (Tool::Pip, Some(origin)) => origin.clone(),
                _ => target_dir.clone(),
            },
            tool,
            into: target_dir,
        });
        let mut warnings = tree.warnings.clone();
        warnings.extend(method_warning);
        let mut hash = Fingerprint::default();
        let model = serde_json::to_vec(layer).unwrap_or_default();
        hash.field("layer", &model).tree(&tree);
        Ok(LayerPlan {
            layer,
            tree,
            fingerprint: hash.finish(),
            content_dir,
            subdir,
            install,
            warnings,
            stale: false,
        })
    }

    fn stage_dir(&self) -> &Path {
        self.content_dir.parent().unwrap_or(&self.content_dir)
    }

    pub fn is_current(&self) -> bool {
        fingerprint::is_current(self.stage_dir(), &self.fingerprint)
    }

    /// Rewrites the staged content (dependencies are installed afterwards by the caller).
    pub fn stage(&self) -> Result<(), BuildError> {
        let stage_dir = self.stage_dir();
        remove_dir_if_present(stage_dir)?;
        let target = match self.subdir {
            Some(sub) => self.content_dir.join(sub),
            None => self.content_dir.clone(),
        };
        std::fs::create_dir_all(&target).map_err(BuildError::io("create", &target))?;
        self.tree.write_to(&target)
    }

    /// Marks the staged content complete, after its install succeeded.
    pub fn record(&self) -> Result<(), BuildError> {
        let stage_dir = self.stage_dir();
        fingerprint::record(stage_dir, &self.fingerprint)
            .map_err(BuildError::io("write", stage_dir))
    }

    /// Copies the staged content into a function's `/opt`, over what earlier layers put there.
    pub fn merge_into(&self, opt_dir: &Path) -> Result<(), BuildError> {
        copy_dir(&self.content_dir, opt_dir)
    }
}

pub(crate) fn remove_dir_if_present(dir: &Path) -> Result<(), BuildError> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(BuildError::io("remove", dir)(err))
        }
        _ => Ok(()),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), BuildError> {
    for entry in walkdir::WalkDir::new(from).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|err| BuildError::Io {
            action: "read",
            path: err.path().unwrap_or(from).to_owned(),
            error: err.into(),
        })?;
        let relative = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(BuildError::io("create", &target))?;
        } else {
            // A later layer's file replaces an earlier one's, as Lambda extracts layers over
            // each other; the earlier copy kept its source's mode, which may be read-only, so
            // it is removed rather than overwritten.
            remove_file_if_present(&target)?;
            std::fs::copy(entry.path(), &target).map_err(BuildError::io("write", &target))?;
        }
    }
    Ok(())
}

fn remove_file_if_present(path: &Path) -> Result<(), BuildError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(BuildError::io("remove", path)(err))
        }
        _ => Ok(()),
    }
}
