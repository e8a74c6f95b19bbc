use std::fmt;

use crate::ber::{tag, Writer};

use super::types::{Message, Pdu, PduType, StandardPdu, Value, VarBind, Version};

/// Why a message cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// printwatch only reads: it never sends a SetRequest.
    SetRefused,
    /// The version is neither v1 nor v2c.
    UnsupportedVersion(i32),
    /// The PDU does not exist in the message's version (GetBulk in v1, Trap-PDU in v2c, ...).
    PduNotAllowed { version: i32, pdu_tag: u8 },
    /// Negative non-repeaters or max-repetitions.
    FieldOutOfRange(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SetRefused => f.write_str("printwatch never sends a SetRequest"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported SNMP version {v}"),
            Self::PduNotAllowed { version, pdu_tag } => {
                write!(f, "PDU 0x{pdu_tag:02x} not allowed in SNMP version {version}")
            }
            Self::FieldOutOfRange(field) => write!(f, "{field} out of range"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Encodes messages into a buffer it keeps, so a steady stream of requests allocates nothing.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    #[must_use]
    pub fn new() -> Self {
        Self { buf: Vec::with_capacity(1500) }
    }

    /// Encodes `message`; the bytes are valid until the next call.
    pub fn encode(&mut self, message: &Message<'_>) -> Result<&[u8], EncodeError> {
        self.buf.clear();
        encode_into(message, &mut self.buf)?;
        Ok(&self.buf)
    }
}

/// Appends the encoding of `message` to `out`.
pub fn encode_into(message: &Message<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    check(message)?;
    Writer::new(out).constructed(tag::SEQUENCE, |w| {
        w.signed(tag::INTEGER, i64::from(message.version.0));
        w.bytes(tag::OCTET_STRING, message.community);
        match &message.pdu {
            Pdu::Standard(p) => w.constructed(p.pdu_type.tag(), |w| pdu_body(w, p)),
            Pdu::TrapV1(p) => w.constructed(message.pdu.tag(), |w| {
                w.bytes(tag::OBJECT_IDENTIFIER, p.enterprise.as_ber());
                w.bytes(tag::IP_ADDRESS, &p.agent_addr);
                w.signed(tag::INTEGER, i64::from(p.generic_trap));
                w.signed(tag::INTEGER, i64::from(p.specific_trap));
                w.unsigned(tag::TIMETICKS, u64::from(p.time_stamp));
                varbind_list(w, &p.varbinds);
            }),
        }
    });
    Ok(())
}

/// The content of a request/response-layout PDU.
pub(crate) fn pdu_body(w: &mut Writer<'_>, p: &StandardPdu<'_>) {
    w.signed(tag::INTEGER, i64::from(p.request_id));
    w.signed(tag::INTEGER, i64::from(p.error_status));
    w.signed(tag::INTEGER, i64::from(p.error_index));
    varbind_list(w, &p.varbinds);
}

/// Checks a standard PDU for a message that carries it (`v2_pdus`: v2c or v3).
pub(crate) fn check_pdu(p: &StandardPdu<'_>, v2_pdus: bool) -> Result<(), EncodeError> {
    if p.pdu_type == PduType::Set {
        return Err(EncodeError::SetRefused);
    }
    if p.pdu_type == PduType::GetBulk {
        if p.non_repeaters() < 0 {
            return Err(EncodeError::FieldOutOfRange("non-repeaters"));
        }
        if p.max_repetitions() < 0 {
            return Err(EncodeError::FieldOutOfRange("max-repetitions"));
        }
    }
    if p.pdu_type.in_v1() || v2_pdus {
        Ok(())
    } else {
        Err(EncodeError::PduNotAllowed { version: 0, pdu_tag: p.pdu_type.tag() })
    }
}

fn check(message: &Message<'_>) -> Result<(), EncodeError> {
    let version = message.version;
    if version != Version::V1 && version != Version::V2C {
        return Err(EncodeError::UnsupportedVersion(version.0));
    }
    let allowed = match &message.pdu {
        Pdu::Standard(p) if p.pdu_type == PduType::Set => return Err(EncodeError::SetRefused),
        Pdu::Standard(p) if p.pdu_type == PduType::GetBulk => {
            if p.non_repeaters() < 0 {
                return Err(EncodeError::FieldOutOfRange("non-repeaters"));
            }
            if p.max_repetitions() < 0 {
                return Err(EncodeError::FieldOutOfRange("max-repetitions"));
            }
            version == Version::V2C
        }
        Pdu::Standard(p) => p.pdu_type.in_v1() || version == Version::V2C,
        Pdu::TrapV1(_) => version == Version::V1,
    };
    if allowed {
        Ok(())
    } else {
        Err(EncodeError::PduNotAllowed { version: version.0, pdu_tag: message.pdu.tag() })
    }
}

fn varbind_list(w: &mut Writer<'_>, varbinds: &[VarBind<'_>]) {
    w.constructed(tag::SEQUENCE, |w| {
        for vb in varbinds {
            varbind(w, vb);
        }
    });
}

fn varbind(w: &mut Writer<'_>, vb: &VarBind<'_>) {
    w.constructed(tag::SEQUENCE, |w| {
        w.bytes(tag::OBJECT_IDENTIFIER, vb.oid.as_ber());
        value(w, &vb.value);
    });
}

/// Appends one varbind (`SEQUENCE { name, value }`) to `out`: a compact way to keep a decoded
/// varbind after its datagram is gone ([`decode_varbind`] reads it back).
///
/// [`decode_varbind`]: super::decode_varbind
pub fn encode_varbind(vb: &VarBind<'_>, out: &mut Vec<u8>) {
    varbind(&mut Writer::new(out), vb);
}

/// Encodes one value element.
pub(crate) fn value(w: &mut Writer<'_>, v: &Value<'_>) {
    match *v {
        Value::Integer(i) => w.signed(tag::INTEGER, i64::from(i)),
        Value::OctetString(s) => w.bytes(tag::OCTET_STRING, s),
        Value::Null => w.bytes(tag::NULL, &[]),
        Value::ObjectIdentifier(oid) => w.bytes(tag::OBJECT_IDENTIFIER, oid.as_ber()),
        Value::IpAddress(a) => w.bytes(tag::IP_ADDRESS, &a),
        Value::Counter32(n) => w.unsigned(tag::COUNTER32, u64::from(n)),
        Value::Gauge32(n) => w.unsigned(tag::GAUGE32, u64::from(n)),
        Value::TimeTicks(n) => w.unsigned(tag::TIMETICKS, u64::from(n)),
        Value::Opaque(s) => w.bytes(tag::OPAQUE, s),
        Value::Counter64(n) => w.unsigned(tag::COUNTER64, n),
        Value::NoSuchObject => w.bytes(tag::NO_SUCH_OBJECT, &[]),
        Value::NoSuchInstance => w.bytes(tag::NO_SUCH_INSTANCE, &[]),
        Value::EndOfMibView => w.bytes(tag::END_OF_MIB_VIEW, &[]),
    }
}
