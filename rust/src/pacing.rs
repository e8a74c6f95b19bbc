//! How the I/O loops (the poll engine's driver, the ICMP sweep) are paced: a packets-per-second
//! cap and the longest wait of one turn of a loop.
//!
//! The cap is a token bucket holding at most 5 ms of sending, so even a high cap goes out as a
//! smooth stream rather than bursts that overflow a receiver's buffer.

use std::time::{Duration, Instant};

/// The longest an I/O loop waits in one turn (for a reply, a timer or a token), so a cancel or
/// a time limit is seen within it.
pub const TURN: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A bucket that starts full (one burst of 5 ms, at least one packet).
    #[must_use]
    pub fn new(per_second: u32, now: Instant) -> Self {
        let per_second = f64::from(per_second.max(1));
        let capacity = (per_second / 200.0).max(1.0);
        Self { per_second, capacity, tokens: capacity, at: now }
    }

    pub fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.at = now;
    }

    /// Whole packets that may go now.
    #[must_use]
    pub fn available(&self) -> usize {
        self.tokens as usize
    }

    pub fn take(&mut self, packets: usize) {
        self.tokens -= f64::from(u32::try_from(packets).unwrap_or(u32::MAX));
    }

    /// How long until one more packet may go.
    #[must_use]
    pub fn until_next(&self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let missing = 1.0 - (self.tokens + elapsed * self.per_second);
        if missing <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(missing / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_rate_plus_one_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, start);
        let mut sent = 0;
        for ms in 0..=1000 {
            bucket.refill(start + Duration::from_millis(ms));
            let n = bucket.available();
            bucket.take(n);
            sent += n;
        }
        // 1,000 a second for one second, plus the 5-packet burst it starts with.
        assert!((1000..=1005).contains(&sent), "{sent}");
    }

    #[test]
    fn tells_how_long_to_wait() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, start);
        bucket.take(bucket.available());
        let wait = bucket.until_next(start);
        assert!(wait > Duration::from_millis(9) && wait <= Duration::from_millis(10), "{wait:?}");
    }
}
