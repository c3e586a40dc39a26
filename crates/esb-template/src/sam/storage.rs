//! `AWS::DynamoDB::Table`, `AWS::Serverless::SimpleTable` and `AWS::S3::Bucket`.

use esb_model::{
    AttributeDefinition, Bucket, BucketCorsRule, KeyElement, KeyType, LifecycleRule, Projection,
    SecondaryIndex, Table,
};
use serde_json::{Map, Value};

use super::properties::{Props, as_bool, as_string, as_strings, as_u32};
use crate::TemplateError;

pub(crate) fn dynamodb_table(props: &Props) -> Result<Table, TemplateError> {
    let key_schema = key_schema(props, "KeySchema", props.value("KeySchema")?.as_ref())?;
    if key_schema.is_empty() {
        return Err(props.error("KeySchema", "a table needs a HASH key"));
    }
    let attribute_definitions = match props.value("AttributeDefinitions")? {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                Ok(AttributeDefinition {
                    attribute_name: field(props, "AttributeDefinitions", item, "AttributeName")?,
                    attribute_type: field(props, "AttributeDefinitions", item, "AttributeType")?,
                })
            })
            .collect::<Result<_, TemplateError>>()?,
        Some(other) => {
            return Err(props.error(
                "AttributeDefinitions",
                format!("must be a list, got {other}"),
            ));
        }
    };
    let ttl_attribute = match props.object("TimeToLiveSpecification")? {
        Some(spec)
            if spec
                .get("Enabled")
                .map(|v| as_bool(props, "TimeToLiveSpecification.Enabled", v))
                .transpose()?
                == Some(true) =>
        {
            spec.get("AttributeName")
                .map(|v| as_string(props, "TimeToLiveSpecification.AttributeName", v))
                .transpose()?
        }
        _ => None,
    };
    let stream_view_type = props
        .object("StreamSpecification")?
        .and_then(|spec| spec.get("StreamViewType").cloned())
        .map(|v| as_string(props, "StreamSpecification.StreamViewType", &v))
        .transpose()?;
    Ok(Table {
        logical_id: props.logical_id.to_string(),
        name: table_name(props)?,
        key_schema,
        attribute_definitions,
        global_secondary_indexes: indexes(props, "GlobalSecondaryIndexes")?,
        local_secondary_indexes: indexes(props, "LocalSecondaryIndexes")?,
        billing_mode: props
            .string("BillingMode")?
            .unwrap_or_else(|| "PROVISIONED".to_string()),
        ttl_attribute,
        stream_view_type,
    })
}

/// SimpleTable: one hash key (`PrimaryKey`, default `id` of type String), on demand unless
/// `ProvisionedThroughput` is set.
pub(crate) fn simple_table(props: &Props) -> Result<Table, TemplateError> {
    let (key_name, key_type) = match props.object("PrimaryKey")? {
        None => ("id".to_string(), "String".to_string()),
        Some(key) => (
            field(props, "PrimaryKey", &Value::Object(key.clone()), "Name")?,
            field(props, "PrimaryKey", &Value::Object(key), "Type")?,
        ),
    };
    let attribute_type = match key_type.as_str() {
        "String" => "S",
        "Number" => "N",
        "Binary" => "B",
        other => {
            return Err(props.error(
                "PrimaryKey.Type",
                format!("must be String, Number or Binary, got {other}"),
            ));
        }
    };
    let billing_mode = if props.value("ProvisionedThroughput")?.is_some() {
        "PROVISIONED"
    } else {
        "PAY_PER_REQUEST"
    };
    Ok(Table {
        logical_id: props.logical_id.to_string(),
        name: table_name(props)?,
        key_schema: vec![KeyElement {
            attribute_name: key_name.clone(),
            key_type: KeyType::Hash,
        }],
        attribute_definitions: vec![AttributeDefinition {
            attribute_name: key_name,
            attribute_type: attribute_type.to_string(),
        }],
        global_secondary_indexes: Vec::new(),
        local_secondary_indexes: Vec::new(),
        billing_mode: billing_mode.to_string(),
        ttl_attribute: None,
        stream_view_type: None,
    })
}

fn table_name(props: &Props) -> Result<String, TemplateError> {
    props
        .resolver
        .physical_name(props.logical_id)
        .map_err(|m| props.error("TableName", m))
}

fn field(props: &Props, path: &str, item: &Value, key: &str) -> Result<String, TemplateError> {
    let value = item
        .get(key)
        .ok_or_else(|| props.error(&format!("{path}.{key}"), "is required"))?;
    as_string(props, &format!("{path}.{key}"), value)
}

fn key_schema(
    props: &Props,
    path: &str,
    value: Option<&Value>,
) -> Result<Vec<KeyElement>, TemplateError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(props.error(path, format!("must be a list, got {value}")));
    };
    items
        .iter()
        .map(|item| {
            let key_type = match field(props, path, item, "KeyType")?.as_str() {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => {
                    return Err(props.error(
                        &format!("{path}.KeyType"),
                        format!("must be HASH or RANGE, got {other}"),
                    ));
                }
            };
            Ok(KeyElement {
                attribute_name: field(props, path, item, "AttributeName")?,
                key_type,
            })
        })
        .collect()
}

fn indexes(props: &Props, property: &str) -> Result<Vec<SecondaryIndex>, TemplateError> {
    let Some(value) = props.value(property)? else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(props.error(property, format!("must be a list, got {value}")));
    };
    items
        .iter()
        .map(|item| {
            let projection = item
                .get("Projection")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            Ok(SecondaryIndex {
                index_name: field(props, property, item, "IndexName")?,
                key_schema: key_schema(
                    props,
                    &format!("{property}.KeySchema"),
                    item.get("KeySchema"),
                )?,
                projection: Projection {
                    projection_type: projection
                        .get("ProjectionType")
                        .map(|v| {
                            as_string(props, &format!("{property}.Projection.ProjectionType"), v)
                        })
                        .transpose()?
                        .unwrap_or_else(|| "ALL".to_string()),
                    non_key_attributes: projection
                        .get("NonKeyAttributes")
                        .map(|v| {
                            as_strings(props, &format!("{property}.Projection.NonKeyAttributes"), v)
                        })
                        .transpose()?
                        .unwrap_or_default(),
                },
            })
        })
        .collect()
}

pub(crate) fn bucket(props: &Props) -> Result<Bucket, TemplateError> {
    let versioning = props
        .object("VersioningConfiguration")?
        .and_then(|v| v.get("Status").cloned())
        .map(|v| as_string(props, "VersioningConfiguration.Status", &v))
        .transpose()?
        .is_some_and(|status| status == "Enabled");
    let lifecycle_rules = match props
        .object("LifecycleConfiguration")?
        .and_then(|c| c.get("Rules").cloned())
    {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules
            .iter()
            .map(|rule| lifecycle_rule(props, rule))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(props.error(
                "LifecycleConfiguration.Rules",
                format!("must be a list, got {other}"),
            ));
        }
    };
    let cors_rules = match props
        .object("CorsConfiguration")?
        .and_then(|c| c.get("CorsRules").cloned())
    {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules
            .iter()
            .map(|rule| cors_rule(props, rule))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(props.error(
                "CorsConfiguration.CorsRules",
                format!("must be a list, got {other}"),
            ));
        }
    };
    Ok(Bucket {
        logical_id: props.logical_id.to_string(),
        name: props
            .resolver
            .physical_name(props.logical_id)
            .map_err(|m| props.error("BucketName", m))?,
        versioning,
        lifecycle_rules,
        cors_rules,
    })
}

fn lifecycle_rule(props: &Props, rule: &Value) -> Result<LifecycleRule, TemplateError> {
    let path = "LifecycleConfiguration.Rules";
    let text = |v: Option<&Value>, key: &str| {
        v.map(|v| as_string(props, &format!("{path}.{key}"), v))
            .transpose()
    };
    let days = |v: Option<&Value>, key: &str| {
        v.map(|v| as_u32(props, &format!("{path}.{key}"), v))
            .transpose()
    };
    let prefix = match rule.get("Prefix") {
        Some(p) => Some(as_string(props, &format!("{path}.Prefix"), p)?),
        None => text(
            rule.get("Filter").and_then(|f| f.get("Prefix")),
            "Filter.Prefix",
        )?,
    };
    let noncurrent = match rule.get("NoncurrentVersionExpirationInDays") {
        Some(d) => Some(as_u32(
            props,
            &format!("{path}.NoncurrentVersionExpirationInDays"),
            d,
        )?),
        None => days(
            rule.get("NoncurrentVersionExpiration")
                .and_then(|n| n.get("NoncurrentDays")),
            "NoncurrentVersionExpiration.NoncurrentDays",
        )?,
    };
    Ok(LifecycleRule {
        id: text(rule.get("Id"), "Id")?,
        enabled: text(rule.get("Status"), "Status")?.is_some_and(|s| s == "Enabled"),
        prefix,
        expiration_days: days(rule.get("ExpirationInDays"), "ExpirationInDays")?,
        expiration_date: text(rule.get("ExpirationDate"), "ExpirationDate")?,
        noncurrent_version_expiration_days: noncurrent,
        abort_incomplete_multipart_upload_days: days(
            rule.get("AbortIncompleteMultipartUpload")
                .and_then(|a| a.get("DaysAfterInitiation")),
            "AbortIncompleteMultipartUpload.DaysAfterInitiation",
        )?,
    })
}

fn cors_rule(props: &Props, rule: &Value) -> Result<BucketCorsRule, TemplateError> {
    let path = "CorsConfiguration.CorsRules";
    let list = |key: &str| {
        rule.get(key)
            .map(|v| as_strings(props, &format!("{path}.{key}"), v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(BucketCorsRule {
        allowed_origins: list("AllowedOrigins")?,
        allowed_methods: list("AllowedMethods")?,
        allowed_headers: list("AllowedHeaders")?,
        exposed_headers: list("ExposedHeaders")?,
        max_age_seconds: rule
            .get("MaxAge")
            .map(|v| as_u32(props, &format!("{path}.MaxAge"), v))
            .transpose()?,
    })
}
