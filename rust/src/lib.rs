//! printwatch's Rust core.
//!
//! * [`ber`] — a bounded BER reader and a minimal-length BER writer (sans-I/O, no allocation
//!   on the read side).
//! * [`snmp`] — SNMP v1/v2c messages (RFC 1157, RFC 3416) as borrowed types, decoded
//!   zero-copy from a datagram and encoded into a reusable buffer.
//! * [`sim`] — the simulated printer agent (sans-I/O): `.snmprec` recordings answered as an
//!   SNMP agent would; the fleet simulator's UDP side builds on it.
//! * [`engine`] — the poll engine: thousands of SNMP requests in flight from one socket.
//! * [`pacing`] — the packets-per-second cap and the turn length the engine and the sweep share.
//! * [`mix`] — reproducible 64-bit hashes (the simulator's draws, the sweep's cookies).
//! * [`sweep`] — subnet sweeps (ICMP echo, raw or datagram sockets) over CIDR networks.
//! * [`worker`] — one job on its own named thread, handing its items over in batches (the
//!   engine's batches and the ICMP sweep).
//! * `py` — the PyO3 bindings (`printwatch._core`), compiled only with the `python` feature.

pub mod ber;
#[cfg(target_os = "linux")]
pub mod engine;
pub mod mix;
pub mod pacing;
pub mod sim;
pub mod snmp;
#[cfg(target_os = "linux")]
pub mod sweep;
#[cfg(target_os = "linux")]
pub mod udp;
pub mod worker;

#[cfg(feature = "python")]
mod py;
