//! A bounded cache of Lambda authorizer outputs keyed by (authorizer, identity), each entry
//! living for its authorizer's TTL. When full, expired entries go first, then the oldest.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use serde_json::Value;

/// (authorizer key, identity values).
pub(crate) type CacheKey = (String, String);

#[derive(Debug)]
pub(crate) struct Cache {
    capacity: usize,
    entries: Mutex<IndexMap<CacheKey, (SystemTime, Value)>>,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            entries: Mutex::new(IndexMap::new()),
        }
    }

    /// The cached output, if present and not expired at `now`.
    pub(crate) fn get(&self, key: &CacheKey, now: SystemTime) -> Option<Value> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some((expires, value)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.shift_remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores an output for `ttl`; a zero TTL or capacity stores nothing.
    pub(crate) fn insert(&self, key: CacheKey, value: Value, ttl: Duration, now: SystemTime) {
        if ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.shift_remove(&key);
        if entries.len() >= self.capacity {
            entries.retain(|_, (expires, _)| *expires > now);
        }
        while entries.len() >= self.capacity {
            entries.shift_remove_index(0);
        }
        entries.insert(key, (expires, value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> CacheKey {
        ("a".into(), i.to_string())
    }

    #[test]
    fn expires_and_stays_bounded() {
        let cache = Cache::new(2);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let ttl = Duration::from_secs(10);
        cache.insert(key(1), Value::from(1), ttl, t0);
        assert_eq!(
            cache.get(&key(1), t0 + Duration::from_secs(9)),
            Some(Value::from(1))
        );
        assert_eq!(cache.get(&key(1), t0 + ttl), None);
        for i in 0..5 {
            cache.insert(key(i), Value::from(i), ttl, t0);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key(4), t0), Some(Value::from(4)));
        assert_eq!(cache.get(&key(0), t0), None);
        cache.insert(key(9), Value::from(9), Duration::ZERO, t0);
        assert_eq!(cache.get(&key(9), t0), None);
    }
}
