//! What a build did (or, dry-run, would do), for the CLI to print.

use std::fmt;
use std::path::PathBuf;

use esb_model::{Project, UnsupportedResource};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildReport {
    pub output_dir: PathBuf,
    /// The active environment of `generator.yml`, whose parameter values the build used.
    pub environment: Option<String>,
    pub dry_run: bool,
    /// In template order.
    pub functions: Vec<FunctionReport>,
    pub layers: Vec<LayerReport>,
    pub routes: usize,
    pub tables: Vec<String>,
    pub buckets: Vec<String>,
    /// Template warnings, then the build's own.
    pub warnings: Vec<String>,
    pub unserved_events: Vec<UnservedEvent>,
    pub unsupported: Vec<UnsupportedResource>,
    /// Files and directories written (dry run: that would be written), relative to the
    /// project directory.
    pub written: Vec<String>,
    /// Function and layer directories removed because the template no longer has them.
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildStatus {
    Built,
    Unchanged,
    WouldBuild,
    /// `PackageType: Image`: the image is the user's; nothing to build.
    Image,
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildStatus::Built => "built",
            BuildStatus::Unchanged => "unchanged",
            BuildStatus::WouldBuild => "would build",
            BuildStatus::Image => "image",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionReport {
    pub logical_id: String,
    pub name: String,
    pub status: BuildStatus,
    /// Dependency installs run (or, dry-run, to run): `pip: requirements.txt`.
    pub installs: Vec<String>,
    /// The name its Dockerfile is meant to be built as; `None` for image functions.
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    pub logical_id: String,
    pub status: BuildStatus,
    pub installs: Vec<String>,
}

/// An event the template declares that this box does not serve yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnservedEvent {
    pub function: String,
    pub event: String,
    pub event_type: String,
}

impl fmt::Display for UnservedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "function {} event {} of type {} is not served yet",
            self.function, self.event, self.event_type
        )
    }
}

impl UnservedEvent {
    /// Every event of `project` that `Event::is_served` says is not served.
    pub fn of(project: &Project) -> Vec<UnservedEvent> {
        project
            .functions
            .iter()
            .flat_map(|function| {
                function
                    .events
                    .iter()
                    .filter(|event| !event.is_served())
                    .map(|event| UnservedEvent {
                        function: function.logical_id.clone(),
                        event: event.logical_id.clone(),
                        event_type: event.event_type.clone(),
                    })
            })
            .collect()
    }
}

impl BuildReport {
    pub fn count(&self, status: BuildStatus) -> usize {
        self.functions.iter().filter(|f| f.status == status).count()
    }
}
