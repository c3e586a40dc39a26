//! `AWS::Serverless::Function` and `AWS::Lambda::Function` to `esb_model::Function`, and
//! the two layer types to `esb_model::Layer`.

use esb_model::{
    Architecture, Cors, DEFAULT_EPHEMERAL_STORAGE, DEFAULT_MEMORY_SIZE, DEFAULT_TIMEOUT, Event,
    Function, FunctionUrl, Layer, LayerRef, PackageType,
};
use indexmap::IndexMap;
use serde_json::Value;

use super::properties::{Props, as_string, as_string_map, as_strings, as_u32, code_location};
use super::zip_settings;
use crate::TemplateError;

/// What a function's `Layers` entries resolve to, keyed by the ARN each template layer has.
pub(crate) type LayerArns = IndexMap<String, String>;

/// Where a function's code comes from, as each function type spells it.
struct CodeSource {
    code_uri: Option<String>,
    inline_code: Option<String>,
    image_uri: Option<String>,
    package_type: PackageType,
}

pub(crate) fn serverless_function(
    props: &Props,
    layer_arns: &LayerArns,
) -> Result<Function, TemplateError> {
    let code_uri = props
        .value("CodeUri")?
        .map(|v| code_location(props, "CodeUri", &v))
        .transpose()?;
    let inline_code = props.string("InlineCode")?;
    let image_uri = props.string("ImageUri")?;
    let package_type = package_type(
        props,
        image_uri.is_some() && code_uri.is_none() && inline_code.is_none(),
    )?;
    let mut function = common_function(
        props,
        layer_arns,
        CodeSource {
            code_uri,
            inline_code,
            image_uri,
            package_type,
        },
    )?;
    function.provisioned_concurrency = match props.object("ProvisionedConcurrencyConfig")? {
        None => None,
        Some(config) => config
            .get("ProvisionedConcurrentExecutions")
            .map(|v| {
                as_u32(
                    props,
                    "ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions",
                    v,
                )
            })
            .transpose()?,
    };
    function.auto_publish_alias = props.string("AutoPublishAlias")?;
    function.function_url = function_url(props)?;
    function.events = events(props)?;
    Ok(function)
}

pub(crate) fn lambda_function(
    props: &Props,
    layer_arns: &LayerArns,
) -> Result<Function, TemplateError> {
    let code = props.object("Code")?.unwrap_or_default();
    let inline_code = code
        .get("ZipFile")
        .map(|v| as_string(props, "Code.ZipFile", v))
        .transpose()?;
    let image_uri = code
        .get("ImageUri")
        .map(|v| as_string(props, "Code.ImageUri", v))
        .transpose()?;
    let code_uri = if code.contains_key("S3Bucket") {
        Some(code_location(props, "Code", &Value::Object(code.clone()))?)
    } else {
        None
    };
    let package_type = package_type(props, image_uri.is_some())?;
    common_function(
        props,
        layer_arns,
        CodeSource {
            code_uri,
            inline_code,
            image_uri,
            package_type,
        },
    )
}

/// The properties both function types share, under the same names.
fn common_function(
    props: &Props,
    layer_arns: &LayerArns,
    code: CodeSource,
) -> Result<Function, TemplateError> {
    let function = Function {
        logical_id: props.logical_id.to_string(),
        name: function_name(props)?,
        package_type: code.package_type,
        runtime: props.string("Runtime")?,
        handler: props.string("Handler")?,
        code_uri: code.code_uri,
        inline_code: code.inline_code,
        image_uri: code.image_uri,
        memory_size: memory_size(props)?,
        ephemeral_storage: ephemeral_storage(props)?,
        timeout: timeout(props)?,
        environment: environment(props)?,
        layers: layers(props, layer_arns)?,
        architectures: architectures(props)?,
        reserved_concurrency: props.u32("ReservedConcurrentExecutions")?,
        provisioned_concurrency: None,
        auto_publish_alias: None,
        function_url: None,
        events: Vec::new(),
        build_method: props.build_method.clone(),
    };
    zip_settings::check(props, &function)?;
    Ok(function)
}

pub(crate) fn layer(props: &Props, resource_type: &str) -> Result<Layer, TemplateError> {
    let content_uri = if resource_type == "AWS::Lambda::LayerVersion" {
        props
            .value("Content")?
            .map(|v| code_location(props, "Content", &v))
            .transpose()?
    } else {
        props
            .value("ContentUri")?
            .map(|v| code_location(props, "ContentUri", &v))
            .transpose()?
    };
    let content_uri = content_uri.ok_or_else(|| {
        props.error(
            "ContentUri",
            "a layer needs ContentUri (or Content for AWS::Lambda::LayerVersion)",
        )
    })?;
    Ok(Layer {
        logical_id: props.logical_id.to_string(),
        name: props
            .resolver
            .physical_name(props.logical_id)
            .map_err(|m| props.error("LayerName", m))?,
        content_uri,
        compatible_runtimes: props.strings("CompatibleRuntimes")?,
        build_method: props.build_method.clone(),
    })
}

fn function_name(props: &Props) -> Result<String, TemplateError> {
    props
        .resolver
        .physical_name(props.logical_id)
        .map_err(|m| props.error("FunctionName", m))
}

fn package_type(props: &Props, image_inferred: bool) -> Result<PackageType, TemplateError> {
    match props.string("PackageType")?.as_deref() {
        None if image_inferred => Ok(PackageType::Image),
        None | Some("Zip") => Ok(PackageType::Zip),
        Some("Image") => Ok(PackageType::Image),
        Some(other) => {
            Err(props.error("PackageType", format!("must be Zip or Image, got {other}")))
        }
    }
}

fn memory_size(props: &Props) -> Result<u32, TemplateError> {
    let memory = props.u32("MemorySize")?.unwrap_or(DEFAULT_MEMORY_SIZE);
    if !(128..=10240).contains(&memory) {
        return Err(props.error(
            "MemorySize",
            format!("must be 128 to 10240 MB, got {memory}"),
        ));
    }
    Ok(memory)
}

/// `EphemeralStorage: {Size: N}`, 512 to 10240 MB as Lambda allows.
fn ephemeral_storage(props: &Props) -> Result<u32, TemplateError> {
    let Some(storage) = props.object("EphemeralStorage")? else {
        return Ok(DEFAULT_EPHEMERAL_STORAGE);
    };
    let size = match storage.get("Size") {
        None => DEFAULT_EPHEMERAL_STORAGE,
        Some(size) => as_u32(props, "EphemeralStorage.Size", size)?,
    };
    if !(512..=10240).contains(&size) {
        return Err(props.error(
            "EphemeralStorage.Size",
            format!("must be 512 to 10240 MB, got {size}"),
        ));
    }
    Ok(size)
}

fn timeout(props: &Props) -> Result<u32, TemplateError> {
    let timeout = props.u32("Timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    if !(1..=900).contains(&timeout) {
        return Err(props.error(
            "Timeout",
            format!("must be 1 to 900 seconds, got {timeout}"),
        ));
    }
    Ok(timeout)
}

fn environment(props: &Props) -> Result<IndexMap<String, String>, TemplateError> {
    let Some(environment) = props.object("Environment")? else {
        return Ok(IndexMap::new());
    };
    match environment.get("Variables") {
        None => Ok(IndexMap::new()),
        Some(variables) => as_string_map(props, "Environment.Variables", variables),
    }
}

fn layers(props: &Props, layer_arns: &LayerArns) -> Result<Vec<LayerRef>, TemplateError> {
    Ok(props
        .strings("Layers")?
        .into_iter()
        .map(|arn| match layer_arns.get(&arn) {
            Some(logical_id) => LayerRef::Local {
                layer: logical_id.clone(),
            },
            None => LayerRef::Arn { arn },
        })
        .collect())
}

fn architectures(props: &Props) -> Result<Vec<Architecture>, TemplateError> {
    // A single value (say, a `Ref` of a String parameter) counts as a one-item list.
    let names = match props.value("Architectures")? {
        None => Vec::new(),
        Some(Value::String(name)) => vec![name],
        Some(list) => as_strings(props, "Architectures", &list)?,
    };
    if names.is_empty() {
        return Ok(vec![Architecture::X86_64]);
    }
    names
        .iter()
        .map(|name| {
            Architecture::parse(name).ok_or_else(|| {
                props.error(
                    "Architectures",
                    format!("must be x86_64 or arm64, got {name}"),
                )
            })
        })
        .collect()
}

fn function_url(props: &Props) -> Result<Option<FunctionUrl>, TemplateError> {
    let Some(config) = props.object("FunctionUrlConfig")? else {
        return Ok(None);
    };
    let text = |key: &str| {
        config
            .get(key)
            .map(|v| as_string(props, &format!("FunctionUrlConfig.{key}"), v))
            .transpose()
    };
    let auth_type = text("AuthType")?.ok_or_else(|| {
        props.error(
            "FunctionUrlConfig.AuthType",
            "is required (NONE or AWS_IAM)",
        )
    })?;
    let cors = config
        .get("Cors")
        .map(|cors| url_cors(props, cors))
        .transpose()?;
    Ok(Some(FunctionUrl {
        auth_type,
        cors,
        invoke_mode: text("InvokeMode")?.unwrap_or_else(|| "BUFFERED".to_string()),
    }))
}

/// The CORS shape shared by function URLs and HTTP APIs (lists of plain values).
pub(crate) fn url_cors(props: &Props, value: &Value) -> Result<Cors, TemplateError> {
    let path = "Cors";
    let Value::Object(map) = value else {
        return Err(props.error(path, format!("must be a mapping, got {value}")));
    };
    let list = |key: &str| {
        map.get(key)
            .map(|v| as_strings(props, &format!("{path}.{key}"), v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(Cors {
        allow_origins: list("AllowOrigins")?,
        allow_methods: list("AllowMethods")?,
        allow_headers: list("AllowHeaders")?,
        expose_headers: list("ExposeHeaders")?,
        allow_credentials: map
            .get("AllowCredentials")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        max_age: map
            .get("MaxAge")
            .map(|v| as_u32(props, &format!("{path}.MaxAge"), v))
            .transpose()?,
    })
}

fn events(props: &Props) -> Result<Vec<Event>, TemplateError> {
    let events = match props.raw.get("Events") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(events) => events,
    };
    let Value::Object(events) = events else {
        return Err(props.error("Events", "must be a mapping of event logical ids"));
    };
    let mut out = Vec::with_capacity(events.len());
    for (event_id, event) in events {
        let path = format!("Events.{event_id}");
        let Value::Object(event) = event else {
            return Err(props.error(&path, "must be a mapping with Type and Properties"));
        };
        let event_type = match event.get("Type") {
            Some(Value::String(t)) => t.clone(),
            _ => {
                return Err(
                    props.error(&format!("{path}.Type"), "is required and must be a string")
                );
            }
        };
        let raw_properties = event
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let served = matches!(event_type.as_str(), "Api" | "HttpApi");
        let properties = match props.resolver.resolve(&raw_properties) {
            Ok(resolved) => resolved.unwrap_or(Value::Null),
            Err(message) if served => {
                return Err(props.error(&format!("{path}.Properties"), message));
            }
            Err(message) => {
                // Not served yet: keep it as written rather than fail the build over it.
                props.resolver.warn(
                    props.logical_id,
                    format!("event {event_id} ({event_type}) kept unresolved: {message}"),
                );
                raw_properties
            }
        };
        let (method, path_value) = route_of(props, &path, &event_type, &properties)?;
        out.push(Event {
            logical_id: event_id.clone(),
            event_type,
            method,
            path: path_value,
            properties,
        });
    }
    Ok(out)
}

/// The method and path of `Api` and `HttpApi` events.
fn route_of(
    props: &Props,
    path: &str,
    event_type: &str,
    properties: &Value,
) -> Result<(Option<String>, Option<String>), TemplateError> {
    let text = |key: &str| {
        properties
            .get(key)
            .map(|v| as_string(props, &format!("{path}.Properties.{key}"), v))
            .transpose()
    };
    let method = text("Method")?.map(|m| m.to_ascii_uppercase());
    let route_path = text("Path")?;
    match event_type {
        "Api" => {
            let method = method.ok_or_else(|| {
                props.error(
                    &format!("{path}.Properties.Method"),
                    "is required for an Api event",
                )
            })?;
            let route_path = route_path.ok_or_else(|| {
                props.error(
                    &format!("{path}.Properties.Path"),
                    "is required for an Api event",
                )
            })?;
            Ok((Some(method), Some(route_path)))
        }
        "HttpApi" => match (method, route_path) {
            (None, None) => Ok((Some("ANY".to_string()), Some("$default".to_string()))),
            (method, route_path) => Ok((
                Some(method.unwrap_or_else(|| "ANY".to_string())),
                Some(route_path.unwrap_or_else(|| "$default".to_string())),
            )),
        },
        _ => Ok((None, None)),
    }
}
