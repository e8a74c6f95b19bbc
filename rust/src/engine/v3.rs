//! SNMPv3 for the engine: per-target USM state (the authoritative engine's ID, boots and time,
//! the user's keys localized to it), engine-ID discovery (RFC 3414 4), time synchronisation
//! and resynchronisation on `notInTimeWindow`, and the [`EngineCache`] that keeps discovered
//! engines between batches.
//!
//! A v3 target's first request goes out as a discovery probe (noAuthNoPriv, empty engine ID and
//! user); the agent's `usmStatsUnknownEngineIDs` report carries its engine ID, boots and time,
//! and the same operation is then sent for real. Reports after that become failures named after
//! the counter (`unknownUserName`, `wrongDigest`, `decryptionError`, ...).

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::snmp::usm::{Credentials, LocalKeys, ReportKind, SecurityLevel};
use crate::snmp::v3::secure::{authenticate, open_scoped, plaintext, wrap, OpenError, Security, UnwrapError};
use crate::snmp::v3::{ScopedPdu, V3Message};
use crate::snmp::{EncodeError, PduType, StandardPdu};

use super::outcome::FailureKind;

/// The largest message we accept (msgMaxSize in requests): a UDP datagram.
const MAX_SIZE: i32 = 65_507;
/// Resynchronisations (new engine ID or time) one operation may ask for before it fails.
pub const MAX_RESYNCS: u32 = 2;
/// RFC 3414 3.2.7: the time window in seconds.
const TIME_WINDOW_S: u32 = 150;

/// What we know of an authoritative engine (RFC 3414 2.3): its ID, and its boots and time as
/// of `at` (time runs on with our clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub engine_id: Vec<u8>,
    pub boots: u32,
    pub time: u32,
    pub at: Instant,
}

impl EngineInfo {
    /// The engine's time now, as we estimate it.
    #[must_use]
    pub fn time_now(&self, now: Instant) -> u32 {
        let elapsed = now.saturating_duration_since(self.at).as_secs();
        self.time.saturating_add(u32::try_from(elapsed).unwrap_or(u32::MAX)).min(0x7fff_ffff)
    }
}

/// Discovered engines by target address, shared by the batches of one engine.
#[derive(Debug, Default)]
pub struct EngineCache {
    engines: Mutex<HashMap<SocketAddrV4, EngineInfo>>,
}

impl EngineCache {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    #[must_use]
    pub fn get(&self, addr: SocketAddrV4) -> Option<EngineInfo> {
        self.engines.lock().unwrap_or_else(PoisonError::into_inner).get(&addr).cloned()
    }

    pub fn put(&self, addr: SocketAddrV4, info: EngineInfo) {
        self.engines.lock().unwrap_or_else(PoisonError::into_inner).insert(addr, info);
    }

    pub fn forget(&self, addr: SocketAddrV4) {
        self.engines.lock().unwrap_or_else(PoisonError::into_inner).remove(&addr);
    }

    /// Every engine known, by address.
    #[must_use]
    pub fn snapshot(&self) -> Vec<(SocketAddrV4, EngineInfo)> {
        let map = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(a, e)| (*a, e.clone())).collect()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.engines.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One v3 target's security state.
#[derive(Debug)]
pub struct V3State {
    pub credentials: Arc<Credentials>,
    pub engine: Option<EngineInfo>,
    keys: Option<LocalKeys>,
    salt: u64,
    /// Whether the engine was learned (or changed) in this batch: write it back to the cache.
    pub learned: bool,
}

/// What a received v3 message means for the operation it answers.
#[derive(Debug)]
pub enum Incoming<'p> {
    /// A response (authenticated as the request was): handle its PDU.
    Response(ScopedPdu<'p>),
    /// Discovery or resynchronisation succeeded: send the operation again (new msgID).
    Resend,
    /// The agent refused: fail the operation (and, the credentials being wrong, the target's
    /// other operations) with this kind.
    Refused(FailureKind, String),
    /// Not acceptable as an answer (unauthenticated, wrong digest, another engine): drop it.
    Drop,
}

impl V3State {
    #[must_use]
    pub fn new(credentials: Arc<Credentials>, engine: Option<EngineInfo>, index: usize) -> Self {
        let keys = engine.as_ref().map(|e| credentials.localize(&e.engine_id));
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let salt = seed.rotate_left(17) ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self { credentials, engine, keys, salt, learned: false }
    }

    /// Whether the next request must be a discovery probe.
    #[must_use]
    pub fn discovering(&self) -> bool {
        self.engine.is_none()
    }

    /// Encodes `pdu` as the next request (`msg_id` = the request id), or a discovery probe
    /// while the engine is unknown (returns true then).
    pub fn encode(
        &mut self,
        pdu: StandardPdu<'_>,
        out: &mut Vec<u8>,
        now: Instant,
    ) -> Result<bool, EncodeError> {
        let msg_id = pdu.request_id;
        let Some(engine) = &self.engine else {
            let probe = StandardPdu { varbinds: Vec::new(), ..pdu };
            let scoped = ScopedPdu { context_engine_id: b"", context_name: b"", pdu: probe };
            let sec = Security { user: b"", engine_id: b"", boots: 0, time: 0, keys: None };
            wrap(out, msg_id, MAX_SIZE, true, &sec, &scoped, 0)?;
            return Ok(true);
        };
        let scoped =
            ScopedPdu { context_engine_id: &engine.engine_id, context_name: &self.credentials.context, pdu };
        let sec = Security {
            user: &self.credentials.user,
            engine_id: &engine.engine_id,
            boots: engine.boots,
            time: engine.time_now(now),
            keys: self.keys.as_ref(),
        };
        self.salt = self.salt.wrapping_add(1);
        wrap(out, msg_id, MAX_SIZE, true, &sec, &scoped, self.salt)?;
        Ok(false)
    }

    fn adopt(&mut self, msg: &V3Message<'_>, now: Instant) {
        let usm = &msg.usm;
        if !matches!(&self.engine, Some(e) if e.engine_id == usm.engine_id) {
            self.keys = Some(self.credentials.localize(usm.engine_id));
        }
        self.engine =
            Some(EngineInfo { engine_id: usm.engine_id.to_vec(), boots: usm.boots, time: usm.time, at: now });
        self.learned = true;
    }

    /// Checks and opens a message whose msgID matched a request of this target. `plain` keeps
    /// the decrypted scopedPDU the result borrows.
    pub fn receive<'p>(
        &mut self,
        data: &[u8],
        msg: &V3Message<'_>,
        resyncs: u32,
        plain: &'p mut Vec<u8>,
        now: Instant,
    ) -> Incoming<'p> {
        let level = self.credentials.level();
        let authenticated = msg.is_authenticated();
        if authenticated {
            let Some(keys) = self
                .keys
                .as_ref()
                .filter(|_| self.engine.as_ref().is_some_and(|e| e.engine_id == msg.usm.engine_id))
            else {
                return Incoming::Drop;
            };
            if msg.usm.user != self.credentials.user.as_slice() || authenticate(data, msg, keys).is_err() {
                return Incoming::Drop;
            }
        }
        let opened = match plaintext(msg, self.keys.as_ref()) {
            Ok(p) => p,
            Err(UnwrapError::DecryptionError) => {
                return Incoming::Refused(
                    FailureKind::Usm(ReportKind::DecryptionError),
                    "cannot decrypt the agent's answer".into(),
                )
            }
            Err(_) => return Incoming::Drop,
        };
        *plain = opened.into_owned();
        let scoped = match open_scoped(plain, msg.is_encrypted()) {
            Ok(s) => s,
            Err(OpenError::Decryption) => {
                return Incoming::Refused(
                    FailureKind::Usm(ReportKind::DecryptionError),
                    "the agent's answer decrypts to garbage (wrong privacy password?)".into(),
                )
            }
            Err(OpenError::Decode(_)) => return Incoming::Drop,
        };
        if scoped.pdu.pdu_type == PduType::Report {
            return self.report(msg, &scoped, authenticated, resyncs, now);
        }
        if scoped.pdu.pdu_type != PduType::Response || msg.header.flags & 3 != level.flags() {
            return Incoming::Drop;
        }
        if level != SecurityLevel::NoAuthNoPriv {
            if !self.in_time_window(msg, now) {
                return Incoming::Drop;
            }
        } else if self.engine.as_ref().is_some_and(|e| e.engine_id != msg.usm.engine_id) {
            return Incoming::Drop;
        }
        Incoming::Response(scoped)
    }

    /// RFC 3414 3.2.7 b): a response must be from the engine's current boots and within 150 s
    /// of its time as we know it; newer values are adopted.
    fn in_time_window(&mut self, msg: &V3Message<'_>, now: Instant) -> bool {
        let Some(e) = self.engine.as_mut() else { return false };
        let (boots, time) = (msg.usm.boots, msg.usm.time);
        if boots == 0x7fff_ffff || boots < e.boots {
            return false;
        }
        let ours = e.time_now(now);
        if boots == e.boots && time.saturating_add(TIME_WINDOW_S) < ours {
            return false;
        }
        if boots > e.boots || time > ours {
            e.boots = boots;
            e.time = time;
            e.at = now;
            self.learned = true;
        }
        true
    }

    fn report(
        &mut self,
        msg: &V3Message<'_>,
        scoped: &ScopedPdu<'_>,
        authenticated: bool,
        resyncs: u32,
        now: Instant,
    ) -> Incoming<'static> {
        let kind = scoped.pdu.varbinds.first().map_or(ReportKind::Other, |vb| ReportKind::from_oid(vb.oid));
        let named = |detail: &str| {
            let oid = scoped.pdu.varbinds.first().map(|vb| vb.oid.to_string()).unwrap_or_default();
            Incoming::Refused(
                FailureKind::Usm(kind),
                format!("the agent reported {} ({oid}){detail}", kind.name()),
            )
        };
        match kind {
            ReportKind::UnknownEngineId if msg.usm.engine_id.is_empty() => named(": no engine ID"),
            ReportKind::UnknownEngineId if resyncs < MAX_RESYNCS => {
                // Discovery, or our cached engine ID is stale (the printer was replaced).
                self.adopt(msg, now);
                Incoming::Resend
            }
            // RFC 3414 4: the report that resynchronises time is authenticated.
            ReportKind::NotInTimeWindow if authenticated && resyncs < MAX_RESYNCS => {
                self.adopt(msg, now);
                Incoming::Resend
            }
            ReportKind::NotInTimeWindow
                if !authenticated && self.engine.is_some() && resyncs < MAX_RESYNCS =>
            {
                // Some agents send it unauthenticated; adopt only the time of the same engine.
                if self.engine.as_ref().is_some_and(|e| e.engine_id == msg.usm.engine_id) {
                    self.adopt(msg, now);
                    Incoming::Resend
                } else {
                    Incoming::Drop
                }
            }
            _ => named(""),
        }
    }
}
