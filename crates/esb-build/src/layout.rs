//! Where every output lives under the output directory, and how paths are written into the
//! artifact files (relative to the project directory, `/`-separated).

use std::path::{Component, Path, PathBuf};

use esb_model::artifacts::{FUNCTIONS_FILE, RESOURCES_FILE, ROUTING_FILE};

/// The file in a function's (or staged layer's) directory that records its inputs' hash.
pub const FINGERPRINT_FILE: &str = ".fingerprint";

const CONFIG_DIR: &str = "config";
const FUNCTIONS_DIR: &str = "functions";
const LAYERS_DIR: &str = "layers";
const CACHE_DIR: &str = "cache";

/// Everything `esb build` writes directly under `output_dir`, for `esb prune` to remove: what
/// the box stores beside them at run time (`run/`, `data/`, `logs/`) is not the build's.
pub fn build_outputs(output_dir: &Path) -> [PathBuf; 4] {
    [CONFIG_DIR, FUNCTIONS_DIR, LAYERS_DIR, CACHE_DIR].map(|name| output_dir.join(name))
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub project_dir: PathBuf,
    pub output_dir: PathBuf,
}

impl Layout {
    pub fn new(project_dir: PathBuf, output_dir: PathBuf) -> Layout {
        Layout {
            project_dir,
            output_dir,
        }
    }

    pub fn functions_file(&self) -> PathBuf {
        self.config_dir().join(FUNCTIONS_FILE)
    }

    pub fn routing_file(&self) -> PathBuf {
        self.config_dir().join(ROUTING_FILE)
    }

    pub fn resources_file(&self) -> PathBuf {
        self.config_dir().join(RESOURCES_FILE)
    }

    /// `functions/`: one directory per function.
    pub fn functions_dir(&self) -> PathBuf {
        self.output_dir.join(FUNCTIONS_DIR)
    }

    /// `layers/`: each template layer staged once (content plus built dependencies).
    pub fn layers_dir(&self) -> PathBuf {
        self.output_dir.join(LAYERS_DIR)
    }

    pub fn function_dir(&self, name: &str) -> PathBuf {
        self.functions_dir().join(name)
    }

    /// What `/var/task` holds.
    pub fn task_dir(&self, name: &str) -> PathBuf {
        self.function_dir(name).join("task")
    }

    /// What `/opt` holds.
    pub fn opt_dir(&self, name: &str) -> PathBuf {
        self.function_dir(name).join("opt")
    }

    pub fn dockerfile(&self, name: &str) -> PathBuf {
        self.function_dir(name).join("Dockerfile")
    }

    /// What a layer contributes to `/opt`.
    pub fn layer_content_dir(&self, logical_id: &str) -> PathBuf {
        self.layers_dir().join(logical_id).join("opt")
    }

    /// `cache/cargo-target`: `CARGO_TARGET_DIR` for every Rust function of the project, kept
    /// between builds so recompiles are incremental and the code directory stays clean.
    pub fn cargo_target_dir(&self) -> PathBuf {
        self.output_dir.join(CACHE_DIR).join("cargo-target")
    }

    /// `path` relative to the project directory with `/` separators, as artifacts record it.
    pub fn relative(&self, path: &Path) -> String {
        relative_path(path, &self.project_dir)
    }

    fn config_dir(&self) -> PathBuf {
        self.output_dir.join(CONFIG_DIR)
    }
}

/// `path` relative to `base` (both absolute, or both relative to the same place), with `..`
/// where `path` lies outside `base`.
fn relative_path(path: &Path, base: &Path) -> String {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let ups = base[common..]
        .iter()
        .filter(|c| matches!(c, Component::Normal(_)))
        .map(|_| "..".to_string());
    let downs = path[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_use_slashes_and_dotdot() {
        assert_eq!(
            relative_path(Path::new("/p/.esb/functions/A/task"), Path::new("/p")),
            ".esb/functions/A/task"
        );
        assert_eq!(
            relative_path(Path::new("/out/x"), Path::new("/p/q")),
            "../../out/x"
        );
        assert_eq!(relative_path(Path::new("/p"), Path::new("/p")), ".");
    }

    #[test]
    fn layout_places_function_dirs_under_the_output_dir() {
        let layout = Layout::new("/p".into(), "/p/.esb".into());
        assert_eq!(
            layout.relative(&layout.task_dir("Hello")),
            ".esb/functions/Hello/task"
        );
        assert_eq!(
            layout.relative(&layout.functions_file()),
            ".esb/config/functions.yml"
        );
        assert_eq!(
            layout.relative(&layout.layer_content_dir("Shared")),
            ".esb/layers/Shared/opt"
        );
    }

    #[test]
    fn build_outputs_hold_every_directory_the_layout_writes() {
        let layout = Layout::new("/p".into(), "/p/.esb".into());
        let outputs = build_outputs(&layout.output_dir);
        for written in [
            layout.functions_file(),
            layout.task_dir("Hello"),
            layout.layer_content_dir("Shared"),
            layout.cargo_target_dir(),
        ] {
            assert!(
                outputs.iter().any(|output| written.starts_with(output)),
                "{} is not under a build output",
                written.display()
            );
        }
    }
}
