use crate::ber::reader::{decode_i32, decode_i64, decode_u32, decode_u64};
use crate::ber::{tag, DecodeError, ErrorKind, Reader, Tlv};

use super::oid::Oid;
use super::types::{Message, Pdu, PduType, StandardPdu, TrapV1Pdu, Value, VarBind, Version, TRAP_V1_TAG};

type Result<T> = std::result::Result<T, DecodeError>;

/// Decodes one SNMP v1/v2c message from a datagram; everything in it borrows from `data`.
///
/// The whole datagram must be the message: bytes after it are an error, as are bytes left inside
/// any sequence. It never panics, whatever the input.
pub fn decode(data: &[u8]) -> Result<Message<'_>> {
    let mut outer = Reader::new(data);
    let mut r = outer.sequence(tag::SEQUENCE)?;
    outer.finish()?;

    let version_tlv = r.expect(tag::INTEGER)?;
    let version = match decode_i64(&version_tlv) {
        Ok(v @ 0..=1) => Version(v as i32),
        Ok(v) => return Err(DecodeError::new(ErrorKind::UnsupportedVersion(v), version_tlv.content_offset)),
        Err(e) => return Err(e),
    };
    let community = r.expect(tag::OCTET_STRING)?.content;
    let pdu_offset = r.offset();
    let pdu_tag = r.peek_tag()?;
    let allowed = match PduType::from_tag(pdu_tag) {
        Some(t) => t.in_v1() || version == Version::V2C,
        None if pdu_tag == TRAP_V1_TAG => version == Version::V1,
        None => return Err(DecodeError::new(ErrorKind::UnknownPduTag(pdu_tag), pdu_offset)),
    };
    if !allowed {
        return Err(DecodeError::new(ErrorKind::PduNotAllowed { version: version.0, pdu_tag }, pdu_offset));
    }
    let mut body = r.sequence(pdu_tag)?;
    r.finish()?;
    let pdu = match PduType::from_tag(pdu_tag) {
        Some(pdu_type) => Pdu::Standard(standard_pdu(&mut body, pdu_type)?),
        None => Pdu::TrapV1(trap_v1_pdu(&mut body)?),
    };
    Ok(Message { version, community, pdu })
}

pub(crate) fn standard_pdu<'a>(r: &mut Reader<'a>, pdu_type: PduType) -> Result<StandardPdu<'a>> {
    let request_id = r.i32(tag::INTEGER)?;
    let at = r.offset();
    let error_status = r.i32(tag::INTEGER)?;
    let error_index = r.i32(tag::INTEGER)?;
    if pdu_type == PduType::GetBulk {
        if error_status < 0 {
            return Err(DecodeError::new(ErrorKind::FieldOutOfRange("non-repeaters"), at));
        }
        if error_index < 0 {
            return Err(DecodeError::new(ErrorKind::FieldOutOfRange("max-repetitions"), at));
        }
    }
    let varbinds = varbind_list(r)?;
    Ok(StandardPdu { pdu_type, request_id, error_status, error_index, varbinds })
}

fn trap_v1_pdu<'a>(r: &mut Reader<'a>) -> Result<TrapV1Pdu<'a>> {
    let enterprise_tlv = r.expect(tag::OBJECT_IDENTIFIER)?;
    let enterprise = Oid::from_ber(enterprise_tlv.content, enterprise_tlv.content_offset)?;
    let agent_addr = ip_address(&r.expect(tag::IP_ADDRESS)?)?;
    let generic_trap = r.i32(tag::INTEGER)?;
    let specific_trap = r.i32(tag::INTEGER)?;
    let time_stamp = decode_u32(&r.expect(tag::TIMETICKS)?)?;
    let varbinds = varbind_list(r)?;
    Ok(TrapV1Pdu { enterprise, agent_addr, generic_trap, specific_trap, time_stamp, varbinds })
}

fn varbind_list<'a>(r: &mut Reader<'a>) -> Result<Vec<VarBind<'a>>> {
    let mut list = r.sequence(tag::SEQUENCE)?;
    r.finish()?;
    // A varbind takes at least 7 bytes (30 05 06 01 xx 05 00); reserving for a plausible count
    // (bounded, so a lying length cannot make us allocate much) saves the regrowths.
    let mut varbinds = Vec::with_capacity((list.remaining() / 12).clamp(1, 128));
    while !list.is_empty() {
        varbinds.push(varbind(&mut list)?);
    }
    Ok(varbinds)
}

fn varbind<'a>(r: &mut Reader<'a>) -> Result<VarBind<'a>> {
    let mut vb = r.sequence(tag::SEQUENCE)?;
    let name = vb.expect(tag::OBJECT_IDENTIFIER)?;
    let oid = Oid::from_ber(name.content, name.content_offset)?;
    let value = value(&vb.read_tlv()?)?;
    vb.finish()?;
    Ok(VarBind { oid, value })
}

/// Decodes exactly one varbind (`SEQUENCE { name, value }`), as [`encode_varbind`] writes it.
///
/// [`encode_varbind`]: super::encode_varbind
pub fn decode_varbind(data: &[u8]) -> Result<VarBind<'_>> {
    let mut r = Reader::new(data);
    let vb = varbind(&mut r)?;
    r.finish()?;
    Ok(vb)
}

fn ip_address(tlv: &Tlv<'_>) -> Result<[u8; 4]> {
    <[u8; 4]>::try_from(tlv.content)
        .map_err(|_| DecodeError::new(ErrorKind::BadIpAddress(tlv.content.len()), tlv.offset))
}

fn empty<'a>(tlv: &Tlv<'_>, v: Value<'a>) -> Result<Value<'a>> {
    if tlv.content.is_empty() {
        Ok(v)
    } else {
        Err(DecodeError::new(ErrorKind::NonEmptyNull, tlv.offset))
    }
}

/// Decodes one value element by its tag.
pub(crate) fn value<'a>(tlv: &Tlv<'a>) -> Result<Value<'a>> {
    Ok(match tlv.tag {
        tag::INTEGER => Value::Integer(decode_i32(tlv)?),
        tag::OCTET_STRING => Value::OctetString(tlv.content),
        tag::NULL => return empty(tlv, Value::Null),
        tag::OBJECT_IDENTIFIER => Value::ObjectIdentifier(Oid::from_ber(tlv.content, tlv.content_offset)?),
        tag::IP_ADDRESS => Value::IpAddress(ip_address(tlv)?),
        tag::COUNTER32 => Value::Counter32(decode_u32(tlv)?),
        tag::GAUGE32 => Value::Gauge32(decode_u32(tlv)?),
        tag::TIMETICKS => Value::TimeTicks(decode_u32(tlv)?),
        tag::OPAQUE => Value::Opaque(tlv.content),
        tag::COUNTER64 => Value::Counter64(decode_u64(tlv)?),
        tag::NO_SUCH_OBJECT => return empty(tlv, Value::NoSuchObject),
        tag::NO_SUCH_INSTANCE => return empty(tlv, Value::NoSuchInstance),
        tag::END_OF_MIB_VIEW => return empty(tlv, Value::EndOfMibView),
        other => return Err(DecodeError::new(ErrorKind::UnknownValueTag(other), tlv.offset)),
    })
}
