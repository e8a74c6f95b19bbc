//! A fleet of simulated printers: printer `i` answers from agent `i % n`, as itself (its own
//! identity, its own dynamic state at the fleet's simulated time).
// Page counts, milliseconds and 53-bit draws are far below 2^52: f64 holds them exactly.
#![allow(clippy::cast_precision_loss)]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::agent::Agent;
use super::dynamics::{DynamicsConfig, State};
use super::model::View;
use super::usm::SimUsm;
use super::values::Identity;

/// Simulated time: `time_scale` simulated seconds per real second since the fleet was made, plus
/// whatever [`Clock::advance`] added.
#[derive(Debug)]
pub struct Clock {
    start: Instant,
    time_scale: f64,
    advanced_ms: AtomicU64,
}

impl Clock {
    #[must_use]
    pub fn new(time_scale: f64) -> Self {
        Self { start: Instant::now(), time_scale, advanced_ms: AtomicU64::new(0) }
    }

    /// Simulated seconds at real instant `now`.
    #[must_use]
    pub fn at(&self, now: Instant) -> f64 {
        let real = now.saturating_duration_since(self.start).as_secs_f64();
        real * self.time_scale + self.advanced_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Moves simulated time forward by `seconds` (at once, for every printer).
    pub fn advance(&self, seconds: f64) {
        self.advanced_ms.fetch_add((seconds.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new(1.0)
    }
}

/// What the fleet does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not answered: not a request this printer answers (bad, wrong community, not a read).
    Dropped,
    /// Not answered: the printer is offline, or lost the packet (dynamics).
    Lost,
    /// Answered (the datagram is in `out`), after `delay` (zero for most printers).
    Reply { delay: Duration },
}

/// The agents of a simulated fleet and the rules its printers follow. Printer `i` uses
/// `agents[i % agents.len()]`, so a few recordings serve any number of printers.
#[derive(Debug, Default)]
pub struct Fleet {
    pub agents: Vec<Arc<Agent>>,
    /// Per-printer serial numbers, MAC addresses and sysNames (see [`super::identity`]).
    pub identity: bool,
    pub seed: u64,
    /// Pages, supplies, faults over simulated time (see [`super::dynamics`]); `None`: static.
    pub dynamics: Option<DynamicsConfig>,
    pub clock: Clock,
    /// SNMPv3: the user every printer knows (`None`: v3 requests are dropped, as by a v2c-only
    /// printer).
    pub usm: Option<SimUsm>,
}

fn is_v3(request: &[u8]) -> bool {
    crate::snmp::v3::message_version(request) == Ok(3)
}

impl Fleet {
    /// A fleet answering exactly as recorded (no identity, no dynamics).
    #[must_use]
    pub fn new(agents: impl IntoIterator<Item = Agent>) -> Self {
        Self { agents: agents.into_iter().map(Arc::new).collect(), ..Self::default() }
    }

    /// Lets every printer answer SNMPv3 as `usm`'s user.
    #[must_use]
    pub fn with_usm(mut self, usm: SimUsm) -> Self {
        self.usm = Some(usm);
        self
    }

    /// Gives every printer its own identity, derived from its address and `seed`.
    #[must_use]
    pub fn with_identity(mut self, seed: u64) -> Self {
        self.identity = true;
        self.seed = seed;
        self
    }

    /// Turns the dynamics on, simulated time running `time_scale` times real time.
    #[must_use]
    pub fn with_dynamics(mut self, config: DynamicsConfig, seed: u64, time_scale: f64) -> Self {
        self.dynamics = Some(config);
        self.seed = seed;
        self.clock = Clock::new(time_scale);
        self
    }

    /// The agent answering printer `index`, or `None` for an empty fleet.
    #[must_use]
    pub fn agent(&self, index: usize) -> Option<&Agent> {
        if self.agents.is_empty() {
            return None;
        }
        Some(&self.agents[index % self.agents.len()])
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The dynamic state of the printer at `address` at simulated time `t_s`, if dynamic.
    #[must_use]
    pub fn state(&self, address: Ipv4Addr, t_s: f64) -> Option<State> {
        self.dynamics.as_ref().map(|c| State::at(c, self.seed, u32::from(address), t_s))
    }

    /// The identity printer `index` (at `address`) answers with.
    #[must_use]
    pub fn describe(&self, index: usize, address: Ipv4Addr) -> Option<Identity> {
        let view =
            View { address: u32::from(address), seed: self.seed, identity: self.identity, state: None };
        Some(self.agent(index)?.model().identity(&view))
    }

    /// Answers `request` as printer `index` at `address`, at real instant `now`; `seq` numbers
    /// the datagram (per server), so that packet loss differs between retries.
    pub fn respond(
        &self,
        index: usize,
        address: Ipv4Addr,
        now: Instant,
        seq: u64,
        request: &[u8],
        out: &mut Vec<u8>,
    ) -> Outcome {
        let Some(agent) = self.agent(index) else { return Outcome::Dropped };
        let state = self.state(address, self.clock.at(now));
        if let Some(s) = &state {
            if s.offline {
                return Outcome::Lost;
            }
        }
        let view = View {
            address: u32::from(address),
            seed: self.seed,
            identity: self.identity,
            state: state.as_ref(),
        };
        let request_id = if let Some(usm) = self.usm.as_ref().filter(|_| is_v3(request)) {
            // SNMPv3 is spoken by firmware that speaks v2c, not by v1-only print servers.
            if !agent.model().versions().v2c {
                return Outcome::Dropped;
            }
            let answered =
                usm.respond(u32::from(address), now, request, out, agent.community(), |req, resp| {
                    agent.respond_as(&view, req, resp).is_some()
                });
            if !answered {
                return Outcome::Dropped;
            }
            crate::snmp::v3::decode(request).map_or(0, |m| m.header.msg_id)
        } else {
            let Some(reply) = agent.respond_as(&view, request, out) else { return Outcome::Dropped };
            reply.request_id
        };
        let Some(s) = state else { return Outcome::Reply { delay: Duration::ZERO } };
        if s.loses(request_id, seq) {
            return Outcome::Lost;
        }
        Outcome::Reply { delay: Duration::from_secs_f64(s.delay_ms(request_id) / 1000.0) }
    }
}
