//! Identifiers AWS hands out per invocation: request ids and X-Ray trace ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// A new request id, a UUID like Lambda's `aws_request_id`.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new `X-Amzn-Trace-Id` value: `Root=1-<8 hex epoch seconds>-<24 hex>;Sampled=1`.
pub fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Sampled=1",
        seconds & 0xffff_ffff,
        &random[..24]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_have_the_x_ray_shape() {
        let id = trace_id();
        let root = id.strip_prefix("Root=1-").expect("prefix");
        let (epoch, rest) = root.split_once('-').expect("epoch");
        assert_eq!(epoch.len(), 8);
        let (random, sampled) = rest.split_once(';').expect("sampled");
        assert_eq!(random.len(), 24);
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(sampled, "Sampled=1");
        assert_ne!(trace_id(), id);
        assert_eq!(request_id().len(), 36);
    }
}
