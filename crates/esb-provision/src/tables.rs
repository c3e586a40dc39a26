//! Tables: create the missing ones (keys, indexes, billing, stream), wait until they are
//! ACTIVE, then bring TTL, global secondary indexes, billing mode and the stream to what the
//! template says. Key schemas and local indexes cannot change after creation — on DynamoDB as
//! here — so a difference there is reported, never "fixed" by deleting data.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition as SdkAttribute, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType as SdkKeyType, LocalSecondaryIndex,
    Projection as SdkProjection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableDescription, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use esb_model::{KeyElement, KeyType, Projection, SecondaryIndex, Table};

use crate::error::{ProvisionError, describe};
use crate::report::{Outcome, ResourceKind};

/// How long a created table or index may take to become ACTIVE (seconds on AWS, instant on
/// the embedded database).
const ACTIVE_WITHIN: Duration = Duration::from_secs(300);

/// Capacity for `PROVISIONED` tables: the model does not carry the template's numbers, and
/// local engines ignore them.
const PROVISIONED_UNITS: i64 = 5;

/// Makes `table` exist as declared.
pub async fn provision_table(client: &Client, table: &Table) -> Result<Outcome, ProvisionError> {
    let mut outcome = Outcome::new(ResourceKind::Table, &table.name, &table.logical_id);
    let step = Step { client, table };
    let description = match step.describe().await? {
        Some(description) => description,
        None => {
            step.create().await?;
            outcome.created = true;
            step.wait_until_active().await?
        }
    };
    if !outcome.created {
        step.reconcile(&description, &mut outcome).await?;
    }
    step.reconcile_ttl(&mut outcome).await?;
    Ok(outcome)
}

/// One table's calls, with errors that name it.
struct Step<'a> {
    client: &'a Client,
    table: &'a Table,
}

impl Step<'_> {
    fn fail(&self, action: &'static str, message: String) -> ProvisionError {
        ProvisionError::Table {
            name: self.table.name.clone(),
            logical_id: self.table.logical_id.clone(),
            action,
            message,
        }
    }

    async fn describe(&self) -> Result<Option<TableDescription>, ProvisionError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table.name)
            .send()
            .await
        {
            Ok(output) => Ok(output.table),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(self.fail("DescribeTable", describe(&error))),
        }
    }

    async fn create(&self) -> Result<(), ProvisionError> {
        let table = self.table;
        let provisioned = table.billing_mode == "PROVISIONED";
        let gsis = table
            .global_secondary_indexes
            .iter()
            .map(|index| {
                GlobalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(sdk_keys(&index.key_schema)?))
                    .projection(sdk_projection(&index.projection))
                    .set_provisioned_throughput(provisioned.then(throughput).transpose()?)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| self.fail("CreateTable", m))?;
        let lsis = table
            .local_secondary_indexes
            .iter()
            .map(|index| {
                LocalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(sdk_keys(&index.key_schema)?))
                    .projection(sdk_projection(&index.projection))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| self.fail("CreateTable", m))?;
        let request = self
            .client
            .create_table()
            .table_name(&table.name)
            .set_key_schema(Some(
                sdk_keys(&table.key_schema).map_err(|m| self.fail("CreateTable", m))?,
            ))
            .set_attribute_definitions(Some(
                sdk_attributes(table).map_err(|m| self.fail("CreateTable", m))?,
            ))
            .set_global_secondary_indexes(Some(gsis).filter(|g| !g.is_empty()))
            .set_local_secondary_indexes(Some(lsis).filter(|l| !l.is_empty()))
            .billing_mode(billing_mode(table))
            .set_provisioned_throughput(
                provisioned
                    .then(throughput)
                    .transpose()
                    .map_err(|m| self.fail("CreateTable", m))?,
            )
            .set_stream_specification(
                stream_specification(table).map_err(|m| self.fail("CreateTable", m))?,
            );
        match request.send().await {
            Ok(_) => Ok(()),
            // Created meanwhile (another `esb up` on the same endpoint): reconciled below.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(self.fail("CreateTable", describe(&error))),
        }
    }

    /// Polls until the table and its indexes are ACTIVE.
    async fn wait_until_active(&self) -> Result<TableDescription, ProvisionError> {
        let deadline = Instant::now() + ACTIVE_WITHIN;
        loop {
            if let Some(description) = self.describe().await?
                && is_active(&description)
            {
                return Ok(description);
            }
            if Instant::now() > deadline {
                return Err(ProvisionError::NotActive {
                    name: self.table.name.clone(),
                    logical_id: self.table.logical_id.clone(),
                    seconds: ACTIVE_WITHIN.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An existing table: report what cannot change, update what can.
    async fn reconcile(
        &self,
        description: &TableDescription,
        outcome: &mut Outcome,
    ) -> Result<(), ProvisionError> {
        let table = self.table;
        let have_keys = model_keys(description.key_schema());
        if have_keys != table.key_schema {
            outcome.cannot.push(format!(
                "key schema is {} but the template says {}; a table's keys are fixed at \
                 creation — delete the table (`esb down --volumes`) or give it a new name",
                keys_text(&have_keys),
                keys_text(&table.key_schema)
            ));
        }
        let have_lsis: Vec<SecondaryIndex> = description
            .local_secondary_indexes()
            .iter()
            .map(|i| model_index(i.index_name(), i.key_schema(), i.projection()))
            .collect();
        if !same_indexes(&have_lsis, &table.local_secondary_indexes) {
            outcome.cannot.push(
                "local secondary indexes differ from the template; they are fixed at table \
                 creation — delete the table (`esb down --volumes`) or give it a new name"
                    .to_string(),
            );
        }

        let have_billing = current_billing(description);
        if have_billing != table.billing_mode {
            let mut request = self
                .client
                .update_table()
                .table_name(&table.name)
                .billing_mode(billing_mode(table));
            if table.billing_mode == "PROVISIONED" {
                request = request
                    .provisioned_throughput(throughput().map_err(|m| self.fail("UpdateTable", m))?);
            }
            request
                .send()
                .await
                .map_err(|e| self.fail("UpdateTable (billing mode)", describe(&e)))?;
            outcome.changes.push(format!(
                "billing mode {have_billing} → {}",
                table.billing_mode
            ));
            self.wait_until_active().await?;
        }

        self.reconcile_gsis(description, outcome).await?;

        let have_stream = description
            .stream_specification()
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_string());
        if have_stream != table.stream_view_type {
            let specification = match &table.stream_view_type {
                Some(view) => StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str())),
                None => StreamSpecification::builder().stream_enabled(false),
            }
            .build()
            .map_err(|e| self.fail("UpdateTable (stream)", e.to_string()))?;
            match self
                .client
                .update_table()
                .table_name(&table.name)
                .stream_specification(specification)
                .send()
                .await
            {
                Ok(_) => outcome.changes.push(format!(
                    "stream {}",
                    table.stream_view_type.as_deref().unwrap_or("disabled")
                )),
                // Some engines keep streams fixed; that is a difference to report, not a stop.
                Err(error) => outcome
                    .cannot
                    .push(format!("stream specification: {}", describe(&error))),
            }
        }
        Ok(())
    }

    /// Adds missing global indexes and deletes ones the template no longer has, one per
    /// UpdateTable call (DynamoDB's rule), waiting for each to settle.
    async fn reconcile_gsis(
        &self,
        description: &TableDescription,
        outcome: &mut Outcome,
    ) -> Result<(), ProvisionError> {
        let table = self.table;
        let have: Vec<SecondaryIndex> = description
            .global_secondary_indexes()
            .iter()
            .map(|i| model_index(i.index_name(), i.key_schema(), i.projection()))
            .collect();
        for existing in &have {
            match table
                .global_secondary_indexes
                .iter()
                .find(|w| w.index_name == existing.index_name)
            {
                None => {
                    const ACTION: &str = "UpdateTable (delete index)";
                    let delete = DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(&existing.index_name)
                        .build()
                        .map_err(|e| self.fail(ACTION, e.to_string()))?;
                    let update = GlobalSecondaryIndexUpdate::builder().delete(delete).build();
                    self.update_gsi(update, None, ACTION).await?;
                    outcome
                        .changes
                        .push(format!("index {} deleted", existing.index_name));
                }
                Some(wanted) if !same_index(existing, wanted) => outcome.cannot.push(format!(
                    "global index {} has other keys or projection than the template; rename \
                     the index in the template to create a new one",
                    existing.index_name
                )),
                Some(_) => {}
            }
        }
        for wanted in &table.global_secondary_indexes {
            if have.iter().any(|h| h.index_name == wanted.index_name) {
                continue;
            }
            const ACTION: &str = "UpdateTable (create index)";
            let provisioned = table.billing_mode == "PROVISIONED";
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(&wanted.index_name)
                .set_key_schema(Some(
                    sdk_keys(&wanted.key_schema).map_err(|m| self.fail(ACTION, m))?,
                ))
                .projection(sdk_projection(&wanted.projection))
                .set_provisioned_throughput(
                    provisioned
                        .then(throughput)
                        .transpose()
                        .map_err(|m| self.fail(ACTION, m))?,
                )
                .build()
                .map_err(|e| self.fail(ACTION, e.to_string()))?;
            // The new index's key attributes must be defined in the same call.
            let attributes = sdk_attributes(table).map_err(|m| self.fail(ACTION, m))?;
            let update = GlobalSecondaryIndexUpdate::builder().create(create).build();
            self.update_gsi(update, Some(attributes), ACTION).await?;
            outcome
                .changes
                .push(format!("index {} created", wanted.index_name));
        }
        Ok(())
    }

    /// One UpdateTable call changing one global index, then waiting until the table and its
    /// indexes are ACTIVE again.
    async fn update_gsi(
        &self,
        update: GlobalSecondaryIndexUpdate,
        attributes: Option<Vec<SdkAttribute>>,
        action: &'static str,
    ) -> Result<(), ProvisionError> {
        self.client
            .update_table()
            .table_name(&self.table.name)
            .set_attribute_definitions(attributes)
            .global_secondary_index_updates(update)
            .send()
            .await
            .map_err(|e| self.fail(action, describe(&e)))?;
        self.wait_until_active().await.map(|_| ())
    }

    async fn reconcile_ttl(&self, outcome: &mut Outcome) -> Result<(), ProvisionError> {
        let table = self.table;
        let current = self
            .client
            .describe_time_to_live()
            .table_name(&table.name)
            .send()
            .await
            .map_err(|e| self.fail("DescribeTimeToLive", describe(&e)))?;
        let description = current.time_to_live_description();
        let status = description.and_then(|d| d.time_to_live_status());
        let on = matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        let attribute = description.and_then(|d| d.attribute_name());
        let specification = match (&table.ttl_attribute, on) {
            (Some(wanted), true) if Some(wanted.as_str()) == attribute => None,
            (Some(wanted), false) => Some((true, wanted.clone())),
            (Some(wanted), true) => {
                // DynamoDB changes the TTL attribute only by disabling first.
                outcome.cannot.push(format!(
                    "TTL is on attribute {} but the template says {wanted}; disable TTL on the \
                     table first (AWS allows one TTL change per hour)",
                    attribute.unwrap_or("?")
                ));
                None
            }
            (None, true) => Some((false, attribute.unwrap_or_default().to_string())),
            (None, false) => None,
        };
        if let Some((enabled, attribute)) = specification {
            let specification = TimeToLiveSpecification::builder()
                .enabled(enabled)
                .attribute_name(&attribute)
                .build()
                .map_err(|e| self.fail("UpdateTimeToLive", e.to_string()))?;
            self.client
                .update_time_to_live()
                .table_name(&table.name)
                .time_to_live_specification(specification)
                .send()
                .await
                .map_err(|e| self.fail("UpdateTimeToLive", describe(&e)))?;
            outcome.changes.push(if enabled {
                format!("TTL on attribute {attribute}")
            } else {
                "TTL disabled".to_string()
            });
        }
        Ok(())
    }
}

fn is_active(description: &TableDescription) -> bool {
    description.table_status() == Some(&TableStatus::Active)
        && description
            .global_secondary_indexes()
            .iter()
            .all(|i| matches!(i.index_status(), None | Some(IndexStatus::Active)))
}

/// `PAY_PER_REQUEST` or `PROVISIONED`. AWS leaves out the summary for tables created
/// provisioned, so no summary with capacity means provisioned.
fn current_billing(description: &TableDescription) -> String {
    match description
        .billing_mode_summary()
        .and_then(|s| s.billing_mode())
    {
        Some(mode) => mode.as_str().to_string(),
        None if description
            .provisioned_throughput()
            .and_then(|t| t.read_capacity_units())
            .is_some_and(|units| units > 0) =>
        {
            "PROVISIONED".to_string()
        }
        None => "PAY_PER_REQUEST".to_string(),
    }
}

fn billing_mode(table: &Table) -> BillingMode {
    BillingMode::from(table.billing_mode.as_str())
}

fn throughput() -> Result<ProvisionedThroughput, String> {
    ProvisionedThroughput::builder()
        .read_capacity_units(PROVISIONED_UNITS)
        .write_capacity_units(PROVISIONED_UNITS)
        .build()
        .map_err(|e| e.to_string())
}

fn stream_specification(table: &Table) -> Result<Option<StreamSpecification>, String> {
    table
        .stream_view_type
        .as_deref()
        .map(|view| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(|e| e.to_string())
        })
        .transpose()
}

fn sdk_keys(keys: &[KeyElement]) -> Result<Vec<KeySchemaElement>, String> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(match key.key_type {
                    KeyType::Hash => SdkKeyType::Hash,
                    KeyType::Range => SdkKeyType::Range,
                })
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn model_keys(keys: &[KeySchemaElement]) -> Vec<KeyElement> {
    keys.iter()
        .map(|key| KeyElement {
            attribute_name: key.attribute_name().to_string(),
            key_type: match key.key_type() {
                SdkKeyType::Range => KeyType::Range,
                _ => KeyType::Hash,
            },
        })
        .collect()
}

fn keys_text(keys: &[KeyElement]) -> String {
    keys.iter()
        .map(|k| {
            let kind = match k.key_type {
                KeyType::Hash => "HASH",
                KeyType::Range => "RANGE",
            };
            format!("{} {kind}", k.attribute_name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sdk_attributes(table: &Table) -> Result<Vec<SdkAttribute>, String> {
    table
        .attribute_definitions
        .iter()
        .map(|attribute| {
            SdkAttribute::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn sdk_projection(projection: &Projection) -> SdkProjection {
    SdkProjection::builder()
        .projection_type(ProjectionType::from(projection.projection_type.as_str()))
        .set_non_key_attributes(
            Some(projection.non_key_attributes.clone()).filter(|a| !a.is_empty()),
        )
        .build()
}

/// A local or global index as the endpoint describes it (two SDK types, the same fields).
fn model_index(
    name: Option<&str>,
    keys: &[KeySchemaElement],
    projection: Option<&SdkProjection>,
) -> SecondaryIndex {
    SecondaryIndex {
        index_name: name.unwrap_or_default().to_string(),
        key_schema: model_keys(keys),
        projection: model_projection(projection),
    }
}

fn model_projection(projection: Option<&SdkProjection>) -> Projection {
    Projection {
        projection_type: projection
            .and_then(SdkProjection::projection_type)
            .map_or("ALL", ProjectionType::as_str)
            .to_string(),
        non_key_attributes: projection
            .map(|p| p.non_key_attributes().to_vec())
            .unwrap_or_default(),
    }
}

/// Same keys and projection; the order of INCLUDE attributes does not matter.
fn same_index(have: &SecondaryIndex, want: &SecondaryIndex) -> bool {
    let sorted = |attributes: &[String]| {
        let mut attributes = attributes.to_vec();
        attributes.sort();
        attributes
    };
    have.index_name == want.index_name
        && have.key_schema == want.key_schema
        && have.projection.projection_type == want.projection.projection_type
        && sorted(&have.projection.non_key_attributes)
            == sorted(&want.projection.non_key_attributes)
}

fn same_indexes(have: &[SecondaryIndex], want: &[SecondaryIndex]) -> bool {
    have.len() == want.len() && want.iter().all(|w| have.iter().any(|h| same_index(h, w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str, include: &[&str]) -> SecondaryIndex {
        SecondaryIndex {
            index_name: name.into(),
            key_schema: vec![KeyElement {
                attribute_name: "email".into(),
                key_type: KeyType::Hash,
            }],
            projection: Projection {
                projection_type: "INCLUDE".into(),
                non_key_attributes: include.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    #[test]
    fn indexes_compare_by_keys_and_projection_not_attribute_order() {
        assert!(same_index(
            &index("a", &["x", "y"]),
            &index("a", &["y", "x"])
        ));
        assert!(!same_index(&index("a", &["x"]), &index("a", &["y"])));
        assert!(same_indexes(
            &[index("a", &[]), index("b", &[])],
            &[index("b", &[]), index("a", &[])]
        ));
        assert!(!same_indexes(&[index("a", &[])], &[]));
    }

    #[test]
    fn keys_round_trip_and_read_well() {
        let keys = vec![
            KeyElement {
                attribute_name: "pk".into(),
                key_type: KeyType::Hash,
            },
            KeyElement {
                attribute_name: "sk".into(),
                key_type: KeyType::Range,
            },
        ];
        assert_eq!(model_keys(&sdk_keys(&keys).expect("keys")), keys);
        assert_eq!(keys_text(&keys), "pk HASH, sk RANGE");
    }
}
