//! Subnet sweeps: which addresses answer at all, fast and gently.
//!
//! * [`networks`] — the addresses of a sweep: CIDR networks minus exclusions, bounded;
//! * [`echo`] — ICMP echo requests and the checks a reply must pass (sans-I/O);
//! * [`icmp`] — the ICMP sweep's I/O loop: raw or datagram ICMP socket, batched sends through
//!   `crate::udp`, paced by `crate::pacing`'s token bucket, timeouts, retries, a time limit;
//! * [`handle`] — a sweep on its own thread (a [`crate::worker::Worker`]), with the hosts found
//!   handed over in batches.
//!
//! The SNMP-only sweep (one GET per address) is the poll engine itself (`crate::engine`) with a
//! one-request plan: the same socket, pacing and matching, not a second copy.

pub mod echo;
pub mod handle;
pub mod icmp;
pub mod networks;

pub use handle::SweepHandle;
pub use icmp::{available_kinds, Found, SweepConfig, SweepStats};
pub use networks::{expand, Network, NetworkError, MAX_ADDRESSES};
