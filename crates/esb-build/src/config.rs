//! The three `config/*.yml` artifacts, rewritten on every build from the project alone, so the
//! same template always gives the same bytes.

use std::path::PathBuf;

use esb_model::artifacts::{self, FunctionArtifact, FunctionsFile, ResourcesFile, RoutingFile};
use esb_model::{PackageType, Project};

use crate::BuildError;
use crate::layout::Layout;

/// The files written, in order.
pub fn files(layout: &Layout) -> [PathBuf; 3] {
    [
        layout.functions_file(),
        layout.routing_file(),
        layout.resources_file(),
    ]
}

pub fn write(layout: &Layout, project: &Project) -> Result<(), BuildError> {
    let functions = FunctionsFile {
        functions: project
            .functions
            .iter()
            .map(|function| {
                let zip = function.package_type == PackageType::Zip;
                let dir = |path: PathBuf| zip.then(|| layout.relative(&path));
                FunctionArtifact {
                    function: function.clone(),
                    task_root: dir(layout.task_dir(&function.name)),
                    opt_dir: dir(layout.opt_dir(&function.name)),
                }
            })
            .collect(),
        layers: project.layers.clone(),
    };
    let routing = RoutingFile {
        apis: project.apis.clone(),
        routes: project.routes.clone(),
        api_keys: project.api_keys.clone(),
        usage_plans: project.usage_plans.clone(),
    };
    let resources = ResourcesFile {
        tables: project.tables.clone(),
        buckets: project.buckets.clone(),
    };
    let [functions_path, routing_path, resources_path] = files(layout);
    artifacts::write(&functions_path, &functions)?;
    artifacts::write(&routing_path, &routing)?;
    artifacts::write(&resources_path, &resources)?;
    Ok(())
}
