use super::oid::Oid;

/// The SNMP version field. Open, like every wire code: the values printwatch speaks are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(pub i32);

impl Version {
    pub const V1: Self = Self(0);
    pub const V2C: Self = Self(1);
    pub const V3: Self = Self(3);
}

/// Error-status values (RFC 3416 section 3) that agents and the engine act on.
pub mod error_status {
    pub const NO_ERROR: i32 = 0;
    pub const TOO_BIG: i32 = 1;
    pub const NO_SUCH_NAME: i32 = 2;
}

/// A variable's value (RFC 2578 types, RFC 3416 exceptions), borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Integer(i32),
    OctetString(&'a [u8]),
    Null,
    ObjectIdentifier(Oid<'a>),
    IpAddress([u8; 4]),
    Counter32(u32),
    /// Gauge32 and Unsigned32 share tag 0x42 and are the same on the wire.
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(&'a [u8]),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value<'_> {
    /// The type's name as the Python API spells it.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Integer(_) => "Integer",
            Self::OctetString(_) => "OctetString",
            Self::Null => "Null",
            Self::ObjectIdentifier(_) => "ObjectIdentifier",
            Self::IpAddress(_) => "IpAddress",
            Self::Counter32(_) => "Counter32",
            Self::Gauge32(_) => "Gauge32",
            Self::TimeTicks(_) => "TimeTicks",
            Self::Opaque(_) => "Opaque",
            Self::Counter64(_) => "Counter64",
            Self::NoSuchObject => "NoSuchObject",
            Self::NoSuchInstance => "NoSuchInstance",
            Self::EndOfMibView => "EndOfMibView",
        }
    }

    /// True for the three RFC 3416 exception values.
    #[must_use]
    pub fn is_exception(&self) -> bool {
        matches!(self, Self::NoSuchObject | Self::NoSuchInstance | Self::EndOfMibView)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarBind<'a> {
    pub oid: Oid<'a>,
    pub value: Value<'a>,
}

/// The PDUs that share the request/response layout (RFC 3416 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PduType {
    Get,
    GetNext,
    Response,
    Set,
    GetBulk,
    Inform,
    TrapV2,
    Report,
}

impl PduType {
    /// Every standard PDU type, in the order the Python API lists them.
    pub const ALL: [Self; 8] = [
        Self::Get,
        Self::GetNext,
        Self::GetBulk,
        Self::Response,
        Self::Set,
        Self::TrapV2,
        Self::Inform,
        Self::Report,
    ];

    #[must_use]
    pub fn tag(self) -> u8 {
        match self {
            Self::Get => 0xa0,
            Self::GetNext => 0xa1,
            Self::Response => 0xa2,
            Self::Set => 0xa3,
            Self::GetBulk => 0xa5,
            Self::Inform => 0xa6,
            Self::TrapV2 => 0xa7,
            Self::Report => 0xa8,
        }
    }

    #[must_use]
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0xa0 => Self::Get,
            0xa1 => Self::GetNext,
            0xa2 => Self::Response,
            0xa3 => Self::Set,
            0xa5 => Self::GetBulk,
            0xa6 => Self::Inform,
            0xa7 => Self::TrapV2,
            0xa8 => Self::Report,
            _ => return None,
        })
    }

    /// The name as the Python API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetNext => "getnext",
            Self::Response => "response",
            Self::Set => "set",
            Self::GetBulk => "getbulk",
            Self::Inform => "inform",
            Self::TrapV2 => "trap",
            Self::Report => "report",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether SNMPv1 (RFC 1157) has this PDU.
    #[must_use]
    pub fn in_v1(self) -> bool {
        matches!(self, Self::Get | Self::GetNext | Self::Response | Self::Set)
    }
}

/// A request, response, bulk, inform, SNMPv2 trap or report PDU.
///
/// For `GetBulk` the two middle fields are non-repeaters and max-repetitions (same wire layout);
/// use [`StandardPdu::non_repeaters`] and [`StandardPdu::max_repetitions`] to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardPdu<'a> {
    pub pdu_type: PduType,
    pub request_id: i32,
    pub error_status: i32,
    pub error_index: i32,
    pub varbinds: Vec<VarBind<'a>>,
}

impl StandardPdu<'_> {
    #[must_use]
    pub fn non_repeaters(&self) -> i32 {
        self.error_status
    }

    #[must_use]
    pub fn max_repetitions(&self) -> i32 {
        self.error_index
    }
}

/// The SNMPv1 Trap-PDU (RFC 1157 section 4.1.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapV1Pdu<'a> {
    pub enterprise: Oid<'a>,
    pub agent_addr: [u8; 4],
    pub generic_trap: i32,
    pub specific_trap: i32,
    pub time_stamp: u32,
    pub varbinds: Vec<VarBind<'a>>,
}

pub const TRAP_V1_TAG: u8 = 0xa4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu<'a> {
    Standard(StandardPdu<'a>),
    TrapV1(TrapV1Pdu<'a>),
}

impl<'a> Pdu<'a> {
    #[must_use]
    pub fn tag(&self) -> u8 {
        match self {
            Self::Standard(p) => p.pdu_type.tag(),
            Self::TrapV1(_) => TRAP_V1_TAG,
        }
    }

    #[must_use]
    pub fn varbinds(&self) -> &[VarBind<'a>] {
        match self {
            Self::Standard(p) => &p.varbinds,
            Self::TrapV1(p) => &p.varbinds,
        }
    }
}

/// A community-based SNMP message (v1 or v2c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub version: Version,
    pub community: &'a [u8],
    pub pdu: Pdu<'a>,
}
