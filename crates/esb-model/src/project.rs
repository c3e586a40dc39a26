//! The whole resolved template.

use serde::{Deserialize, Serialize};

use crate::{Api, ApiKey, Bucket, Function, Layer, Route, Table, UsagePlan};

/// Everything a template declares that this box serves, fully resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub functions: Vec<Function>,
    pub layers: Vec<Layer>,
    pub apis: Vec<Api>,
    pub routes: Vec<Route>,
    pub tables: Vec<Table>,
    pub buckets: Vec<Bucket>,
    pub api_keys: Vec<ApiKey>,
    pub usage_plans: Vec<UsagePlan>,
    pub unsupported: Vec<UnsupportedResource>,
}

/// A resource of a type this box does not serve: listed, never a build failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsupportedResource {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
}

impl Project {
    pub fn function(&self, name_or_logical_id: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.name == name_or_logical_id)
            .or_else(|| {
                self.functions
                    .iter()
                    .find(|f| f.logical_id == name_or_logical_id)
            })
    }
}
