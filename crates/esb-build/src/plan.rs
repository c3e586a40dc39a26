//! The build plan: every used layer and every function read, hashed and compared with what is
//! on disk; then reported and, unless dry-run, carried out.

use std::collections::BTreeSet;
use std::path::PathBuf;

use esb_model::{LayerRef, PackageType, Project};
use indexmap::IndexMap;

use crate::code::CodeReader;
use crate::function::{Context, FunctionPlan};
use crate::layers::{LayerPlan, remove_dir_if_present};
use crate::layout::Layout;
use crate::report::{BuildReport, BuildStatus, FunctionReport, LayerReport, UnservedEvent};
use crate::{BuildError, BuildOptions, Resolved, config, deps, parallel};

#[derive(Debug)]
pub struct Plan<'a> {
    pub layout: Layout,
    project: &'a Project,
    layers: Vec<LayerPlan<'a>>,
    functions: Vec<FunctionPlan<'a>>,
    /// Function and staged-layer directories the project no longer has.
    removed: Vec<PathBuf>,
}

impl<'a> Plan<'a> {
    pub fn new(
        resolved: &'a Resolved,
        layout: Layout,
        options: &BuildOptions,
    ) -> Result<Plan<'a>, BuildError> {
        let project = &resolved.loaded.project;
        check_names(project)?;
        let workers = parallel::file_workers();
        let code = CodeReader::new(&layout, options.allow_outside_links)?;
        let used_layers: Vec<_> = project
            .layers
            .iter()
            .filter(|layer| {
                project.functions.iter().any(|function| {
                    function.package_type == PackageType::Zip
                        && function.layers.iter().any(|r| {
                            matches!(r, LayerRef::Local { layer: id } if *id == layer.logical_id)
                        })
                })
            })
            .collect();
        let mut layers = parallel::map(&used_layers, workers, |layer| {
            LayerPlan::new(layer, &layout, &code)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let stack_name = resolved.generator.stack_name(&resolved.project_dir);
        let context = Context {
            layout: &layout,
            code: &code,
            base_images: &resolved.generator.base_images,
            stack_name: &stack_name,
            tag: resolved.generator.tag(),
            layers: &layers,
        };
        let mut functions = parallel::map(&project.functions, workers, |function| {
            FunctionPlan::new(function, &context)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;

        for plan in &mut functions {
            plan.stale = plan.build.as_ref().is_some_and(|build| {
                options.no_cache || !build.is_current(&layout, &plan.function.name)
            });
        }
        for (index, layer) in layers.iter_mut().enumerate() {
            let needed = functions.iter().any(|plan| {
                plan.stale
                    && plan
                        .build
                        .as_ref()
                        .is_some_and(|b| b.layers.contains(&index))
            });
            layer.stale = needed && (options.no_cache || !layer.is_current());
        }
        let removed = stale_dirs(&layout, project)?;
        Ok(Plan {
            layout,
            project,
            layers,
            functions,
            removed,
        })
    }

    /// What the plan does (`dry_run`: would do), with the template's warnings first.
    pub fn report(&self, template_warnings: Vec<String>, dry_run: bool) -> BuildReport {
        let project = self.project;
        let layout = &self.layout;
        let status = |stale: bool| match (stale, dry_run) {
            (false, _) => BuildStatus::Unchanged,
            (true, true) => BuildStatus::WouldBuild,
            (true, false) => BuildStatus::Built,
        };
        let mut report = BuildReport {
            output_dir: layout.output_dir.clone(),
            dry_run,
            routes: project.routes.len(),
            tables: project.tables.iter().map(|t| t.name.clone()).collect(),
            buckets: project.buckets.iter().map(|b| b.name.clone()).collect(),
            warnings: template_warnings,
            unserved_events: UnservedEvent::of(project),
            unsupported: project.unsupported.clone(),
            removed: self
                .removed
                .iter()
                .map(|dir| layout.relative(dir))
                .collect(),
            ..BuildReport::default()
        };
        for layer in &self.layers {
            report.warnings.extend(layer.warnings.iter().cloned());
            report.layers.push(LayerReport {
                logical_id: layer.layer.logical_id.clone(),
                status: status(layer.stale),
                installs: installs(layer.stale, layer.install.as_ref()),
            });
            if layer.stale {
                report.written.push(layout.relative(&layer.content_dir));
            }
        }
        for plan in &self.functions {
            let name = &plan.function.name;
            report.warnings.extend(plan.warnings.iter().cloned());
            report.functions.push(FunctionReport {
                logical_id: plan.function.logical_id.clone(),
                name: name.clone(),
                status: match plan.build {
                    None => BuildStatus::Image,
                    Some(_) => status(plan.stale),
                },
                installs: installs(
                    plan.stale,
                    plan.build.as_ref().and_then(|b| b.install.as_ref()),
                ),
                image: plan.build.as_ref().map(|build| build.image.clone()),
            });
            if plan.stale {
                report
                    .written
                    .push(layout.relative(&layout.function_dir(name)));
            }
        }
        let config_files = config::files(layout);
        report
            .written
            .extend(config_files.iter().map(|path| layout.relative(path)));
        report
    }

    /// Stages stale layers, writes stale functions, runs their installs, removes what the
    /// template no longer has and rewrites the config files. Returns install warnings.
    pub fn execute(&self) -> Result<Vec<String>, BuildError> {
        let layout = &self.layout;
        let workers = parallel::file_workers();
        // Layers first: functions merge their staged content into /opt.
        let layers: Vec<&LayerPlan> = self.layers.iter().filter(|l| l.stale).collect();
        parallel::map(&layers, workers, |layer| layer.stage())
            .into_iter()
            .collect::<Result<(), _>>()?;
        let installs: Vec<_> = layers.iter().filter_map(|l| l.install.clone()).collect();
        let mut warnings = deps::run_all(&installs)?;
        for layer in &layers {
            layer.record()?;
        }

        let functions: Vec<_> = self
            .functions
            .iter()
            .filter(|plan| plan.stale)
            .filter_map(|plan| Some((plan.function.name.as_str(), plan.build.as_ref()?)))
            .collect();
        parallel::map(&functions, workers, |(name, build)| {
            build.write(layout, name, &self.layers)
        })
        .into_iter()
        .collect::<Result<(), _>>()?;
        let installs: Vec<_> = functions
            .iter()
            .filter_map(|(_, build)| build.install.clone())
            .collect();
        warnings.extend(deps::run_all(&installs)?);
        for (name, build) in &functions {
            build.record(layout, name)?;
        }

        for dir in &self.removed {
            remove_dir_if_present(dir)?;
        }
        config::write(layout, self.project)?;
        Ok(warnings)
    }
}

fn installs(stale: bool, install: Option<&deps::Install>) -> Vec<String> {
    install
        .filter(|_| stale)
        .map(|install| install.describe().to_string())
        .into_iter()
        .collect()
}

/// Function names become directory names: they must be safe and unique.
fn check_names(project: &Project) -> Result<(), BuildError> {
    let mut seen: IndexMap<&str, &str> = IndexMap::new();
    for function in &project.functions {
        let name = function.name.as_str();
        let safe = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !safe {
            return Err(BuildError::BadName {
                logical_id: function.logical_id.clone(),
                name: name.to_string(),
            });
        }
        if let Some(first) = seen.insert(name, &function.logical_id) {
            return Err(BuildError::DuplicateName {
                name: name.to_string(),
                first: first.to_string(),
                second: function.logical_id.clone(),
            });
        }
    }
    Ok(())
}

/// Directories under `functions/` and `layers/` the project no longer has.
fn stale_dirs(layout: &Layout, project: &Project) -> Result<Vec<PathBuf>, BuildError> {
    let functions: BTreeSet<&str> = project.functions.iter().map(|f| f.name.as_str()).collect();
    let layers: BTreeSet<&str> = project
        .layers
        .iter()
        .map(|l| l.logical_id.as_str())
        .collect();
    let mut stale = Vec::new();
    for (dir, keep) in [
        (layout.functions_dir(), functions),
        (layout.layers_dir(), layers),
    ] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(BuildError::io("read", &dir)(err)),
        };
        for entry in entries {
            let entry = entry.map_err(BuildError::io("read", &dir))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !keep.contains(entry.file_name().to_string_lossy().as_ref()) {
                stale.push(entry.path());
            }
        }
    }
    stale.sort();
    Ok(stale)
}
