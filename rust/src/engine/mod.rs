//! The poll engine: thousands of SNMP requests in flight from one socket.
//!
//! * [`plan`] — what to ask each target (scalars to GET, subtrees to walk);
//! * [`session`] — one target's poll as a sans-I/O state machine (packing, walks, tooBig,
//!   loops, retries, v1 fallback);
//! * [`driver`] — the I/O loop: batched UDP (`crate::udp`, through [`socket`]), timers, the
//!   packets-per-second cap (`crate::pacing`), and matching
//!   answers by source address and port, request id and community;
//! * [`batch`] — a driver on its own thread (a [`crate::worker::Worker`]), with results handed
//!   over in batches and a cancel that is seen within 20 ms;
//! * [`hints`] — what earlier polls learned of each target: its tables' sizes and columns (to
//!   size the next walk's first request) and the version an `auto` target answered in;
//! * [`columns`] — an SNMPv1 walk of a table's known columns side by side;
//! * [`v3`] — SNMPv3: engine discovery, time sync, the engine-ID cache;
//! * [`outcome`] — what a target's poll produced; [`stats`] — what a batch did on the wire.

pub mod batch;
pub mod columns;
pub mod config;
pub mod driver;
pub mod hints;
pub mod outcome;
pub mod plan;
pub mod session;
pub mod socket;
pub mod stats;
pub mod v3;

pub use batch::Batch;
pub use config::{ConfigError, EngineConfig};
pub use hints::{Hint, WalkHints};
pub use outcome::{Failure, FailureKind, Request, Stored, TargetResult, VarBindStore};
pub use plan::{Plan, Target, VersionChoice};
pub use stats::Stats;
pub use v3::{EngineCache, EngineInfo};
