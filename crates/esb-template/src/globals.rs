//! The SAM `Globals` section, merged into resources exactly as the SAM translator does:
//! maps merge (the resource's keys win, recursively), lists append (globals first), and
//! anything else — scalars, intrinsic functions, or values of different kinds — is taken
//! from the resource. A resource can opt out with `IgnoreGlobals: '*'` or a list of names.

use serde_json::{Map, Value};

use crate::TemplateError;

/// Which resource type each Globals section applies to, and the properties SAM accepts there
/// (`None`: SAM's list is not checked here; the section is still merged).
const SECTIONS: [(&str, &str, Option<&[&str]>); 8] = [
    (
        "Function",
        "AWS::Serverless::Function",
        Some(FUNCTION_PROPERTIES),
    ),
    ("Api", "AWS::Serverless::Api", Some(API_PROPERTIES)),
    ("HttpApi", "AWS::Serverless::HttpApi", None),
    ("SimpleTable", "AWS::Serverless::SimpleTable", None),
    ("LayerVersion", "AWS::Serverless::LayerVersion", None),
    ("StateMachine", "AWS::Serverless::StateMachine", None),
    ("WebSocketApi", "AWS::Serverless::WebSocketApi", None),
    (
        "CapacityProvider",
        "AWS::Serverless::CapacityProvider",
        None,
    ),
];

const FUNCTION_PROPERTIES: &[&str] = &[
    "Handler",
    "Runtime",
    "CodeUri",
    "DeadLetterQueue",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Environment",
    "Tags",
    "PropagateTags",
    "Tracing",
    "KmsKeyArn",
    "AutoPublishAlias",
    "AutoPublishAliasAllProperties",
    "Layers",
    "DeploymentPreference",
    "RolePath",
    "PermissionsBoundary",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "AssumeRolePolicyDocument",
    "EventInvokeConfig",
    "FileSystemConfigs",
    "CodeSigningConfigArn",
    "Architectures",
    "SnapStart",
    "EphemeralStorage",
    "FunctionUrlConfig",
    "RuntimeManagementConfig",
    "LoggingConfig",
    "RecursiveLoop",
    "SourceKMSKeyArn",
    "TenancyConfig",
    "DurableConfig",
    "CapacityProviderConfig",
    "FunctionScalingConfig",
    "PublishToLatestPublished",
    "VersionDeletionPolicy",
];

const API_PROPERTIES: &[&str] = &[
    "Auth",
    "Name",
    "DefinitionUri",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "MergeDefinitions",
    "Variables",
    "EndpointConfiguration",
    "MethodSettings",
    "BinaryMediaTypes",
    "MinimumCompressionSize",
    "Cors",
    "GatewayResponses",
    "AccessLogSetting",
    "CanarySetting",
    "TracingEnabled",
    "OpenApiVersion",
    "Domain",
    "AlwaysDeploy",
    "PropagateTags",
    "SecurityPolicy",
    "EndpointAccessMode",
];

/// The validated `Globals` section: resource type → properties to merge.
#[derive(Debug, Default)]
pub(crate) struct Globals {
    by_type: Vec<(&'static str, Map<String, Value>)>,
}

impl Globals {
    pub(crate) fn from_template(
        file: &str,
        template: &Map<String, Value>,
    ) -> Result<Self, TemplateError> {
        let invalid = |message: String| TemplateError::Structure {
            file: file.to_string(),
            message: format!("'Globals' section is invalid. {message}"),
        };
        let section = match template.get("Globals") {
            None => return Ok(Globals::default()),
            Some(Value::Object(section)) if !section.is_empty() => section,
            Some(_) => return Err(invalid("It must be a non-empty mapping".to_string())),
        };
        let mut by_type = Vec::new();
        for (name, properties) in section {
            let Some((_, resource_type, allowed)) = SECTIONS.iter().find(|(n, ..)| n == name)
            else {
                let names: Vec<&str> = SECTIONS.iter().map(|(n, ..)| *n).collect();
                return Err(invalid(format!(
                    "'{name}' is not supported; use one of {}",
                    names.join(", ")
                )));
            };
            let Value::Object(properties) = properties else {
                return Err(invalid(format!("'{name}' must be a mapping of properties")));
            };
            if let Some(bad) = allowed
                .and_then(|allowed| properties.keys().find(|k| !allowed.contains(&k.as_str())))
            {
                return Err(invalid(format!(
                    "'{bad}' is not a supported property of '{name}'; use one of {}",
                    allowed.unwrap_or_default().join(", ")
                )));
            }
            by_type.push((*resource_type, properties.clone()));
        }
        Ok(Globals { by_type })
    }

    /// Applies the globals for `resource_type` to a resource's properties, honouring the
    /// resource's `IgnoreGlobals`.
    pub(crate) fn apply(
        &self,
        logical_id: &str,
        resource: &Map<String, Value>,
        resource_type: &str,
        properties: Map<String, Value>,
    ) -> Result<Map<String, Value>, TemplateError> {
        let Some((_, globals)) = self.by_type.iter().find(|(t, _)| *t == resource_type) else {
            return Ok(properties);
        };
        let ignored: Vec<&str> = match resource.get("IgnoreGlobals") {
            None => Vec::new(),
            Some(Value::String(s)) if s == "*" => return Ok(properties),
            Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
                names.iter().filter_map(Value::as_str).collect()
            }
            Some(_) => {
                return Err(TemplateError::resource(
                    logical_id,
                    "IgnoreGlobals",
                    "must be '*' or a list of property names",
                ));
            }
        };
        let mut merged: Map<String, Value> = globals
            .iter()
            .filter(|(k, _)| !ignored.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merge_into(&mut merged, properties);
        Ok(merged)
    }
}

/// The name of the `Globals` section that applies to `resource_type`, if one does.
pub(crate) fn section_for(resource_type: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .find(|(_, applies_to, _)| *applies_to == resource_type)
        .map(|(name, ..)| *name)
}

/// SAM's merge rule for one value.
fn merge(global: Value, local: Value) -> Value {
    match (global, local) {
        (Value::Object(global), Value::Object(local))
            if !is_intrinsic(&global) && !is_intrinsic(&local) =>
        {
            let mut merged = global;
            merge_into(&mut merged, local);
            Value::Object(merged)
        }
        (Value::Array(mut global), Value::Array(local)) => {
            global.extend(local);
            Value::Array(global)
        }
        (_, local) => local,
    }
}

/// Merges `local` into `global` in place: a key both have keeps the global's position, as
/// with a Python dict update in the SAM translator.
fn merge_into(global: &mut Map<String, Value>, local: Map<String, Value>) {
    for (key, value) in local {
        match global.get_mut(&key) {
            Some(slot) => *slot = merge(std::mem::take(slot), value),
            None => {
                global.insert(key, value);
            }
        }
    }
}

/// A single-key map whose key is `Ref`, `Condition` or `Fn::*` is a value, not a mapping.
fn is_intrinsic(map: &Map<String, Value>) -> bool {
    map.len() == 1
        && map
            .keys()
            .all(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn globals(section: Value) -> Globals {
        let template = json!({"Globals": section, "Resources": {}});
        Globals::from_template("t", template.as_object().expect("object")).expect("valid")
    }

    fn apply(g: &Globals, resource: Value) -> Value {
        let resource = resource.as_object().expect("object").clone();
        let props = resource["Properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        Value::Object(
            g.apply("F", &resource, "AWS::Serverless::Function", props)
                .expect("applies"),
        )
    }

    #[test]
    fn maps_merge_lists_append_scalars_override() {
        let g = globals(json!({"Function": {
            "Runtime": "python3.9",
            "Timeout": 10,
            "Environment": {"Variables": {"A": "global", "B": "global"}},
            "Layers": ["g1"],
        }}));
        let merged = apply(
            &g,
            json!({"Properties": {
                "Timeout": 20,
                "Environment": {"Variables": {"B": "local", "C": "local"}},
                "Layers": ["l1"],
            }}),
        );
        assert_eq!(merged["Runtime"], "python3.9");
        assert_eq!(merged["Timeout"], 20);
        assert_eq!(
            merged["Environment"]["Variables"],
            json!({"A": "global", "B": "local", "C": "local"})
        );
        assert_eq!(merged["Layers"], json!(["g1", "l1"]));
    }

    #[test]
    fn intrinsics_are_values_not_maps() {
        let g = globals(json!({"Function": {"Environment": {"Variables": {"A": "1"}}}}));
        let local = json!({"Fn::If": ["C", {"Variables": {"B": "2"}}, {"Ref": "AWS::NoValue"}]});
        let merged = apply(&g, json!({"Properties": {"Environment": local.clone()}}));
        assert_eq!(merged["Environment"], local);
    }

    #[test]
    fn ignore_globals_skips_all_or_some() {
        let g = globals(json!({"Function": {"Runtime": "python3.9", "Handler": "a.b"}}));
        let all = apply(&g, json!({"IgnoreGlobals": "*", "Properties": {}}));
        assert_eq!(all, json!({}));
        let some = apply(&g, json!({"IgnoreGlobals": ["Runtime"], "Properties": {}}));
        assert_eq!(some, json!({"Handler": "a.b"}));
    }

    #[test]
    fn unsupported_sections_and_properties_are_errors() {
        for section in [
            json!({"NewType": {"A": 1}}),
            json!({"Function": {"SomeKey": 1}}),
            json!({"Api": {"StageName": "Prod"}}),
            json!("not a map"),
            json!({}),
        ] {
            let template = json!({"Globals": section, "Resources": {}});
            let result = Globals::from_template("t", template.as_object().expect("object"));
            assert!(result.is_err(), "{section} should be rejected");
        }
    }
}
