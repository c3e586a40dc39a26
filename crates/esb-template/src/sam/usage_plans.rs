//! API keys and usage plans: `AWS::ApiGateway::ApiKey`, `UsagePlan` and `UsagePlanKey` as
//! written, and those SAM makes from a REST API's `Auth.UsagePlan` (`PER_API`: one plan and key
//! per API, `SHARED`: one plan and key for every API that asks for it).
//!
//! The three resource types refer to each other and to APIs, so they are collected while the
//! template is read and joined once every API is known.

use esb_model::{Api, ApiKey, ApiKind, ApiStage, Quota, QuotaPeriod, Throttle, UsagePlan};
use serde_json::{Map, Value};

use super::properties::{Props, as_bool, as_string, as_u32};
use super::throttling::rate;
use crate::TemplateError;
use crate::intrinsics::{Resolver, scalar_text};

/// The shortest key value API Gateway accepts.
const MIN_KEY_LENGTH: usize = 20;

/// What the template declares, before it is joined.
#[derive(Default)]
pub(crate) struct UsagePlans {
    keys: Vec<ApiKey>,
    plans: Vec<(String, Map<String, Value>)>,
    plan_keys: Vec<(String, Map<String, Value>)>,
    sam_plans: Vec<UsagePlan>,
}

impl UsagePlans {
    pub(crate) fn api_key(&mut self, props: &Props) -> Result<(), TemplateError> {
        let value = props.string("Value")?;
        if let Some(value) = &value
            && value.len() < MIN_KEY_LENGTH
        {
            return Err(props.error(
                "Value",
                format!("must be at least {MIN_KEY_LENGTH} characters, as API Gateway requires"),
            ));
        }
        let enabled = match props.value("Enabled")? {
            Some(enabled) => as_bool(props, "Enabled", &enabled)?,
            // CloudFormation creates keys disabled unless told otherwise.
            None => false,
        };
        self.keys.push(ApiKey {
            logical_id: props.logical_id.to_string(),
            name: props
                .string("Name")?
                .unwrap_or_else(|| props.logical_id.to_string()),
            value,
            enabled,
        });
        Ok(())
    }

    pub(crate) fn usage_plan(&mut self, props: &Props) {
        self.plans
            .push((props.logical_id.to_string(), props.raw.clone()));
    }

    pub(crate) fn usage_plan_key(&mut self, props: &Props) {
        self.plan_keys
            .push((props.logical_id.to_string(), props.raw.clone()));
    }

    /// `Auth.UsagePlan` of a REST API (HTTP APIs have no usage plans), as SAM expands it.
    pub(crate) fn sam_usage_plan(&mut self, props: &Props, api: &Api) -> Result<(), TemplateError> {
        let Some(auth) = props.object("Auth")? else {
            return Ok(());
        };
        let Some(declared) = auth.get("UsagePlan") else {
            return Ok(());
        };
        let at = "Auth.UsagePlan";
        let Value::Object(declared) = declared else {
            return Err(props.error(at, "must be a mapping"));
        };
        let create = match declared.get("CreateUsagePlan") {
            Some(value) => as_string(props, &format!("{at}.CreateUsagePlan"), value)?,
            None => return Err(props.error(at, "needs CreateUsagePlan: PER_API, SHARED or NONE")),
        };
        let (plan_id, key_id) = match create.as_str() {
            "NONE" => return Ok(()),
            "PER_API" => (
                format!("{}UsagePlan", api.logical_id),
                format!("{}ApiKey", api.logical_id),
            ),
            "SHARED" => ("ServerlessUsagePlan".into(), "ServerlessApiKey".into()),
            other => {
                return Err(props.error(
                    &format!("{at}.CreateUsagePlan"),
                    format!("must be PER_API, SHARED or NONE, got {other}"),
                ));
            }
        };
        let stage = ApiStage {
            api: api.logical_id.clone(),
            stage: api.stage_name.clone(),
        };
        if let Some(shared) = self.sam_plans.iter_mut().find(|p| p.logical_id == plan_id) {
            shared.stages.push(stage);
            return Ok(());
        }
        self.sam_plans.push(UsagePlan {
            logical_id: plan_id,
            stages: vec![stage],
            throttle: throttle(props, at, declared.get("Throttle"))?,
            quota: quota(props, at, declared.get("Quota"))?,
            keys: vec![key_id.clone()],
        });
        self.keys.push(ApiKey {
            logical_id: key_id.clone(),
            name: key_id,
            value: None,
            enabled: true,
        });
        Ok(())
    }

    /// Joins plans, keys and APIs. What cannot be joined is a warning, never a failed build:
    /// the rest is still served.
    pub(crate) fn finish(
        self,
        resolver: &Resolver,
        apis: &[Api],
    ) -> Result<(Vec<ApiKey>, Vec<UsagePlan>), TemplateError> {
        let mut plans = self.sam_plans;
        for (id, raw) in self.plans {
            let props = Props {
                resolver,
                logical_id: &id,
                raw,
                build_method: None,
            };
            plans.push(UsagePlan {
                stages: api_stages(&props, apis)?,
                throttle: throttle(&props, "", props.raw.get("Throttle"))?,
                quota: quota(&props, "", props.raw.get("Quota"))?,
                keys: Vec::new(),
                logical_id: id.clone(),
            });
        }
        for (id, raw) in self.plan_keys {
            let props = Props {
                resolver,
                logical_id: &id,
                raw,
                build_method: None,
            };
            let (Some(key), Some(plan)) = (props.string("KeyId")?, props.string("UsagePlanId")?)
            else {
                return Err(props.error("KeyId", "KeyId and UsagePlanId are required"));
            };
            if !self.keys.iter().any(|k| k.logical_id == key) {
                resolver.warn(
                    &id,
                    format!(
                        "KeyId {key} is not an AWS::ApiGateway::ApiKey of this template; not served"
                    ),
                );
                continue;
            }
            match plans.iter_mut().find(|p| p.logical_id == plan) {
                Some(plan) => plan.keys.push(key),
                None => resolver.warn(
                    &id,
                    format!("UsagePlanId {plan} is not an AWS::ApiGateway::UsagePlan of this template; not served"),
                ),
            }
        }
        Ok((self.keys, plans))
    }
}

/// `ApiStages: [{ApiId, Stage, Throttle}]`, each naming a REST API of this template.
fn api_stages(props: &Props, apis: &[Api]) -> Result<Vec<ApiStage>, TemplateError> {
    let Some(Value::Array(declared)) = props.raw.get("ApiStages") else {
        return Ok(Vec::new());
    };
    let mut stages = Vec::new();
    for (i, entry) in declared.iter().enumerate() {
        let at = format!("ApiStages[{i}]");
        let Some(api_id) = entry
            .get("ApiId")
            .map(|raw| props.resolver.resolve(raw).map_err(|m| props.error(&at, m)))
            .transpose()?
            .flatten()
            .as_ref()
            .and_then(scalar_text)
        else {
            return Err(props.error(&format!("{at}.ApiId"), "is required"));
        };
        let Some(api) = apis.iter().find(|a| a.logical_id == api_id) else {
            props.resolver.warn(
                props.logical_id,
                format!("{at}.ApiId {api_id} is not an API of this template; not served"),
            );
            continue;
        };
        if api.kind != ApiKind::Rest {
            props.resolver.warn(
                props.logical_id,
                format!("{at}: {api_id} is an HTTP API; usage plans apply to REST APIs only"),
            );
            continue;
        }
        let stage = stage_name(props, entry.get("Stage"), api).map_err(|m| props.error(&at, m))?;
        if stage != api.stage_name {
            props.resolver.warn(
                props.logical_id,
                format!(
                    "{at}.Stage {stage} is not the stage of {api_id} ({}); not served",
                    api.stage_name
                ),
            );
            continue;
        }
        if entry.get("Throttle").is_some() {
            props.resolver.warn(
                props.logical_id,
                format!("{at}.Throttle (per-method limits in a usage plan) is not enforced"),
            );
        }
        stages.push(ApiStage { api: api_id, stage });
    }
    Ok(stages)
}

/// A stage written as its name, as `!Ref MyApi.Stage`, or as `!Ref MyApiProdStage` (the stage
/// resource SAM makes): the last two are not resources of the template, so they are read here.
fn stage_name(props: &Props, raw: Option<&Value>, api: &Api) -> Result<String, String> {
    let Some(raw) = raw else {
        return Err("Stage is required".into());
    };
    if let Some(target) = raw.get("Ref").and_then(Value::as_str) {
        let sam_stage = target
            .strip_prefix(api.logical_id.as_str())
            .and_then(|rest| rest.strip_suffix("Stage"))
            .filter(|middle| !middle.is_empty());
        if target == format!("{}.Stage", api.logical_id) {
            return Ok(api.stage_name.clone());
        }
        if let Some(stage) =
            sam_stage.filter(|_| props.resolver.resource_exists(target) == Ok(false))
        {
            return Ok(stage.to_string());
        }
    }
    props
        .resolver
        .resolve(raw)?
        .as_ref()
        .and_then(scalar_text)
        .ok_or_else(|| format!("Stage must be a stage name, got {raw}"))
}

/// A resolved mapping property and its path for errors (`Auth.UsagePlan.Quota`).
type Declared = (String, Map<String, Value>);

/// A plan's `Throttle` or `Quota` resolved, or `None` when it is not declared.
fn resolved_mapping(
    props: &Props,
    at: &str,
    name: &str,
    raw: Option<&Value>,
) -> Result<Option<Declared>, TemplateError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let at = if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    };
    match props
        .resolver
        .resolve(raw)
        .map_err(|m| props.error(&at, m))?
    {
        Some(Value::Object(map)) => Ok(Some((at, map))),
        _ => Err(props.error(&at, "must be a mapping")),
    }
}

fn throttle(
    props: &Props,
    at: &str,
    raw: Option<&Value>,
) -> Result<Option<Throttle>, TemplateError> {
    let Some((at, map)) = resolved_mapping(props, at, "Throttle", raw)? else {
        return Ok(None);
    };
    Ok(Some(Throttle {
        rate_limit: map
            .get("RateLimit")
            .map(|v| rate(props, &format!("{at}.RateLimit"), v))
            .transpose()?,
        burst_limit: map
            .get("BurstLimit")
            .map(|v| as_u32(props, &format!("{at}.BurstLimit"), v))
            .transpose()?,
    }))
}

fn quota(props: &Props, at: &str, raw: Option<&Value>) -> Result<Option<Quota>, TemplateError> {
    let Some((at, map)) = resolved_mapping(props, at, "Quota", raw)? else {
        return Ok(None);
    };
    let Some(limit) = map.get("Limit") else {
        return Ok(None);
    };
    let limit = as_u32(props, &format!("{at}.Limit"), limit)?;
    let offset = map
        .get("Offset")
        .map(|v| as_u32(props, &format!("{at}.Offset"), v))
        .transpose()?
        .unwrap_or(0);
    let period = match map.get("Period") {
        Some(period) => {
            let written = as_string(props, &format!("{at}.Period"), period)?;
            QuotaPeriod::parse(&written).ok_or_else(|| {
                props.error(
                    &format!("{at}.Period"),
                    format!("must be DAY, WEEK or MONTH, got {written}"),
                )
            })?
        }
        None => return Err(props.error(&at, "a Quota with a Limit needs a Period")),
    };
    Ok(Some(Quota {
        limit: u64::from(limit),
        offset: u64::from(offset),
        period,
    }))
}
