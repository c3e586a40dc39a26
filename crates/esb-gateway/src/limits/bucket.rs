//! The token bucket API Gateway throttles with: `burst` requests at once, refilled at `rate`
//! a second.

use std::time::Instant;

use esb_model::Throttle;

#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(limits: Throttle, now: Instant) -> TokenBucket {
        let burst = f64::from(limits.burst());
        TokenBucket {
            rate: limits.rate(),
            burst,
            tokens: burst,
            refilled: now,
        }
    }

    /// Takes one token; `false` when the bucket is empty (the request is throttled).
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(rate: f64, burst: u32) -> Throttle {
        Throttle {
            rate_limit: Some(rate),
            burst_limit: Some(burst),
        }
    }

    #[test]
    fn a_burst_passes_then_the_rate_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limits(2.0, 3), start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(!bucket.try_take(start + Duration::from_millis(400)));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        // A long pause refills to the burst, no further.
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.try_take(later)));
        assert!(!bucket.try_take(later));
    }

    #[test]
    fn a_zero_burst_refuses_everything() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limits(100.0, 0), start);
        assert!(!bucket.try_take(start + Duration::from_secs(5)));
    }
}
