use crate::ber::reader::decode_i64;
use crate::ber::{tag, DecodeError, ErrorKind, Reader, Writer};
use crate::snmp::decode::standard_pdu;
use crate::snmp::encode::{check_pdu, pdu_body};
use crate::snmp::{EncodeError, PduType};

use super::{Header, ScopedPdu, UsmParams, V3Message, USM};

type Result<T> = std::result::Result<T, DecodeError>;

/// The version field of any SNMP message (0, 1 or 3), without decoding the rest.
pub fn message_version(data: &[u8]) -> Result<i64> {
    let mut r = Reader::new(data).sequence(tag::SEQUENCE)?;
    decode_i64(&r.expect(tag::INTEGER)?)
}

fn bounded(r: &mut Reader<'_>, max: i64, field: &'static str) -> Result<i64> {
    let tlv = r.expect(tag::INTEGER)?;
    match decode_i64(&tlv)? {
        v if (0..=max).contains(&v) => Ok(v),
        _ => Err(DecodeError::new(ErrorKind::FieldOutOfRange(field), tlv.content_offset)),
    }
}

const I31: i64 = 2_147_483_647;

/// Decodes an SNMPv3 message's header and USM parameters; the scopedPDU stays bytes.
///
/// It never panics: everything is bounded like the v1/v2c decoder, and a security model other
/// than USM, a msgFlags that is not one octet or priv without auth are errors.
pub fn decode(data: &[u8]) -> Result<V3Message<'_>> {
    let mut outer = Reader::new(data);
    let mut r = outer.sequence(tag::SEQUENCE)?;
    outer.finish()?;
    let version_tlv = r.expect(tag::INTEGER)?;
    match decode_i64(&version_tlv)? {
        3 => {}
        v => return Err(DecodeError::new(ErrorKind::UnsupportedVersion(v), version_tlv.content_offset)),
    }
    let mut g = r.sequence(tag::SEQUENCE)?;
    let msg_id = bounded(&mut g, I31, "msgID")? as i32;
    let max_size = bounded(&mut g, I31, "msgMaxSize")? as i32;
    let flags_tlv = g.expect(tag::OCTET_STRING)?;
    let &[flags] = flags_tlv.content else {
        return Err(DecodeError::new(ErrorKind::FieldOutOfRange("msgFlags"), flags_tlv.offset));
    };
    if flags & 3 == 2 {
        return Err(DecodeError::new(ErrorKind::FieldOutOfRange("msgFlags"), flags_tlv.content_offset));
    }
    let model_at = g.offset();
    let security_model = bounded(&mut g, I31, "msgSecurityModel")? as i32;
    g.finish()?;
    if security_model != USM {
        return Err(DecodeError::new(ErrorKind::FieldOutOfRange("msgSecurityModel"), model_at));
    }
    let sp_tlv = r.expect(tag::OCTET_STRING)?;
    let mut sp_outer = Reader::within(data, &sp_tlv);
    let mut sp = sp_outer.sequence(tag::SEQUENCE)?;
    sp_outer.finish()?;
    let engine_id = sp.expect(tag::OCTET_STRING)?.content;
    let boots = bounded(&mut sp, I31, "msgAuthoritativeEngineBoots")? as u32;
    let time = bounded(&mut sp, I31, "msgAuthoritativeEngineTime")? as u32;
    let user = sp.expect(tag::OCTET_STRING)?.content;
    let auth_tlv = sp.expect(tag::OCTET_STRING)?;
    let priv_params = sp.expect(tag::OCTET_STRING)?.content;
    sp.finish()?;
    if engine_id.len() > 32 || user.len() > 32 {
        return Err(DecodeError::new(
            ErrorKind::FieldOutOfRange("USM engine ID or user name"),
            sp_tlv.offset,
        ));
    }
    let scoped = if flags & 2 != 0 {
        r.expect(tag::OCTET_STRING)?.content
    } else {
        let at = r.offset();
        let t = r.expect(tag::SEQUENCE)?;
        &data[at..t.content_offset + t.content.len()]
    };
    r.finish()?;
    Ok(V3Message {
        header: Header { msg_id, max_size, flags, security_model },
        usm: UsmParams { engine_id, boots, time, user, auth_params: auth_tlv.content, priv_params },
        auth_params_at: auth_tlv.content_offset,
        scoped,
    })
}

/// Decodes a plaintext scopedPDU. With `padded` (a decrypted one), bytes after it are allowed:
/// DES pads to whole blocks (RFC 3414 8.3.2).
pub fn decode_scoped_pdu(data: &[u8], padded: bool) -> Result<ScopedPdu<'_>> {
    let mut outer = Reader::new(data);
    let mut r = outer.sequence(tag::SEQUENCE)?;
    if !padded {
        outer.finish()?;
    }
    let context_engine_id = r.expect(tag::OCTET_STRING)?.content;
    let context_name = r.expect(tag::OCTET_STRING)?.content;
    let pdu_offset = r.offset();
    let pdu_tag = r.peek_tag()?;
    let Some(pdu_type) = PduType::from_tag(pdu_tag) else {
        return Err(DecodeError::new(ErrorKind::UnknownPduTag(pdu_tag), pdu_offset));
    };
    let mut body = r.sequence(pdu_tag)?;
    r.finish()?;
    let pdu = standard_pdu(&mut body, pdu_type)?;
    body.finish()?;
    Ok(ScopedPdu { context_engine_id, context_name, pdu })
}

/// Appends a plaintext scopedPDU to `out`.
pub fn encode_scoped_pdu(scoped: &ScopedPdu<'_>, out: &mut Vec<u8>) -> std::result::Result<(), EncodeError> {
    check_pdu(&scoped.pdu, true)?;
    Writer::new(out).constructed(tag::SEQUENCE, |w| {
        w.bytes(tag::OCTET_STRING, scoped.context_engine_id);
        w.bytes(tag::OCTET_STRING, scoped.context_name);
        w.constructed(scoped.pdu.pdu_type.tag(), |w| pdu_body(w, &scoped.pdu));
    });
    Ok(())
}

/// Appends an SNMPv3 message to `out`: `header`, `usm` (whose `auth_params` should be the
/// zeros a digest will replace), and `scoped` — the encoded scopedPDU, or with the priv flag
/// the encryptedPDU's content. Returns the offset of `auth_params` from the start of the
/// message (for [`super::secure`] to sign in place).
pub fn encode(header: &Header, usm: &UsmParams<'_>, scoped: &[u8], out: &mut Vec<u8>) -> Result<usize> {
    let start = out.len();
    Writer::new(out).constructed(tag::SEQUENCE, |w| {
        w.signed(tag::INTEGER, 3);
        w.constructed(tag::SEQUENCE, |w| {
            w.signed(tag::INTEGER, i64::from(header.msg_id));
            w.signed(tag::INTEGER, i64::from(header.max_size));
            w.bytes(tag::OCTET_STRING, &[header.flags]);
            w.signed(tag::INTEGER, i64::from(header.security_model));
        });
        w.constructed(tag::OCTET_STRING, |w| {
            w.constructed(tag::SEQUENCE, |w| {
                w.bytes(tag::OCTET_STRING, usm.engine_id);
                w.unsigned(tag::INTEGER, u64::from(usm.boots));
                w.unsigned(tag::INTEGER, u64::from(usm.time));
                w.bytes(tag::OCTET_STRING, usm.user);
                w.bytes(tag::OCTET_STRING, usm.auth_params);
                w.bytes(tag::OCTET_STRING, usm.priv_params);
            });
        });
        if header.flags & super::flags::PRIV != 0 {
            w.bytes(tag::OCTET_STRING, scoped);
        } else {
            w.raw(scoped);
        }
    });
    // The writer may have moved the body to make room for long lengths: find the parameters in
    // what was written.
    decode(&out[start..]).map(|m| m.auth_params_at)
}
