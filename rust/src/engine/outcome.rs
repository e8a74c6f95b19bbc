//! What a target's poll produced: the values read, the rows walked, and why any request failed.

use std::net::SocketAddrV4;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::plan::Plan;
use crate::snmp::usm::ReportKind;
use crate::snmp::{decode_varbind, encode_varbind, error_status, VarBind, Version};

/// Why a request failed. Names are the ones results carry (`kind.name()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No answer after every try.
    Timeout,
    /// Only undecodable datagrams came back from the target for this request.
    Malformed,
    /// The agent answered `tooBig` even to the smallest request.
    TooBig,
    /// The agent refused a variable (v1 `noSuchName`).
    NoSuchName,
    /// A walk went backwards or repeated an OID.
    Loop,
    /// A walk returned more varbinds than the engine's row cap.
    RowCap,
    /// An answer that decoded but does not fit the request (wrong varbinds, empty GETBULK).
    BadResponse,
    /// Another error-status from the agent (RFC 3416 section 3: the value is kept).
    Snmp(i32),
    /// The kernel refused to send the request (no route, ...).
    SendError,
    /// The batch was cancelled before the request finished.
    Cancelled,
    /// An SNMPv3 agent refused the request with a report (RFC 3414 usmStats: wrong password,
    /// unknown user, ...), or its answer could not be decrypted.
    Usm(ReportKind),
}

impl FailureKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Malformed => "malformed",
            Self::TooBig => "tooBig",
            Self::NoSuchName => "noSuchName",
            Self::Loop => "loop",
            Self::RowCap => "rowCap",
            Self::BadResponse => "badResponse",
            Self::Snmp(status) => error_status_name(status),
            Self::SendError => "sendError",
            Self::Cancelled => "cancelled",
            Self::Usm(kind) => kind.name(),
        }
    }

    /// The kind an error-status answer means.
    #[must_use]
    pub fn from_error_status(status: i32) -> Self {
        match status {
            error_status::TOO_BIG => Self::TooBig,
            error_status::NO_SUCH_NAME => Self::NoSuchName,
            other => Self::Snmp(other),
        }
    }
}

/// RFC 3416's error-status names (`snmpError` for values it does not define).
#[must_use]
pub fn error_status_name(status: i32) -> &'static str {
    const NAMES: [&str; 19] = [
        "noError",
        "tooBig",
        "noSuchName",
        "badValue",
        "readOnly",
        "genErr",
        "noAccess",
        "wrongType",
        "wrongLength",
        "wrongEncoding",
        "wrongValue",
        "noCreation",
        "inconsistentValue",
        "resourceUnavailable",
        "commitFailed",
        "undoFailed",
        "authorizationError",
        "notWritable",
        "inconsistentName",
    ];
    usize::try_from(status).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("snmpError")
}

/// Which part of the plan a failure concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `plan.gets[i]`.
    Get(usize),
    /// `plan.walks[i]`.
    Walk(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub request: Request,
    pub kind: FailureKind,
    pub detail: String,
}

/// Varbinds kept after their datagrams are gone: each one BER-encoded into one arena.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarBindStore {
    arena: Vec<u8>,
}

/// A varbind in a [`VarBindStore`]: `start..end` of its arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    start: u32,
    end: u32,
}

impl VarBindStore {
    pub fn push(&mut self, vb: &VarBind<'_>) -> Stored {
        let start = self.arena.len() as u32;
        encode_varbind(vb, &mut self.arena);
        Stored { start, end: self.arena.len() as u32 }
    }

    /// The varbind stored at `at` (it was valid when stored, so it decodes).
    #[must_use]
    pub fn get(&self, at: Stored) -> Option<VarBind<'_>> {
        decode_varbind(self.arena.get(at.start as usize..at.end as usize)?).ok()
    }

    #[must_use]
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }

    /// The BER encoding of the varbind stored at `at` (empty if `at` is not of this store).
    #[must_use]
    pub fn raw(&self, at: Stored) -> &[u8] {
        self.arena.get(at.start as usize..at.end as usize).unwrap_or_default()
    }
}

/// Everything one target's poll produced.
#[derive(Debug, Clone)]
pub struct TargetResult {
    /// The target's position in its batch.
    pub index: usize,
    pub addr: SocketAddrV4,
    /// The version the agent answered in (`None`: it never answered).
    pub version: Option<Version>,
    /// Round-trip time of the first answer.
    pub rtt: Option<Duration>,
    /// One slot per `plan.gets`: the value read, or `None` (see `failures`).
    pub gets: Vec<Option<Stored>>,
    /// One list per `plan.walks`: the varbinds under the root, in walk order.
    pub walks: Vec<Vec<Stored>>,
    pub store: VarBindStore,
    pub failures: Vec<Failure>,
    /// Requests sent, counting every try.
    pub packets_sent: u32,
    /// Of those, tries after a timeout.
    pub retries: u32,
    pub packets_received: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl TargetResult {
    #[must_use]
    pub fn new(index: usize, addr: SocketAddrV4, gets: usize, walks: usize) -> Self {
        Self {
            index,
            addr,
            version: None,
            rtt: None,
            gets: vec![None; gets],
            walks: vec![Vec::new(); walks],
            store: VarBindStore::default(),
            failures: Vec::new(),
            packets_sent: 0,
            retries: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// Whether the target answered at all.
    #[must_use]
    pub fn reachable(&self) -> bool {
        self.version.is_some()
    }

    /// The number of varbinds read (gets and walk rows).
    #[must_use]
    pub fn varbind_count(&self) -> usize {
        self.gets.iter().flatten().count() + self.walks.iter().map(Vec::len).sum::<usize>()
    }

    /// `ok` when every request succeeded, else the kind of the first failure.
    #[must_use]
    pub fn status(&self) -> &'static str {
        self.failures.first().map_or("ok", |f| f.kind.name())
    }

    /// SHA-256 of what the agent answered to `plan`: every GET (its OID, then its value or that
    /// it has none) and every walk (its root, then its rows), in plan order, each part framed
    /// by its length, so that two answers have the same digest only if they are the same
    /// varbinds. GETs at the positions in `skip` count only as skipped (a value that changes
    /// every poll, such as sysUpTime, read apart). Failures, times and counts are not in it.
    #[must_use]
    pub fn digest(&self, plan: &Plan, skip: &[usize]) -> [u8; 32] {
        fn part(h: &mut Sha256, tag: u8, bytes: &[u8]) {
            h.update([tag]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        let mut h = Sha256::new();
        h.update(b"printwatch answer 1");
        for (i, (oid, stored)) in plan.gets.iter().zip(&self.gets).enumerate() {
            part(&mut h, b'g', oid.as_oid().as_ber());
            match stored {
                _ if skip.contains(&i) => h.update(b"s"),
                Some(at) => part(&mut h, b'v', self.store.raw(*at)),
                None => h.update(b"n"),
            }
        }
        for (root, rows) in plan.walks.iter().zip(&self.walks) {
            part(&mut h, b'w', root.as_oid().as_ber());
            h.update((rows.len() as u64).to_le_bytes());
            for at in rows {
                part(&mut h, b'r', self.store.raw(*at));
            }
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::snmp::{OidBuf, Value};

    fn plan() -> Plan {
        let oid = |s: &str| OidBuf::parse(s).unwrap();
        Plan {
            gets: vec![oid("1.3.6.1.2.1.1.1.0"), oid("1.3.6.1.2.1.1.3.0")],
            walks: vec![oid("1.3.6.1.2.1.43.11")],
        }
    }

    /// A result of `plan()`: sysDescr `descr`, sysUpTime `ticks`, one walked row of `level`.
    fn answer(descr: &[u8], ticks: u32, level: Option<i32>) -> TargetResult {
        let p = plan();
        let mut r = TargetResult::new(0, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 161), 2, 1);
        r.gets[0] =
            Some(r.store.push(&VarBind { oid: p.gets[0].as_oid(), value: Value::OctetString(descr) }));
        r.gets[1] = Some(r.store.push(&VarBind { oid: p.gets[1].as_oid(), value: Value::TimeTicks(ticks) }));
        if let Some(level) = level {
            let row = OidBuf::parse("1.3.6.1.2.1.43.11.1.1.9.1.1").unwrap();
            let at = r.store.push(&VarBind { oid: row.as_oid(), value: Value::Integer(level) });
            r.walks[0].push(at);
        }
        r
    }

    #[test]
    fn digest_is_the_same_for_the_same_answer_and_differs_for_any_change() {
        let p = plan();
        let base = answer(b"printer", 100, Some(50)).digest(&p, &[]);
        assert_eq!(base, answer(b"printer", 100, Some(50)).digest(&p, &[]));
        assert_ne!(base, answer(b"printer", 101, Some(50)).digest(&p, &[]));
        assert_ne!(base, answer(b"printer", 100, Some(49)).digest(&p, &[]));
        assert_ne!(base, answer(b"printer", 100, None).digest(&p, &[]));
        assert_ne!(base, answer(b"printe", 100, Some(50)).digest(&p, &[]));
        let mut missing = answer(b"printer", 100, Some(50));
        missing.gets[0] = None;
        assert_ne!(base, missing.digest(&p, &[]));
    }

    #[test]
    fn skipped_gets_do_not_count() {
        let p = plan();
        let a = answer(b"printer", 100, Some(50)).digest(&p, &[1]);
        assert_eq!(a, answer(b"printer", 999, Some(50)).digest(&p, &[1]));
        assert_ne!(a, answer(b"printer", 100, Some(49)).digest(&p, &[1]));
        assert_ne!(a, answer(b"printer", 100, Some(50)).digest(&p, &[]));
    }
}
