//! SNMPv3 for the simulated printers: every printer is its own authoritative engine (an
//! engine ID made from its address, boots 1, time since the fleet started) and knows one USM
//! user. Requests are checked as an agent does (RFC 3414 3.2): unknown engine ID, unknown
//! user, unsupported level, wrong digest, time window, decryption, context; each failure is
//! answered with the usmStats report a real agent sends. An accepted request is answered by
//! the printer's v2c agent and the response wrapped, signed and encrypted in return.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::snmp::usm::{Credentials, ReportKind};
use crate::snmp::v3::secure::{authenticate, open_scoped, plaintext, wrap, Security};
use crate::snmp::v3::{self, flags, ScopedPdu, V3Message};
use crate::snmp::{decode, encode_into, Message, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version};

/// The largest message the simulated printers accept.
const MAX_SIZE: i32 = 1500;
/// RFC 3414 3.2.7: seconds.
const TIME_WINDOW_S: u32 = 150;

/// The v3 side of a simulated fleet: the one user every printer knows.
#[derive(Debug)]
pub struct SimUsm {
    pub credentials: Arc<Credentials>,
    pub boots: u32,
    started: Instant,
    salt: AtomicU64,
    /// Reports sent, per kind (one counter, like the agent's usmStats, for all printers).
    reports: AtomicU32,
}

/// The engine ID of the printer at `address` (RFC 3411 format 5, octets: enterprise 8072 =
/// net-snmp's, as many printers ship it, then `pw` and the IPv4 address).
#[must_use]
pub fn engine_id(address: u32) -> Vec<u8> {
    let mut id = vec![0x80, 0x00, 0x1f, 0x88, 0x05, b'p', b'w'];
    id.extend_from_slice(&address.to_be_bytes());
    id
}

impl SimUsm {
    #[must_use]
    pub fn new(credentials: Arc<Credentials>) -> Self {
        Self {
            credentials,
            boots: 1,
            started: Instant::now(),
            salt: AtomicU64::new(1),
            reports: AtomicU32::new(0),
        }
    }

    /// Reports sent so far.
    #[must_use]
    pub fn reports(&self) -> u32 {
        self.reports.load(Ordering::Relaxed)
    }

    fn time(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.started).as_secs())
            .unwrap_or(0x7fff_ffff)
            .min(0x7fff_ffff)
    }

    /// Answers the v3 request `request` for the printer at `address`; `answer` is the printer's
    /// v2c agent (request datagram in, response datagram out), whose community is `community`.
    /// `out` receives the datagram to send; false: drop the request.
    pub fn respond(
        &self,
        address: u32,
        now: Instant,
        request: &[u8],
        out: &mut Vec<u8>,
        community: &[u8],
        answer: impl FnOnce(&[u8], &mut Vec<u8>) -> bool,
    ) -> bool {
        out.clear();
        let Ok(msg) = v3::decode(request) else { return false };
        let ours = engine_id(address);
        let time = self.time(now);
        let reportable = msg.header.flags & flags::REPORTABLE != 0;
        let creds = &self.credentials;
        let report = |kind: ReportKind, keys, out: &mut Vec<u8>| {
            reportable && self.report(&msg, &ours, time, kind, keys, out)
        };
        if msg.usm.engine_id != ours.as_slice() {
            return report(ReportKind::UnknownEngineId, None, out);
        }
        if msg.usm.user != creds.user.as_slice() {
            return report(ReportKind::UnknownUserName, None, out);
        }
        if msg.header.flags & 3 != creds.level().flags() {
            return report(ReportKind::UnsupportedSecLevel, None, out);
        }
        let keys = creds.localize(&ours);
        if msg.is_authenticated() {
            if authenticate(request, &msg, &keys).is_err() {
                return report(ReportKind::WrongDigest, None, out);
            }
            let late =
                msg.usm.time.saturating_add(TIME_WINDOW_S) < time || msg.usm.time > time + TIME_WINDOW_S;
            if msg.usm.boots != self.boots || late {
                return report(ReportKind::NotInTimeWindow, Some(&keys), out);
            }
        }
        let Ok(plain) = plaintext(&msg, Some(&keys)) else {
            return report(ReportKind::DecryptionError, None, out);
        };
        let Ok(scoped) = open_scoped(&plain, msg.is_encrypted()) else {
            return report(ReportKind::DecryptionError, None, out);
        };
        if scoped.context_name != creds.context.as_slice()
            || !(scoped.context_engine_id.is_empty() || scoped.context_engine_id == ours.as_slice())
        {
            return report(ReportKind::UnknownContext, Some(&keys), out);
        }
        // Ask the printer's v2c agent, then wrap its response.
        let Some(response) = v2c_answer(&scoped.pdu, community, answer) else { return false };
        let Ok(decoded) = decode(&response) else { return false };
        let Pdu::Standard(pdu) = decoded.pdu else { return false };
        let scoped_out = ScopedPdu { context_engine_id: &ours, context_name: &creds.context, pdu };
        let sec =
            Security { user: &creds.user, engine_id: &ours, boots: self.boots, time, keys: Some(&keys) };
        let salt = self.salt.fetch_add(1, Ordering::Relaxed);
        wrap(out, msg.header.msg_id, MAX_SIZE, false, &sec, &scoped_out, salt).is_ok()
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        msg: &V3Message<'_>,
        ours: &[u8],
        time: u32,
        kind: ReportKind,
        keys: Option<&crate::snmp::usm::LocalKeys>,
        out: &mut Vec<u8>,
    ) -> bool {
        let count = self.reports.fetch_add(1, Ordering::Relaxed) + 1;
        // The request id, when the scopedPDU can be read (RFC 3412 7.1.3.c.2: else 0).
        let request_id = if msg.is_encrypted() {
            0
        } else {
            v3::decode_scoped_pdu(msg.scoped, false).map_or(0, |s| s.pdu.request_id)
        };
        let Ok(oid) = OidBuf::parse(kind.oid()) else { return false };
        let pdu = StandardPdu {
            pdu_type: PduType::Report,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::Counter32(count) }],
        };
        let scoped = ScopedPdu { context_engine_id: ours, context_name: b"", pdu };
        // Reports are sent authenticated (never encrypted) only for notInTimeWindow / contexts.
        let auth_only = keys.map(|k| crate::snmp::usm::LocalKeys { auth: k.auth.clone(), privacy: None });
        let user = if auth_only.is_some() { self.credentials.user.as_slice() } else { msg.usm.user };
        let sec = Security { user, engine_id: ours, boots: self.boots, time, keys: auth_only.as_ref() };
        wrap(out, msg.header.msg_id, MAX_SIZE, false, &sec, &scoped, 0).is_ok()
    }
}

/// Re-encodes a v3 request PDU as a v2c message in the agent's community, and returns the
/// agent's response datagram.
fn v2c_answer(
    pdu: &StandardPdu<'_>,
    community: &[u8],
    answer: impl FnOnce(&[u8], &mut Vec<u8>) -> bool,
) -> Option<Vec<u8>> {
    if !matches!(pdu.pdu_type, PduType::Get | PduType::GetNext | PduType::GetBulk) {
        return None;
    }
    let mut request = Vec::with_capacity(256);
    let message = Message { version: Version::V2C, community, pdu: Pdu::Standard(pdu.clone()) };
    encode_into(&message, &mut request).ok()?;
    let mut response = Vec::with_capacity(1500);
    answer(&request, &mut response).then_some(response)
}
