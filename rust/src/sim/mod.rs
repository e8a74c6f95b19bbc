//! The simulated printer agent (sans-I/O): `.snmprec` recordings answered as an SNMP agent would.
//!
//! * [`snmprec`] parses a recording into an OID-sorted table of pre-encoded values.
//! * [`agent`] answers SNMP v1/v2c Get, GetNext and GetBulk datagrams from such a table.
//! * [`usm`] answers SNMPv3 (USM) around the agent: discovery, reports, auth and privacy.

pub mod agent;
pub mod dynamics;
pub mod fleet;
pub mod identity;
pub mod loader;
pub mod meters;
pub mod model;
pub mod notes;
pub mod oids;
mod response;
#[cfg(target_os = "linux")]
pub mod server;
pub mod snmprec;
pub mod usm;
#[cfg(target_os = "linux")]
mod values;

pub use agent::{error_status, Agent, Reply, DEFAULT_COMMUNITY, DEFAULT_MAX_MESSAGE_SIZE};
pub use dynamics::{DynamicsConfig, State};
pub use fleet::Fleet;
pub use loader::{load, LoadError, Loaded};
pub use model::{Model, Role, View};
pub use snmprec::{Entry, Recording, SnmprecError, SnmprecErrorKind};
pub use usm::SimUsm;
pub use values::Identity;
