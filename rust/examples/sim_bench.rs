//! What the simulator's two benches share (`sim_rate`, `sim_answer`): their request and their
//! fleets. Included by each with `mod sim_bench;`.

use std::path::PathBuf;

use printwatch_core::sim::{load, Agent, DynamicsConfig, Fleet};
use printwatch_core::snmp::{Encoder, Message, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version};

/// The benches' request: a v2c Get of sysDescr, sysName, the marker's lifetime count and
/// sysUpTime.
pub fn request() -> Vec<u8> {
    let oids: Vec<OidBuf> =
        ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.43.5.1.1.17.1", "1.3.6.1.2.1.1.3.0"]
            .iter()
            .map(|o| OidBuf::parse(o).unwrap())
            .collect();
    let varbinds = oids.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Null }).collect();
    let pdu =
        StandardPdu { pdu_type: PduType::Get, request_id: 7, error_status: 0, error_index: 0, varbinds };
    let msg = Message { version: Version::V2C, community: b"public", pdu: Pdu::Standard(pdu) };
    Encoder::new().encode(&msg).unwrap().to_vec()
}

/// A fleet of every recording in `dir` that answers v2c, identity on, with `dynamics` or not;
/// how many recordings it serves, and how many were left out. A v1-only one drops the request
/// unanswered, as the real printer does: `sim_answer` would time answers that are no work,
/// `sim_rate`'s client would wait for answers that never come and its server's CPU would
/// count requests it rightly does not answer.
pub fn fleet(dir: PathBuf, dynamics: bool) -> (Fleet, usize, usize) {
    let loaded = load(&[dir]).expect("recordings");
    let n = loaded.len();
    let agents: Vec<Agent> = loaded
        .into_iter()
        .map(|l| Agent::new(l.recording).with_notes(l.notes))
        .filter(|a| a.model().versions().v2c)
        .collect();
    let kept = agents.len();
    let fleet = Fleet::new(agents).with_identity(0);
    let fleet = if dynamics { fleet.with_dynamics(DynamicsConfig::quiet(), 0, 1.0) } else { fleet };
    (fleet, kept, n - kept)
}
