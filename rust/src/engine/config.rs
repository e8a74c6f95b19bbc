//! How the engine paces, waits and retries: one value per engine, checked once.

use std::fmt;
use std::time::Duration;

/// The engine's knobs. [`EngineConfig::default`] holds the defaults docs/engine.md states.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// How long to wait for the answer to a request's first try.
    pub timeout: Duration,
    /// How many times a request is sent again after a timeout (0: tried once).
    pub retries: u32,
    /// Each retry waits this many times longer than the try before it.
    pub backoff: f64,
    /// The most packets a second the engine sends, across all targets (a sweep or a poll never
    /// floods a customer's network).
    pub max_pps: u32,
    /// Requests outstanding at once per target (a printer is a small computer: 1 by default).
    pub per_target: u32,
    /// GETBULK max-repetitions to start each walk with (halved on `tooBig`).
    pub max_repetitions: u32,
    /// The most varbinds one walk may return before it stops with `rowCap`.
    pub max_rows: u32,
    /// The most scalars packed into one GET (halved on `tooBig`).
    pub max_get_oids: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            retries: 2,
            backoff: 2.0,
            max_pps: 10_000,
            per_target: 1,
            max_repetitions: 25,
            max_rows: 10_000,
            max_get_oids: 60,
        }
    }
}

/// A setting outside its range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl EngineConfig {
    /// Checks every setting against its range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError(msg));
        if self.timeout < Duration::from_millis(1) || self.timeout > Duration::from_secs(60) {
            return bad(format!("timeout must be between 1 ms and 60 s, not {:?}", self.timeout));
        }
        if self.retries > 10 {
            return bad(format!("retries must be at most 10, not {}", self.retries));
        }
        if !(1.0..=10.0).contains(&self.backoff) {
            return bad(format!("backoff must be between 1 and 10, not {}", self.backoff));
        }
        if self.max_pps == 0 {
            return bad("max_pps must be at least 1".into());
        }
        if !(1..=64).contains(&self.per_target) {
            return bad(format!("per_target must be between 1 and 64, not {}", self.per_target));
        }
        if !(1..=1000).contains(&self.max_repetitions) {
            return bad(format!("max_repetitions must be between 1 and 1000, not {}", self.max_repetitions));
        }
        if self.max_rows == 0 {
            return bad("max_rows must be at least 1".into());
        }
        if !(1..=1000).contains(&self.max_get_oids) {
            return bad(format!("max_get_oids must be between 1 and 1000, not {}", self.max_get_oids));
        }
        Ok(())
    }

    /// How long to wait for try `attempt` (0 for the first) of a request.
    #[must_use]
    pub fn timeout_for(&self, attempt: u32) -> Duration {
        self.timeout.mul_f64(self.backoff.powi(attempt.min(16) as i32))
    }
}
