//! What to ask each target: a poll plan (scalars to GET, table roots to walk) and the target.

use std::net::SocketAddrV4;
use std::sync::Arc;

use crate::snmp::usm::Credentials;
use crate::snmp::OidBuf;

/// Which SNMP version to speak to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChoice {
    V1,
    V2c,
    /// v2c first; tries alternate with v1, and the version that answers first is kept (an agent
    /// that does not speak v2c drops v2c requests silently).
    Auto,
    /// SNMPv3 with the target's `v3` credentials (walks use GETBULK).
    V3,
}

/// The requests of one poll: scalars to GET (packed into as few requests as the agent allows)
/// and subtrees to walk (GETBULK in v2c, GETNEXT in v1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub gets: Vec<OidBuf>,
    pub walks: Vec<OidBuf>,
}

/// One target of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddrV4,
    pub community: Vec<u8>,
    pub version: VersionChoice,
    pub plan: Arc<Plan>,
    /// The USM user to speak as (with [`VersionChoice::V3`]; the community is then unused).
    pub v3: Option<Arc<Credentials>>,
}
