//! SAM semantics: which resources become functions, layers, APIs, routes, tables and
//! buckets, with Globals merged and every property resolved.

mod api;
mod depends_on;
mod function;
mod properties;
mod resource_types;
mod storage;
mod suggest;
mod throttling;
mod usage_plans;
mod validation;
mod zip_settings;

use esb_model::{ApiKind, Project, UnsupportedResource};
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::globals::Globals;
use crate::intrinsics::Resolver;
use crate::source::{Document, Positions};
use crate::{LoadOptions, Loaded, TemplateError};
use api::{ApiDefinition, IMPLICIT_HTTP_API, IMPLICIT_REST_API};
use properties::Props;
use resource_types::{is_served, misspelling_of};
use usage_plans::UsagePlans;

pub(crate) fn resolve(document: Document, options: &LoadOptions) -> Result<Loaded, TemplateError> {
    let Document {
        template,
        positions,
        warnings: source_warnings,
    } = document;
    let file = positions.file();
    let globals = Globals::from_template(file, &template)?;
    let resources = match template.get("Resources") {
        Some(Value::Object(resources)) => resources.clone(),
        _ => {
            return Err(TemplateError::Structure {
                file: file.to_string(),
                message: "the template has no Resources section".to_string(),
            });
        }
    };
    check_resources(&resources, &positions)?;
    depends_on::check(&resources, &positions)?;
    let resolver = Resolver::new(&template, &resources, &positions, options)?;

    let mut layer_arns = IndexMap::new();
    for (id, resource) in &resources {
        if is_layer(resource_type(resource)) && exists(&resolver, id)? {
            let arn = resolver
                .arn_of(id)
                .map_err(|m| resolver.error(id, "LayerName", m))?;
            layer_arns.insert(arn, id.clone());
        }
    }

    let mut project = Project::default();
    let mut api_definitions: Vec<(ApiDefinition, Map<String, Value>)> = Vec::new();
    let mut usage_plans = UsagePlans::default();
    for (id, resource) in &resources {
        let kind = if id.starts_with("Fn::ForEach::") {
            "Fn::ForEach"
        } else {
            resource_type(resource)
        };
        if !is_served(kind) {
            // Listed, never a build failure: a Condition we cannot evaluate is a warning.
            let created = resolver.resource_exists(id).unwrap_or_else(|message| {
                resolver.warn(
                    id,
                    format!("{kind} is not served here; its Condition: {message}"),
                );
                true
            });
            if created {
                project.unsupported.push(UnsupportedResource {
                    logical_id: id.clone(),
                    resource_type: kind.to_string(),
                });
            }
            continue;
        }
        if !exists(&resolver, id)? {
            continue;
        }
        let raw = match resource.get("Properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(properties)) => properties.clone(),
            Some(_) => return Err(resolver.error(id, "Properties", "must be a mapping")),
        };
        let raw = globals
            .apply(id, resource.as_object().unwrap_or(&Map::new()), kind, raw)
            .map_err(|e| e.at(positions.get(&["Resources", id, "IgnoreGlobals"])))?;
        let build_method = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildMethod"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let props = Props {
            resolver: &resolver,
            logical_id: id,
            raw,
            build_method,
        };
        match kind {
            "AWS::Serverless::Function" => project
                .functions
                .push(function::serverless_function(&props, &layer_arns)?),
            "AWS::Lambda::Function" => project
                .functions
                .push(function::lambda_function(&props, &layer_arns)?),
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
                project.layers.push(function::layer(&props, kind)?);
            }
            "AWS::Serverless::Api" => {
                let definition = api::api(&props, ApiKind::Rest, false)?;
                usage_plans.sam_usage_plan(&props, &definition.api)?;
                api_definitions.push((definition, props.raw.clone()));
            }
            "AWS::Serverless::HttpApi" => {
                api_definitions.push((api::api(&props, ApiKind::Http, false)?, props.raw.clone()));
            }
            "AWS::DynamoDB::Table" => project.tables.push(storage::dynamodb_table(&props)?),
            "AWS::Serverless::SimpleTable" => project.tables.push(storage::simple_table(&props)?),
            "AWS::S3::Bucket" => project.buckets.push(storage::bucket(&props)?),
            "AWS::ApiGateway::ApiKey" => usage_plans.api_key(&props)?,
            "AWS::ApiGateway::UsagePlan" => usage_plans.usage_plan(&props),
            "AWS::ApiGateway::UsagePlanKey" => usage_plans.usage_plan_key(&props),
            // `is_served` let only the types above through.
            _ => {}
        }
    }
    check_unique_names(&project, &resolver)?;

    for (implicit_id, event_type, kind, globals_type) in [
        (
            IMPLICIT_REST_API,
            "Api",
            ApiKind::Rest,
            "AWS::Serverless::Api",
        ),
        (
            IMPLICIT_HTTP_API,
            "HttpApi",
            ApiKind::Http,
            "AWS::Serverless::HttpApi",
        ),
    ] {
        let id_key = if kind == ApiKind::Rest {
            "RestApiId"
        } else {
            "ApiId"
        };
        let used = project
            .functions
            .iter()
            .flat_map(|f| &f.events)
            .any(|e| e.event_type == event_type && e.properties.get(id_key).is_none());
        if used && !resources.contains_key(implicit_id) {
            let raw = globals.apply(implicit_id, &Map::new(), globals_type, Map::new())?;
            let props = Props {
                resolver: &resolver,
                logical_id: implicit_id,
                raw,
                build_method: None,
            };
            let definition = api::api(&props, kind, true)?;
            if kind == ApiKind::Rest {
                usage_plans.sam_usage_plan(&props, &definition.api)?;
            }
            api_definitions.push((definition, props.raw.clone()));
        }
    }

    let apis: Vec<ApiDefinition> = api_definitions
        .iter()
        .map(|(d, _)| ApiDefinition {
            api: d.api.clone(),
            definition_body: d.definition_body.clone(),
        })
        .collect();
    let mut skipped = Vec::new();
    let mut routes = api::event_routes(&project.functions, &apis, &mut skipped);
    let function_arns = project
        .functions
        .iter()
        .map(|f| {
            Ok((
                resolver
                    .arn_of(&f.logical_id)
                    .map_err(|m| resolver.error(&f.logical_id, "FunctionName", m))?,
                f.clone(),
            ))
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let mut apis: Vec<esb_model::Api> = apis.into_iter().map(|d| d.api).collect();
    for (definition, raw) in &api_definitions {
        let Some(body) = &definition.definition_body else {
            continue;
        };
        let props = Props {
            resolver: &resolver,
            logical_id: &definition.api.logical_id,
            raw: raw.clone(),
            build_method: None,
        };
        for (route, model) in api::definition_routes(&props, &definition.api, &function_arns, body)
        {
            let duplicate = routes
                .iter()
                .any(|r| r.api == route.api && r.method == route.method && r.path == route.path);
            if duplicate {
                continue;
            }
            if let (Some(model), Some(name), Some(api)) = (
                model,
                route.validation.as_ref().and_then(|v| v.model.clone()),
                apis.iter_mut().find(|a| a.logical_id == route.api),
            ) {
                api.models.insert(name, model);
            }
            routes.push(route);
        }
    }
    project.routes = routes;
    project.apis = apis;
    (project.api_keys, project.usage_plans) = usage_plans.finish(&resolver, &project.apis)?;

    let mut warnings = source_warnings;
    warnings.extend(resolver.take_warnings());
    warnings.extend(skipped);
    Ok(Loaded { project, warnings })
}

fn resource_type(resource: &Value) -> &str {
    resource
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn is_layer(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion"
    )
}

fn exists(resolver: &Resolver, logical_id: &str) -> Result<bool, TemplateError> {
    resolver
        .resource_exists(logical_id)
        .map_err(|m| resolver.error(logical_id, "Condition", m))
}

/// Every resource is a mapping with a string `Type` that is not a misspelt known type, under an
/// alphanumeric logical id.
fn check_resources(
    resources: &Map<String, Value>,
    positions: &Positions,
) -> Result<(), TemplateError> {
    for (id, resource) in resources {
        if id.starts_with("Fn::ForEach::") {
            continue;
        }
        let error = |property: &str, message: &str| {
            TemplateError::resource(id, property, message)
                .at(positions.property(id, None, property))
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(error(
                "(logical id)",
                "logical ids must be alphanumeric (A-Z, a-z, 0-9)",
            ));
        }
        match resource.get("Type") {
            Some(Value::String(resource_type)) => {
                if let Some(known) = misspelling_of(resource_type) {
                    return Err(error(
                        "Type",
                        &format!("{resource_type} is not a resource type; did you mean {known}?"),
                    ));
                }
            }
            Some(_) => return Err(error("Type", "must be a string")),
            None => return Err(error("Type", "every resource needs a Type")),
        }
    }
    Ok(())
}

fn check_unique_names(project: &Project, resolver: &Resolver) -> Result<(), TemplateError> {
    for (i, function) in project.functions.iter().enumerate() {
        if let Some(other) = project.functions[..i]
            .iter()
            .find(|f| f.name == function.name)
        {
            return Err(resolver.error(
                &function.logical_id,
                "FunctionName",
                format!(
                    "{} is also the name of {}; function names must be unique",
                    function.name, other.logical_id
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
