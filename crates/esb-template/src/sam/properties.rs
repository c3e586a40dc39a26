//! Typed reads of resolved properties, with errors that name the resource and property.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::TemplateError;
use crate::intrinsics::{Resolver, scalar_text};

/// The (globals-merged, unresolved) properties of one resource, read through the resolver.
pub(crate) struct Props<'r, 't> {
    pub resolver: &'r Resolver<'t>,
    pub logical_id: &'r str,
    pub raw: Map<String, Value>,
    /// The resource's `Metadata.BuildMethod`, which SAM reads from outside `Properties`.
    pub build_method: Option<String>,
}

impl Props<'_, '_> {
    pub(crate) fn error(&self, property: &str, message: impl Into<String>) -> TemplateError {
        self.resolver.error(self.logical_id, property, message)
    }

    /// The resolved value of a property; `None` when absent or `AWS::NoValue`.
    pub(crate) fn value(&self, property: &str) -> Result<Option<Value>, TemplateError> {
        match self.raw.get(property) {
            None | Some(Value::Null) => Ok(None),
            Some(raw) => self
                .resolver
                .resolve(raw)
                .map_err(|message| self.error(property, message)),
        }
    }

    pub(crate) fn string(&self, property: &str) -> Result<Option<String>, TemplateError> {
        self.value(property)?
            .map(|v| as_string(self, property, &v))
            .transpose()
    }

    pub(crate) fn u32(&self, property: &str) -> Result<Option<u32>, TemplateError> {
        self.value(property)?
            .map(|v| as_u32(self, property, &v))
            .transpose()
    }

    pub(crate) fn strings(&self, property: &str) -> Result<Vec<String>, TemplateError> {
        match self.value(property)? {
            None => Ok(Vec::new()),
            Some(v) => as_strings(self, property, &v),
        }
    }

    pub(crate) fn object(
        &self,
        property: &str,
    ) -> Result<Option<Map<String, Value>>, TemplateError> {
        match self.value(property)? {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(self.error(property, format!("must be a mapping, got {other}"))),
        }
    }
}

pub(crate) fn as_string(props: &Props, path: &str, value: &Value) -> Result<String, TemplateError> {
    scalar_text(value).ok_or_else(|| props.error(path, format!("must be a string, got {value}")))
}

pub(crate) fn as_u32(props: &Props, path: &str, value: &Value) -> Result<u32, TemplateError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| props.error(path, format!("must be a whole number, got {value}")))
}

pub(crate) fn as_bool(props: &Props, path: &str, value: &Value) -> Result<bool, TemplateError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(props.error(path, format!("must be true or false, got {other}"))),
    }
}

pub(crate) fn as_strings(
    props: &Props,
    path: &str,
    value: &Value,
) -> Result<Vec<String>, TemplateError> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| as_string(props, path, item))
            .collect(),
        other => Err(props.error(path, format!("must be a list, got {other}"))),
    }
}

/// A mapping of names to plain values (environment variables), values as text.
pub(crate) fn as_string_map(
    props: &Props,
    path: &str,
    value: &Value,
) -> Result<IndexMap<String, String>, TemplateError> {
    let Value::Object(map) = value else {
        return Err(props.error(path, format!("must be a mapping, got {value}")));
    };
    map.iter()
        .map(|(k, v)| Ok((k.clone(), as_string(props, &format!("{path}.{k}"), v)?)))
        .collect()
}

/// `s3://bucket/key` for the `{Bucket, Key}` form of CodeUri/ContentUri, the string as is.
pub(crate) fn code_location(
    props: &Props,
    path: &str,
    value: &Value,
) -> Result<String, TemplateError> {
    match value {
        Value::Object(map) => {
            let part = |key: &str| map.get(key).and_then(scalar_text);
            match (
                part("Bucket").or_else(|| part("S3Bucket")),
                part("Key").or_else(|| part("S3Key")),
            ) {
                (Some(bucket), Some(key)) => Ok(format!("s3://{bucket}/{key}")),
                _ => Err(props.error(path, "must be a path, an s3:// URI, or {Bucket, Key}")),
            }
        }
        other => as_string(props, path, other),
    }
}
