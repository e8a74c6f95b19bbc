//! What a target's poll produced: the values read, the rows walked, and why any request failed.

use std::net::SocketAddrV4;
use std::time::Duration;

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
}
