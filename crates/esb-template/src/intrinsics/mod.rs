//! Evaluating intrinsic functions against Parameters, Mappings, Conditions and the names
//! resources have on this box.
//!
//! Evaluation is lazy: only the properties this box reads are resolved, so an intrinsic we
//! cannot evaluate in, say, an IAM policy never fails a build. `AWS::NoValue` resolves to
//! `None`, which removes the property or list element that holds it. Conditions, too, are
//! evaluated when first used, so a condition that only guards what this box ignores (an
//! IAM role, say) needs no parameter values.

mod cycles;
mod functions;
mod generated;
mod names;
mod parameters;

use std::cell::RefCell;
use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::source::Positions;
use crate::{LoadOptions, ParameterInfo, TemplateError, Warning, globals};

pub(crate) use parameters::scalar_text;

/// Why a value could not be resolved; the caller adds the resource and property.
pub(crate) type EvalError = String;

pub(crate) fn declared_parameters(
    template: &Map<String, Value>,
) -> Result<Vec<ParameterInfo>, TemplateError> {
    parameters::declared(template)
}

/// Resolves values of one template.
#[derive(Debug)]
pub(crate) struct Resolver<'t> {
    options: &'t LoadOptions,
    parameters: IndexMap<String, parameters::ParameterValue>,
    mappings: Map<String, Value>,
    conditions: Map<String, Value>,
    /// The `Globals` section, for what SAM generates from it (stage names).
    globals: Map<String, Value>,
    resources: &'t Map<String, Value>,
    /// Where things are written, for errors and warnings.
    positions: &'t Positions,
    partition: &'static str,
    condition_cache: RefCell<HashMap<String, bool>>,
    name_cache: RefCell<HashMap<String, String>>,
    in_progress: cycles::InProgress,
    warnings: RefCell<Vec<Warning>>,
}

impl<'t> Resolver<'t> {
    pub(crate) fn new(
        template: &Map<String, Value>,
        resources: &'t Map<String, Value>,
        positions: &'t Positions,
        options: &'t LoadOptions,
    ) -> Result<Self, TemplateError> {
        let mut warnings = Vec::new();
        let parameters = parameters::values(template, options, &mut warnings)?;
        let section = |name: &str| match template.get(name) {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        Ok(Resolver {
            options,
            parameters,
            mappings: section("Mappings"),
            conditions: section("Conditions"),
            globals: section("Globals"),
            resources,
            positions,
            partition: parameters::partition(&options.region),
            condition_cache: RefCell::default(),
            name_cache: RefCell::default(),
            in_progress: cycles::InProgress::default(),
            warnings: RefCell::new(warnings),
        })
    }

    pub(crate) fn take_warnings(&self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    pub(crate) fn warn(&self, logical_id: &str, message: String) {
        let warning = Warning {
            logical_id: Some(logical_id.to_string()),
            message,
            location: self.positions.get(&["Resources", logical_id]),
        };
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }

    /// An error about property `path` of a resource, placed where the property is written
    /// (or where Globals give it).
    pub(crate) fn error(
        &self,
        logical_id: &str,
        path: &str,
        message: impl Into<String>,
    ) -> TemplateError {
        let section = self
            .resource_type(logical_id)
            .ok()
            .and_then(globals::section_for);
        let location = self.positions.property(logical_id, section, path);
        TemplateError::resource(logical_id, path, message).at(location)
    }

    /// Resolves a value; `None` means `AWS::NoValue`.
    pub(crate) fn resolve(&self, value: &Value) -> Result<Option<Value>, EvalError> {
        match value {
            Value::Object(map) => {
                if let Some((name, args)) = intrinsic(map) {
                    return self.call(name, args);
                }
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.resolve(item)? {
                        out.insert(key.clone(), resolved);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(resolved) = self.resolve(item)? {
                        out.push(resolved);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::String(s) if s.contains("{{resolve:") => {
                self.dynamic_references(s).map(|s| Some(Value::String(s)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Whether a resource is created: it exists and its `Condition`, if any, is true.
    pub(crate) fn resource_exists(&self, logical_id: &str) -> Result<bool, EvalError> {
        let Some(resource) = self.resources.get(logical_id) else {
            return Ok(false);
        };
        match resource.get("Condition") {
            None => Ok(true),
            Some(Value::String(name)) => self.condition(name),
            Some(_) => Err("Condition must be the name of a condition".to_string()),
        }
    }

    /// The evaluated value of a named condition.
    pub(crate) fn condition(&self, name: &str) -> Result<bool, EvalError> {
        if let Some(cached) = self.condition_cache.borrow().get(name) {
            return Ok(*cached);
        }
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| format!("no condition named {name} in Conditions"))?;
        let value = self.in_progress.guard(format!("Conditions.{name}"), || {
            self.condition_value(definition)
        })?;
        self.condition_cache
            .borrow_mut()
            .insert(name.to_string(), value);
        Ok(value)
    }

    /// The name a resource has here.
    pub(crate) fn physical_name(&self, logical_id: &str) -> Result<String, EvalError> {
        if let Some(cached) = self.name_cache.borrow().get(logical_id) {
            return Ok(cached.clone());
        }
        let resource_type = self.resource_type(logical_id)?;
        let name = self.in_progress.guard(logical_id.to_string(), || {
            self.name_from_properties(logical_id, resource_type)
        })?;
        self.name_cache
            .borrow_mut()
            .insert(logical_id.to_string(), name.clone());
        Ok(name)
    }

    fn name_from_properties(
        &self,
        logical_id: &str,
        resource_type: &str,
    ) -> Result<String, EvalError> {
        let declared = names::name_property(resource_type).and_then(|property| {
            self.resources
                .get(logical_id)?
                .get("Properties")?
                .get(property)
                .map(|value| (property, value))
        });
        let Some((property, value)) = declared else {
            return Ok(names::default_name(resource_type, logical_id));
        };
        match self.resolve(value)? {
            None => Ok(names::default_name(resource_type, logical_id)),
            Some(resolved) => scalar_text(&resolved)
                .ok_or_else(|| format!("{property} of {logical_id} must be a string")),
        }
    }

    /// The ARN of a resource of this template.
    pub(crate) fn arn_of(&self, logical_id: &str) -> Result<String, EvalError> {
        let resource_type = self.resource_type(logical_id)?;
        let name = self.physical_name(logical_id)?;
        Ok(self.physical(resource_type, &name).arn())
    }

    fn resource_type(&self, logical_id: &str) -> Result<&str, EvalError> {
        self.resources
            .get(logical_id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("resource {logical_id} has no Type"))
    }

    fn physical<'a>(&'a self, resource_type: &'a str, name: &'a str) -> names::Physical<'a> {
        names::Physical {
            resource_type,
            name,
            partition: self.partition,
            region: &self.options.region,
            account: &self.options.account_id,
        }
    }
}

/// `Some((name, arguments))` when a mapping is an intrinsic function call.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (key, value) = map.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some((key.as_str(), value))
}

#[cfg(test)]
mod tests;
