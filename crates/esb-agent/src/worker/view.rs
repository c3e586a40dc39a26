//! Paths as a worker sees them: a driver that mounts the function's code at `/var/task` and its
//! layers at `/opt` (a sandbox, a container) needs the worker's command line, working directory
//! and environment to name those, not the host directories they come from.

use std::path::{Path, PathBuf};

use super::WorkerSpec;
use crate::driver::{CodeView, LAMBDA_OPT_DIR, LAMBDA_TASK_ROOT};

/// Where one function's code and layers are, for its workers.
#[derive(Debug)]
pub(super) struct WorkerView {
    host_task_root: PathBuf,
    host_opt_dir: PathBuf,
    /// Where the worker finds its code.
    pub task_root: PathBuf,
    /// Where the worker finds its layers.
    pub opt_dir: PathBuf,
}

impl WorkerView {
    pub(super) fn new(view: CodeView, spec: &WorkerSpec) -> WorkerView {
        let (task_root, opt_dir) = match view {
            CodeView::Host => (spec.task_root.clone(), spec.opt_dir.clone()),
            CodeView::Lambda => (LAMBDA_TASK_ROOT.into(), LAMBDA_OPT_DIR.into()),
        };
        WorkerView {
            host_task_root: spec.task_root.clone(),
            host_opt_dir: spec.opt_dir.clone(),
            task_root,
            opt_dir,
        }
    }

    /// A host path inside the function's code or layers, as the worker sees it; any other path
    /// is left as it is (the runtime's own files keep their host paths).
    pub(super) fn path(&self, path: &Path) -> PathBuf {
        if let Ok(rest) = path.strip_prefix(&self.host_task_root) {
            return self.task_root.join(rest);
        }
        if let Ok(rest) = path.strip_prefix(&self.host_opt_dir) {
            return self.opt_dir.join(rest);
        }
        path.to_path_buf()
    }

    /// A command-line argument that is such a path, translated the same way.
    pub(super) fn arg(&self, arg: &str) -> String {
        self.path(Path::new(arg)).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_layer_paths_move_under_lambda_directories() {
        let spec = WorkerSpec {
            task_root: "/p/.esb/functions/hello/task".into(),
            opt_dir: "/p/.esb/functions/hello/opt".into(),
            ..crate::worker::tests::spec()
        };
        let view = WorkerView::new(CodeView::Lambda, &spec);
        assert_eq!(
            view.path(Path::new("/p/.esb/functions/hello/task/bootstrap")),
            Path::new("/var/task/bootstrap")
        );
        assert_eq!(
            view.arg("/p/.esb/functions/hello/opt/wrapper.sh"),
            "/opt/wrapper.sh"
        );
        assert_eq!(view.arg("-m"), "-m");
        assert_eq!(
            view.path(Path::new("/usr/bin/python3")),
            Path::new("/usr/bin/python3")
        );
        let host = WorkerView::new(CodeView::Host, &spec);
        assert_eq!(
            host.path(Path::new("/p/.esb/functions/hello/task/bootstrap")),
            Path::new("/p/.esb/functions/hello/task/bootstrap")
        );
    }
}
