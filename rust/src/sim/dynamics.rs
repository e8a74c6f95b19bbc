//! Dynamics: what changes on a simulated printer over simulated time — pages printed, supplies
//! drained and replaced, jams and open doors, offline hours, lost packets and slow answers.
//!
//! Everything is a pure function of (seed, printer address, simulated time `t_s`), computed when
//! a request arrives: nothing is stored per printer, and the same (seed, address, t) always gives
//! the same state. Per-printer traits (its duty cycle, whether it is lossy or slow) come from
//! hashes of (seed, address); events come from hashes of (seed, address, time slot).
// Page counts, milliseconds and 53-bit draws are far below 2^52: f64 holds them exactly.
#![allow(clippy::cast_precision_loss)]

use crate::mix::{hash, mix};

/// The rules of the dynamics; every rate is a probability in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynamicsConfig {
    /// Each printer's duty cycle, pages per simulated hour, drawn uniformly from this range.
    pub pages_per_hour: (f64, f64),
    /// How much a day's pages differ from the printer's mean: each day prints 1 ± this (below
    /// 1) times the mean, drawn per printer and day.
    pub daily_variation: f64,
    /// Pages a full supply lasts, per printer and supply, drawn uniformly from this range.
    pub cartridge_pages: (f64, f64),
    /// The share of a supply's cycle spent empty (level 0) before it is replaced.
    pub empty_share: f64,
    /// A supply below this percentage of its capacity is low (lowToner, a toner-low alert).
    pub low_percent: f64,
    /// The chance that a printer is offline (answers nothing) for a whole offline period.
    pub offline_rate: f64,
    pub offline_period_s: f64,
    /// The share of printers that lose packets, and the share of requests they lose.
    pub lossy_share: f64,
    pub loss: f64,
    /// The share of printers that answer slowly, and their mean delay in real milliseconds.
    pub slow_share: f64,
    pub slow_delay_ms: f64,
    /// The chance of a paper jam, and of an open door, in each alert period.
    pub jam_rate: f64,
    pub door_rate: f64,
    pub alert_period_s: f64,
    /// The share of printers switched off every night (answering nothing) from `night_hours.0`
    /// to `night_hours.1` o'clock; `day_offset_s` is the time of day (seconds after midnight)
    /// at simulated time 0.
    pub night_share: f64,
    pub night_hours: (f64, f64),
    pub day_offset_s: f64,
}

impl Default for DynamicsConfig {
    fn default() -> Self {
        Self {
            pages_per_hour: (5.0, 120.0),
            daily_variation: 0.5,
            cartridge_pages: (1500.0, 12_000.0),
            empty_share: 0.05,
            low_percent: 10.0,
            offline_rate: 0.02,
            offline_period_s: 3600.0,
            lossy_share: 0.05,
            loss: 0.2,
            slow_share: 0.05,
            slow_delay_ms: 200.0,
            jam_rate: 0.02,
            door_rate: 0.01,
            alert_period_s: 1800.0,
            night_share: 0.0,
            night_hours: (19.0, 7.0),
            day_offset_s: 0.0,
        }
    }
}

/// The names [`DynamicsConfig::set`] accepts.
pub const KEYS: &[&str] = &[
    "pages_per_hour_min",
    "pages_per_hour_max",
    "daily_variation",
    "cartridge_pages_min",
    "cartridge_pages_max",
    "empty_share",
    "low_percent",
    "offline_rate",
    "offline_period_s",
    "lossy_share",
    "loss",
    "slow_share",
    "slow_delay_ms",
    "jam_rate",
    "door_rate",
    "alert_period_s",
    "night_share",
    "night_start_h",
    "night_end_h",
    "day_offset_s",
];

impl DynamicsConfig {
    /// Dynamics with every event and fault switched off: pages, supplies and uptime only.
    #[must_use]
    pub fn quiet() -> Self {
        Self {
            offline_rate: 0.0,
            lossy_share: 0.0,
            slow_share: 0.0,
            jam_rate: 0.0,
            door_rate: 0.0,
            ..Self::default()
        }
    }

    /// True if simulated time `t_s` falls in the night hours.
    #[must_use]
    pub fn is_night(&self, t_s: f64) -> bool {
        let hour = (t_s + self.day_offset_s).rem_euclid(86_400.0) / 3600.0;
        let (start, end) = self.night_hours;
        if start <= end {
            (start..end).contains(&hour)
        } else {
            hour >= start || hour < end
        }
    }

    /// Sets one rule by name (see [`KEYS`]); the error says what is wrong.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        let mut next = *self;
        next.apply(key, value)?;
        if next.pages_per_hour.0 > next.pages_per_hour.1 || next.cartridge_pages.0 > next.cartridge_pages.1 {
            return Err(format!("{key}: a range's minimum is above its maximum"));
        }
        *self = next;
        Ok(())
    }

    fn apply(&mut self, key: &str, value: f64) -> Result<(), String> {
        let rate = |v: f64| (0.0..=1.0).contains(&v).then_some(v).ok_or(format!("{key} must be in 0..1"));
        let positive = |v: f64| (v > 0.0 && v.is_finite()).then_some(v).ok_or(format!("{key} must be > 0"));
        let non_negative =
            |v: f64| (v >= 0.0 && v.is_finite()).then_some(v).ok_or(format!("{key} must be >= 0"));
        let hour = |v: f64| (0.0..24.0).contains(&v).then_some(v).ok_or(format!("{key} must be in 0..24"));
        match key {
            "pages_per_hour_min" => self.pages_per_hour.0 = non_negative(value)?,
            "pages_per_hour_max" => self.pages_per_hour.1 = non_negative(value)?,
            "daily_variation" => {
                self.daily_variation = rate(value)
                    .and_then(|v| (v < 1.0).then_some(v).ok_or(format!("{key} must be below 1")))?;
            }
            "cartridge_pages_min" => self.cartridge_pages.0 = positive(value)?,
            "cartridge_pages_max" => self.cartridge_pages.1 = positive(value)?,
            "empty_share" => {
                self.empty_share = rate(value)
                    .and_then(|v| (v < 1.0).then_some(v).ok_or(format!("{key} must be below 1")))?;
            }
            "low_percent" => self.low_percent = non_negative(value)?,
            "offline_rate" => self.offline_rate = rate(value)?,
            "offline_period_s" => self.offline_period_s = positive(value)?,
            "lossy_share" => self.lossy_share = rate(value)?,
            "loss" => self.loss = rate(value)?,
            "slow_share" => self.slow_share = rate(value)?,
            "slow_delay_ms" => self.slow_delay_ms = non_negative(value)?,
            "jam_rate" => self.jam_rate = rate(value)?,
            "door_rate" => self.door_rate = rate(value)?,
            "alert_period_s" => self.alert_period_s = positive(value)?,
            "night_share" => self.night_share = rate(value)?,
            "night_start_h" => self.night_hours.0 = hour(value)?,
            "night_end_h" => self.night_hours.1 = hour(value)?,
            "day_offset_s" => self.day_offset_s = non_negative(value)?,
            _ => return Err(format!("unknown dynamics key {key:?}; one of {}", KEYS.join(", "))),
        }
        Ok(())
    }
}

/// Hash salts: one per kind of draw, so draws are independent.
mod salt {
    pub const RATE: u64 = 11;
    pub const OFFSET: u64 = 12;
    pub const CARTRIDGE: u64 = 13;
    pub const PHASE: u64 = 14;
    pub const OFFLINE: u64 = 15;
    pub const LOSSY: u64 = 16;
    pub const LOSS: u64 = 17;
    pub const SLOW: u64 = 18;
    pub const DELAY: u64 = 19;
    pub const JAM: u64 = 20;
    pub const DOOR: u64 = 21;
    pub const COPYING: u64 = 22;
    pub const COLOUR: u64 = 23;
    pub const SCANNING: u64 = 24;
    pub const COVERAGE: u64 = 25;
    pub const NIGHT: u64 = 26;
    pub const DAY: u64 = 27;
    pub const TRAY_PHASE: u64 = 28;
    pub const TRAY_EMPTY: u64 = 29;
    pub const TRAY_SHARE: u64 = 30;
}

/// The part of an input tray's cycle (in sheets, after a full load) during which it is empty
/// when nobody refills it in time (or holds the sheets of an early refill when somebody does).
pub const TRAY_WAIT: f64 = 0.25;
/// The chance that a load of paper runs out before anybody refills the tray.
pub const TRAY_RUNS_EMPTY: f64 = 0.3;

/// A uniform draw in `0..1` from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn lerp((lo, hi): (f64, f64), u: f64) -> f64 {
    lo + (hi - lo) * u
}

const DAY_S: f64 = 86_400.0;

/// Days of printing at the printer's mean rate done by simulated time `t_s`: day `k` ends at
/// `k + v * (w(k) - w(0))` with `w` a draw per printer and day, so each day prints 1 ± `v` times
/// the mean (never less than nothing: `v` < 1), linearly within the day, and the count only
/// grows. Constant time whatever `t_s`.
fn working_days(v: f64, seed: u64, address: u64, t_s: f64) -> f64 {
    let days = t_s / DAY_S;
    if v == 0.0 {
        return days;
    }
    let w = |k: f64| unit(hash(&[seed, address, salt::DAY, k as u64]));
    let end = |k: f64| k + v * (w(k) - w(0.0));
    let k = days.floor();
    end(k) + (end(k + 1.0) - end(k)) * (days - k)
}

/// One printer's state at one simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub seed: u64,
    pub address: u32,
    /// Simulated seconds since the simulator started.
    pub t_s: f64,
    /// Pages printed since the simulator started.
    pub pages: u64,
    /// A per-printer offset added to its page counters (so printers differ from the start).
    pub page_offset: u64,
    pub pages_per_s: f64,
    pub offline: bool,
    /// Since when (simulated seconds) a jam, an open door, has lasted; `None` if none now.
    pub jam_since: Option<f64>,
    pub door_since: Option<f64>,
    config: DynamicsConfig,
}

/// One supply's level at a time, and since when it has been low or empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub level: i32,
    pub low: bool,
    pub empty: bool,
    /// Simulated seconds since the level crossed into low (or empty), if it is.
    pub low_since: Option<f64>,
    pub empty_since: Option<f64>,
}

impl State {
    /// The state of printer `address` at `t_s` simulated seconds.
    #[must_use]
    pub fn at(config: &DynamicsConfig, seed: u64, address: u32, t_s: f64) -> Self {
        let a = u64::from(address);
        let t_s = t_s.max(0.0);
        let pages_per_s = lerp(config.pages_per_hour, unit(hash(&[seed, a, salt::RATE]))) / 3600.0;
        let slot = |period: f64| (t_s / period).floor();
        let event = |salt: u64, period: f64, rate: f64| {
            let k = slot(period);
            (unit(hash(&[seed, a, salt, k as u64])) < rate).then_some(k * period)
        };
        Self {
            seed,
            address,
            t_s,
            pages: (pages_per_s * DAY_S * working_days(config.daily_variation, seed, a, t_s)).floor() as u64,
            page_offset: hash(&[seed, a, salt::OFFSET]) % 50_000,
            pages_per_s,
            offline: event(salt::OFFLINE, config.offline_period_s, config.offline_rate).is_some()
                || (unit(hash(&[seed, a, salt::NIGHT])) < config.night_share && config.is_night(t_s)),
            jam_since: event(salt::JAM, config.alert_period_s, config.jam_rate),
            door_since: event(salt::DOOR, config.alert_period_s, config.door_rate),
            config: *config,
        }
    }

    /// A draw keyed by (seed, address, words...), the same as `hash` of the concatenation.
    fn draw(&self, words: &[u64]) -> f64 {
        let start = hash(&[self.seed, u64::from(self.address)]);
        unit(words.iter().fold(start, |h, &w| mix(h ^ mix(w))))
    }

    /// A uniform draw in `0..1` per printer and input tray (its share of the sheets).
    #[must_use]
    pub fn tray_draw(&self, index: u32) -> f64 {
        self.draw(&[salt::TRAY_SHARE, u64::from(index)])
    }

    /// True if this printer loses packets at all (a per-printer trait).
    #[must_use]
    pub fn lossy(&self) -> bool {
        self.draw(&[salt::LOSSY]) < self.config.lossy_share
    }

    /// True if the request numbered `seq` (by the server, per datagram) is lost.
    #[must_use]
    pub fn loses(&self, request_id: i32, seq: u64) -> bool {
        self.lossy() && self.draw(&[salt::LOSS, u64::from(request_id as u32), seq]) < self.config.loss
    }

    /// How long (real milliseconds) the answer to `request_id` is held back; 0 for most printers.
    #[must_use]
    pub fn delay_ms(&self, request_id: i32) -> f64 {
        if self.draw(&[salt::SLOW]) >= self.config.slow_share {
            return 0.0;
        }
        self.config.slow_delay_ms * (0.5 + self.draw(&[salt::DELAY, u64::from(request_id as u32)]))
    }

    /// This printer's habits, factors from 0.5 to 1.5 on its model's shares of copies, colour
    /// pages and scans (a per-printer trait).
    #[must_use]
    pub fn habits(&self) -> (f64, f64, f64) {
        let factor = |salt: u64| 0.5 + self.draw(&[salt]);
        (factor(salt::COPYING), factor(salt::COLOUR), factor(salt::SCANNING))
    }

    /// This printer's toner coverage relative to the 5% that yields are quoted at: 0.6 to 1.6
    /// (a per-printer trait; a full cartridge lasts its yield divided by this).
    #[must_use]
    pub fn coverage(&self) -> f64 {
        0.6 + self.draw(&[salt::COVERAGE])
    }

    /// The level of supply `index` (capacity `max`, recorded level ignored: each printer starts
    /// at its own point of the cycle), drained by every page over a cartridge drawn from the
    /// configured range (per printer and supply). See [`State::level_fed`].
    #[must_use]
    pub fn level(&self, index: u32, max: i32) -> Level {
        let cartridge =
            lerp(self.config.cartridge_pages, self.draw(&[salt::CARTRIDGE, u64::from(index)])).max(1.0);
        self.level_fed(index, max, self.pages, cartridge, self.pages_per_s)
    }

    /// The level of supply `index` drained by `fed` pages so far (arriving at `fed_per_s`): a
    /// full supply lasts `cartridge` pages, falling from `max` to 1 over them, then stays 0 for
    /// `empty_share` of its cycle (of `cartridge / (1 - empty_share)` pages), and is back at
    /// `max` (replaced) when the next cycle starts. Each printer starts at its own point of the
    /// cycle.
    #[must_use]
    pub fn level_fed(&self, index: u32, max: i32, fed: u64, cartridge: f64, fed_per_s: f64) -> Level {
        let c = &self.config;
        // A cycle is the pages a full supply lasts and the time it then waits empty (as pages):
        // the level falls by max/cartridge a page, one unit a page for a kit counted in pages.
        let usable = 1.0 - c.empty_share;
        let cycle = cartridge.max(1.0) / usable;
        let phase = self.draw(&[salt::PHASE, u64::from(index)]) * cycle;
        let used = (phase + fed as f64) % cycle / cycle;
        let cartridge = cycle;
        let maxf = f64::from(max);
        let (level, empty) = if used < usable {
            ((maxf - (used / usable * maxf).floor()).clamp(1.0, maxf), false)
        } else {
            (0.0, true)
        };
        let low = level * 100.0 < c.low_percent * maxf;
        // Pages since a threshold was crossed, back to simulated seconds at this printer's rate.
        let since = |at_used: f64| {
            let pages_ago = (used - at_used) * cartridge;
            (self.t_s - pages_ago / fed_per_s.max(1e-9)).max(0.0)
        };
        let low_at = usable * (1.0 - c.low_percent / 100.0);
        Level {
            level: level as i32,
            low,
            empty,
            low_since: low.then(|| since(low_at.min(used))),
            empty_since: empty.then(|| since(usable)),
        }
    }

    /// The sheets in input tray `index` (holding `max` when full) after `fed` sheets were taken
    /// from it (arriving at `fed_per_s`): one sheet a sheet fed, from a full load, over cycles
    /// of `max * (1 + TRAY_WAIT)` sheets. A load out of [`TRAY_RUNS_EMPTY`] (drawn per load)
    /// runs out: the tray falls to 1 over `max` sheets (low for its last tenth: lowPaper), then
    /// stays empty (noPaper) for the rest of the cycle (those sheets came from another tray or
    /// by hand). The others are refilled before the tray is low: at 1 sheet above the low
    /// threshold it is filled up and keeps falling from full. At the cycle's end the tray is
    /// filled up. Each printer and tray starts at its own point of the cycle.
    #[must_use]
    pub fn tray(&self, index: u32, max: i32, fed: u64, fed_per_s: f64) -> Level {
        let maxf = f64::from(max.max(1));
        let cycle = maxf * (1.0 + TRAY_WAIT);
        let at = self.draw(&[salt::TRAY_PHASE, u64::from(index)]) * cycle + fed as f64;
        let load = (at / cycle).floor();
        let used = at - load * cycle;
        let runs_empty = self.draw(&[salt::TRAY_EMPTY, u64::from(index), load as u64]) < TRAY_RUNS_EMPTY;
        // Refilled with the level one sheet above the low threshold (10%: at 26 of 250).
        let refill_at = ((maxf * (1.0 - self.config.low_percent / 100.0)).ceil() - 1.0).max(1.0);
        let (level, empty_at) = if runs_empty {
            if used < maxf {
                (maxf - used.floor(), None)
            } else {
                (0.0, Some(maxf))
            }
        } else if used < refill_at {
            (maxf - used.floor(), None)
        } else {
            (maxf - (used - refill_at).floor(), None)
        };
        let level = if empty_at.is_some() { 0.0 } else { level.clamp(1.0, maxf) };
        // At or below the threshold, as printwatch and printers read a tray (10%: 25 of 250).
        let low = level * 100.0 <= self.config.low_percent * maxf;
        let since = |at_used: f64| (self.t_s - (used - at_used) / fed_per_s.max(1e-9)).max(0.0);
        let low_from = maxf * (1.0 - self.config.low_percent / 100.0);
        Level {
            level: level as i32,
            low,
            empty: empty_at.is_some(),
            low_since: low.then(|| since(low_from.min(used))),
            empty_since: empty_at.map(since),
        }
    }
}

#[cfg(test)]
#[path = "dynamics_tests.rs"]
mod tests;
