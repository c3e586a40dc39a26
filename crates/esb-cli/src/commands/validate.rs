//! `esb validate`: resolve the template (with generator.yml parameters) without building, and
//! print what it declares, as a readable summary or as JSON on stdout.

use clap::Args;
use esb_model::{
    Architecture, Bucket, Event, Function, LayerRef, PackageType, Project, Route, Table,
    UnsupportedResource,
};
use indexmap::IndexMap;
use miette::IntoDiagnostic;
use serde::Serialize;

use crate::cli::TemplateArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Print the resolved functions, routes, tables and buckets as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

impl ValidateArgs {
    pub fn run(self) -> miette::Result<()> {
        let template = self.template.locate()?;
        let resolved = esb_build::resolve(&template, &self.template.input())?;
        let warnings: Vec<String> = resolved
            .loaded
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        let view = ProjectView::new(&resolved.loaded.project, warnings);
        if self.json {
            let text = serde_json::to_string_pretty(&view).into_diagnostic()?;
            println!("{text}");
        } else {
            print!("{}", view.summary(&template.display().to_string()));
        }
        Ok(())
    }
}

/// The JSON shape of `esb validate --json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectView<'a> {
    functions: Vec<FunctionView<'a>>,
    routes: &'a [Route],
    tables: &'a [Table],
    buckets: &'a [Bucket],
    unsupported: &'a [UnsupportedResource],
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionView<'a> {
    logical_id: &'a str,
    name: &'a str,
    package_type: PackageType,
    runtime: Option<&'a str>,
    handler: Option<&'a str>,
    code_uri: Option<&'a str>,
    image_uri: Option<&'a str>,
    memory_size: u32,
    timeout: u32,
    environment: &'a IndexMap<String, String>,
    /// Layer logical ids and ARNs.
    layers: Vec<&'a str>,
    reserved_concurrency: Option<u32>,
    provisioned_concurrency: Option<u32>,
    architectures: &'a [Architecture],
    events: Vec<EventView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    logical_id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    method: Option<&'a str>,
    path: Option<&'a str>,
}

impl<'a> ProjectView<'a> {
    fn new(project: &'a Project, warnings: Vec<String>) -> ProjectView<'a> {
        ProjectView {
            functions: project.functions.iter().map(FunctionView::new).collect(),
            routes: &project.routes,
            tables: &project.tables,
            buckets: &project.buckets,
            unsupported: &project.unsupported,
            warnings,
        }
    }

    fn summary(&self, template: &str) -> String {
        let mut out = format!("{} {template} is valid\n", output::good("ok:"));
        out.push_str(&format!(
            "{}\n",
            output::heading(format!("functions ({})", self.functions.len()))
        ));
        for f in &self.functions {
            let code = f.code_uri.or(f.image_uri).unwrap_or("inline");
            out.push_str(&format!(
                "  {:<24} {} {} {}  {} MB, {} s\n",
                f.logical_id,
                f.runtime.unwrap_or("image"),
                f.handler.unwrap_or("-"),
                output::dim(code),
                f.memory_size,
                f.timeout
            ));
            for event in &f.events {
                let route = match (event.method, event.path) {
                    (Some(method), Some(path)) => format!(" {method} {path}"),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "    {} {}{route}\n",
                    event.event_type, event.logical_id
                ));
            }
        }
        out.push_str(&format!(
            "{}\n",
            output::heading(format!("routes ({})", self.routes.len()))
        ));
        for route in self.routes {
            out.push_str(&format!(
                "  {:<7} {:<30} -> {}  {}\n",
                route.method,
                route.path,
                route.function,
                output::dim(format!("{} {:?}", route.api, route.kind).to_lowercase())
            ));
        }
        let names = |names: Vec<&str>| {
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        };
        let tables = names(self.tables.iter().map(|t| t.name.as_str()).collect());
        let buckets = names(self.buckets.iter().map(|b| b.name.as_str()).collect());
        out.push_str(&format!("{} {tables}\n", output::heading("tables:")));
        out.push_str(&format!("{} {buckets}\n", output::heading("buckets:")));
        for resource in self.unsupported {
            out.push_str(&format!(
                "{} {} ({}) is not served here\n",
                output::warn("unsupported:"),
                resource.logical_id,
                resource.resource_type
            ));
        }
        for warning in &self.warnings {
            out.push_str(&format!("{} {warning}\n", output::warn("warning:")));
        }
        out
    }
}

impl<'a> FunctionView<'a> {
    fn new(function: &'a Function) -> FunctionView<'a> {
        FunctionView {
            logical_id: &function.logical_id,
            name: &function.name,
            package_type: function.package_type,
            runtime: function.runtime.as_deref(),
            handler: function.handler.as_deref(),
            code_uri: function.code_uri.as_deref(),
            image_uri: function.image_uri.as_deref(),
            memory_size: function.memory_size,
            timeout: function.timeout,
            environment: &function.environment,
            layers: function
                .layers
                .iter()
                .map(|layer| match layer {
                    LayerRef::Local { layer } => layer.as_str(),
                    LayerRef::Arn { arn } => arn.as_str(),
                })
                .collect(),
            reserved_concurrency: function.reserved_concurrency,
            provisioned_concurrency: function.provisioned_concurrency,
            architectures: &function.architectures,
            events: function.events.iter().map(EventView::new).collect(),
        }
    }
}

impl<'a> EventView<'a> {
    fn new(event: &'a Event) -> EventView<'a> {
        EventView {
            logical_id: &event.logical_id,
            event_type: &event.event_type,
            method: event.method.as_deref(),
            path: event.path.as_deref(),
        }
    }
}
