//! Retention: which days rows may belong to (VictoriaLogs cuts both bounds to UTC days),
//! and deleting whole days that fell out of the window or, over a disk budget, the oldest
//! days first.

use std::sync::Arc;

use super::partition::Partition;
use super::{Shared, StoreConfig, StoreError};
use crate::timeutil;

/// The first and last UTC day accepted at `now`: `day(now − retention)` (the retention is
/// at least one day) through `day(now + future_retention)`.
pub fn allowed_days(now: i64, config: &StoreConfig) -> (i64, i64) {
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    let retention = nanos(config.retention).max(timeutil::DAY);
    let min_day = timeutil::day_of(now.saturating_sub(retention));
    let max_day = timeutil::day_of(now.saturating_add(nanos(config.future_retention)));
    (min_day, max_day)
}

impl Shared {
    /// Deletes the partitions of days before the retention window, then, while the store is
    /// over `max_disk_bytes`, the oldest remaining days (never the newest one).
    pub(super) fn enforce_retention(&self) -> Result<(), StoreError> {
        let mut sealer = self.lock_sealer();
        sealer.last_retention = std::time::Instant::now();
        let (min_day, _) = allowed_days(timeutil::now_ns(), &self.config);
        let mut doomed: Vec<Arc<Partition>> = Vec::new();
        {
            let mut state = self.write_state();
            let keep = state.partitions.split_off(&min_day);
            doomed.extend(std::mem::replace(&mut state.partitions, keep).into_values());
            if let Some(budget) = self.config.max_disk_bytes {
                let mut total: u64 = state
                    .partitions
                    .values()
                    .map(|p| p.disk_bytes())
                    .sum::<u64>()
                    + super::wal_bytes(&self.dir);
                while total > budget && state.partitions.len() > 1 {
                    let Some((_, oldest)) = state.partitions.pop_first() else {
                        break;
                    };
                    total = total.saturating_sub(oldest.disk_bytes());
                    tracing::warn!(day = %timeutil::day_name(oldest.day), "logs store over its disk budget: deleting the oldest day");
                    doomed.push(oldest);
                }
            }
        }
        for partition in doomed {
            sealer.dirty.remove(&partition.day);
            // Queries still reading the day keep their open files; the space is freed when
            // they finish.
            std::fs::remove_dir_all(partition.dir()).map_err(StoreError::Seal)?;
            tracing::info!(day = %timeutil::day_name(partition.day), "deleted an expired logs day");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bounds_are_whole_utc_days() {
        let config = StoreConfig::default();
        let now = 100 * timeutil::DAY + 5 * timeutil::HOUR;
        assert_eq!(allowed_days(now, &config), (93, 102));
        let tiny = StoreConfig {
            retention: Duration::from_secs(60),
            future_retention: Duration::ZERO,
            ..StoreConfig::default()
        };
        // The retention is at least a day.
        assert_eq!(allowed_days(now, &tiny), (99, 100));
    }
}
