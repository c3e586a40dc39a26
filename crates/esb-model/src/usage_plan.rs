//! API keys and the usage plans that meter them: `AWS::ApiGateway::ApiKey`, `UsagePlan` and
//! `UsagePlanKey`, whether written in the template or made by SAM from `Auth.UsagePlan`.

use serde::{Deserialize, Serialize};

use crate::api::Throttle;

/// An API key a client sends as `x-api-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub logical_id: String,
    /// `Name`, else the logical id.
    pub name: String,
    /// `Value` as written; `None` when API Gateway would generate one (the box generates it
    /// once and keeps it with its data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub enabled: bool,
}

/// Which API stages a usage plan covers, how fast and how much its keys may call them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub logical_id: String,
    pub stages: Vec<ApiStage>,
    /// Each key's token bucket on this plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    /// Each key's request budget per period on this plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Logical ids of the API keys on this plan (`UsagePlanKey`).
    pub keys: Vec<String>,
}

/// One stage of one API: the API's logical id and its stage name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    pub api: String,
    pub stage: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: u64,
    /// Requests taken off the limit in the first period.
    #[serde(default)]
    pub offset: u64,
    pub period: QuotaPeriod,
}

/// Quota periods start at 00:00 UTC: each day, each Sunday, the first of each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

impl QuotaPeriod {
    pub fn parse(written: &str) -> Option<QuotaPeriod> {
        match written {
            "DAY" => Some(QuotaPeriod::Day),
            "WEEK" => Some(QuotaPeriod::Week),
            "MONTH" => Some(QuotaPeriod::Month),
            _ => None,
        }
    }
}
