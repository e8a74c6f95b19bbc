use std::fmt;

/// Why a decode failed. Small and `Copy`, so errors cost nothing on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a tag, a length or a value.
    Truncated,
    /// A tag in the high-tag-number form (low five bits all ones); SNMP never uses it.
    HighTagNumber,
    /// A different tag was required here.
    UnexpectedTag { expected: u8, found: u8 },
    /// A value tag that no SNMP type uses.
    UnknownValueTag(u8),
    /// A PDU tag that no SNMP PDU uses.
    UnknownPduTag(u8),
    /// Length octet 0x80: the indefinite form, forbidden by RFC 3417.
    IndefiniteLength,
    /// A long-form length with more than four length octets (or 0xFF, reserved by X.690).
    LengthTooLong,
    /// A length that claims more bytes than are left in the enclosing element.
    LengthPastEnd { length: usize, available: usize },
    /// Bytes left over inside a sequence after its last expected element, or after the message.
    TrailingBytes(usize),
    /// An INTEGER with no content octets.
    EmptyInteger,
    /// An INTEGER that does not fit the range of its type.
    IntegerOutOfRange,
    /// NULL (or an exception value) with content octets.
    NonEmptyNull,
    /// An OBJECT IDENTIFIER with no content octets.
    EmptyOid,
    /// A sub-identifier that starts with 0x80 (X.690 8.19.2) or ends inside a continuation.
    MalformedOid,
    /// A sub-identifier above 2^32-1.
    OidOverflow,
    /// More than 128 sub-identifiers (RFC 2578 section 3.5).
    OidTooLong,
    /// An IpAddress whose content is not exactly four octets.
    BadIpAddress(usize),
    /// An SNMP version other than 0 (v1) or 1 (v2c).
    UnsupportedVersion(i64),
    /// A PDU that the message's version cannot carry (GetBulk in v1, Trap-PDU in v2c, ...).
    PduNotAllowed { version: i32, pdu_tag: u8 },
    /// A value outside the range the protocol allows for that field.
    FieldOutOfRange(&'static str),
}

/// A decode failure: what went wrong and the byte offset (from the start of the input) where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl DecodeError {
    #[must_use]
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => f.write_str("input ends too early"),
            Self::HighTagNumber => f.write_str("high-tag-number form is not used by SNMP"),
            Self::UnexpectedTag { expected, found } => {
                write!(f, "expected tag 0x{expected:02x}, found 0x{found:02x}")
            }
            Self::UnknownValueTag(t) => write!(f, "unknown value tag 0x{t:02x}"),
            Self::UnknownPduTag(t) => write!(f, "unknown PDU tag 0x{t:02x}"),
            Self::IndefiniteLength => f.write_str("indefinite length is forbidden in SNMP"),
            Self::LengthTooLong => f.write_str("length field longer than four octets"),
            Self::LengthPastEnd { length, available } => {
                write!(f, "length {length} runs past the end ({available} bytes left)")
            }
            Self::TrailingBytes(n) => write!(f, "{n} unexpected trailing bytes"),
            Self::EmptyInteger => f.write_str("INTEGER with no content"),
            Self::IntegerOutOfRange => f.write_str("integer out of range for its type"),
            Self::NonEmptyNull => f.write_str("NULL with content"),
            Self::EmptyOid => f.write_str("empty OBJECT IDENTIFIER"),
            Self::MalformedOid => f.write_str("malformed OBJECT IDENTIFIER sub-identifier"),
            Self::OidOverflow => f.write_str("OBJECT IDENTIFIER sub-identifier above 2^32-1"),
            Self::OidTooLong => f.write_str("OBJECT IDENTIFIER longer than 128 sub-identifiers"),
            Self::BadIpAddress(n) => write!(f, "IpAddress of {n} octets (must be 4)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported SNMP version {v}"),
            Self::PduNotAllowed { version, pdu_tag } => {
                write!(f, "PDU 0x{pdu_tag:02x} not allowed in SNMP version {version}")
            }
            Self::FieldOutOfRange(field) => write!(f, "{field} out of range"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for DecodeError {}
