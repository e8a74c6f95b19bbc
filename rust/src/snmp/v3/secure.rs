//! USM message processing (RFC 3414 3.1 and 3.2): building authenticated, encrypted
//! messages, and checking and decrypting received ones, with a user's localized keys.

use std::borrow::Cow;
use std::fmt;

use crate::ber::DecodeError;
use crate::snmp::usm::{auth, privacy, LocalKeys};
use crate::snmp::EncodeError;

use super::{encode, encode_scoped_pdu, flags, Header, ScopedPdu, UsmParams, V3Message, USM};

/// The security side of one message: whose, for which engine, at what time, with which keys.
#[derive(Debug, Clone, Copy)]
pub struct Security<'a> {
    pub user: &'a [u8],
    pub engine_id: &'a [u8],
    pub boots: u32,
    pub time: u32,
    /// `None` (or keys without auth): noAuthNoPriv. Auth keys: authNoPriv; both: authPriv.
    pub keys: Option<&'a LocalKeys>,
}

/// Why a received message is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwrapError {
    /// The digest does not match (RFC 3414 3.2.6: usmStatsWrongDigests).
    WrongDigest,
    /// The message is authenticated or encrypted and there are no keys for it, or it asks for
    /// privacy without authentication (usmStatsUnsupportedSecLevels).
    UnsupportedSecLevel,
    /// The encryptedPDU cannot be decrypted (usmStatsDecryptionErrors).
    DecryptionError,
}

impl fmt::Display for UnwrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongDigest => "wrong digest",
            Self::UnsupportedSecLevel => "unsupported security level",
            Self::DecryptionError => "cannot decrypt",
        })
    }
}

/// Appends a message carrying `scoped` to `out`, signed and encrypted as `sec.keys` allow.
/// `salt` numbers the message for the privacy protocol (each must differ: a counter).
/// `reportable` sets the flag that asks the agent for a report on failure (requests).
#[allow(clippy::too_many_arguments)]
pub fn wrap(
    out: &mut Vec<u8>,
    msg_id: i32,
    max_size: i32,
    reportable: bool,
    sec: &Security<'_>,
    scoped: &ScopedPdu<'_>,
    salt: u64,
) -> Result<(), EncodeError> {
    let mut plain = Vec::with_capacity(256);
    encode_scoped_pdu(scoped, &mut plain)?;
    let auth_keys = sec.keys.and_then(|k| k.auth.as_ref());
    let priv_keys = sec.keys.and_then(|k| k.privacy.as_ref()).filter(|_| auth_keys.is_some());
    let mut msg_flags = if reportable { flags::REPORTABLE } else { 0 };
    let zeros = [0u8; 48];
    let auth_params: &[u8] = match auth_keys {
        Some((proto, _)) => {
            msg_flags |= flags::AUTH;
            &zeros[..proto.mac_len()]
        }
        None => &[],
    };
    let (body, salt_bytes) = match priv_keys {
        Some((proto, key)) => {
            msg_flags |= flags::PRIV;
            let s = privacy::salt(*proto, sec.boots, salt);
            (privacy::encrypt(*proto, key, sec.boots, sec.time, &s, &plain), Some(s))
        }
        None => (plain, None),
    };
    let header = Header { msg_id, max_size, flags: msg_flags, security_model: USM };
    let usm = UsmParams {
        engine_id: sec.engine_id,
        boots: sec.boots,
        time: sec.time,
        user: sec.user,
        auth_params,
        priv_params: salt_bytes.as_ref().map_or(&[][..], |s| &s[..]),
    };
    let start = out.len();
    // Our own encoding decodes; if it did not, nothing half-signed is left behind.
    let Ok(at) = encode(&header, &usm, &body, out) else {
        out.truncate(start);
        return Err(EncodeError::FieldOutOfRange("SNMPv3 message"));
    };
    if let Some((proto, key)) = auth_keys {
        auth::sign(*proto, key, &mut out[start..], at);
    }
    Ok(())
}

/// Checks the digest of `data` (the datagram `msg` was decoded from) with `keys`.
pub fn authenticate(data: &[u8], msg: &V3Message<'_>, keys: &LocalKeys) -> Result<(), UnwrapError> {
    let Some((proto, key)) = &keys.auth else {
        return Err(UnwrapError::UnsupportedSecLevel);
    };
    let received = msg.usm.auth_params;
    if received.len() != proto.mac_len() {
        return Err(UnwrapError::WrongDigest);
    }
    let mut zeroed = data.to_vec();
    zeroed[msg.auth_params_at..msg.auth_params_at + received.len()].fill(0);
    if auth::verify(*proto, key, &zeroed, received) {
        Ok(())
    } else {
        Err(UnwrapError::WrongDigest)
    }
}

/// The scopedPDU's plaintext: borrowed when the message was not encrypted, else decrypted with
/// `keys` (then it may carry DES padding: decode it with `padded`).
pub fn plaintext<'a>(msg: &V3Message<'a>, keys: Option<&LocalKeys>) -> Result<Cow<'a, [u8]>, UnwrapError> {
    if !msg.is_encrypted() {
        return Ok(Cow::Borrowed(msg.scoped));
    }
    let Some((proto, key)) = keys.and_then(|k| k.privacy.as_ref()) else {
        return Err(UnwrapError::UnsupportedSecLevel);
    };
    let usm = &msg.usm;
    privacy::decrypt(*proto, key, usm.boots, usm.time, usm.priv_params, msg.scoped)
        .map(Cow::Owned)
        .map_err(|_| UnwrapError::DecryptionError)
}

/// Decodes the plaintext of an encrypted or plain scopedPDU (a decode error after decryption is
/// a decryption error: a wrong key gives garbage).
pub fn open_scoped(plain: &[u8], was_encrypted: bool) -> Result<ScopedPdu<'_>, OpenError> {
    super::decode_scoped_pdu(plain, was_encrypted).map_err(|e| {
        if was_encrypted {
            OpenError::Decryption
        } else {
            OpenError::Decode(e)
        }
    })
}

/// Why a scopedPDU's plaintext did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// It was decrypted into garbage: the privacy key is wrong.
    Decryption,
    /// A plaintext scopedPDU that is malformed.
    Decode(DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::usm::{AuthProtocol, Credentials, PrivProtocol};
    use crate::snmp::v3::decode;
    use crate::snmp::{OidBuf, PduType, StandardPdu, Value, VarBind};

    fn scoped(oid: &OidBuf) -> ScopedPdu<'_> {
        ScopedPdu {
            context_engine_id: b"\x80\x00\x1f\x88\x04engine",
            context_name: b"",
            pdu: StandardPdu {
                pdu_type: PduType::Get,
                request_id: 77,
                error_status: 0,
                error_index: 0,
                varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::Null }],
            },
        }
    }

    #[test]
    fn every_level_and_protocol_round_trips() {
        let oid = OidBuf::parse("1.3.6.1.2.1.1.5.0").unwrap();
        let engine = b"\x80\x00\x1f\x88\x04engine";
        let mut cases: Vec<Option<(AuthProtocol, Option<PrivProtocol>)>> = vec![None];
        for a in AuthProtocol::ALL {
            cases.push(Some((a, None)));
            for p in PrivProtocol::ALL {
                cases.push(Some((a, Some(p))));
            }
        }
        for case in cases {
            let creds = Credentials::new(
                b"alice",
                case.map(|(a, _)| (a, &b"authpass1"[..])),
                case.and_then(|(_, p)| p).map(|p| (p, &b"privpass1"[..])),
                b"",
            )
            .unwrap();
            let keys = creds.localize(engine);
            let sec = Security { user: b"alice", engine_id: engine, boots: 3, time: 1000, keys: Some(&keys) };
            let mut out = Vec::new();
            wrap(&mut out, 5, 65507, true, &sec, &scoped(&oid), 9).unwrap();
            let msg = decode(&out).unwrap();
            assert_eq!(msg.header.msg_id, 5);
            assert_eq!(msg.header.flags & 3, creds.level().flags(), "{case:?}");
            if msg.is_authenticated() {
                authenticate(&out, &msg, &keys).unwrap();
                let mut tampered = out.clone();
                let last = tampered.len() - 1;
                tampered[last] ^= 1;
                let m2 = decode(&tampered).unwrap();
                assert_eq!(authenticate(&tampered, &m2, &keys), Err(UnwrapError::WrongDigest));
                let other = Credentials::new(b"alice", case.map(|(a, _)| (a, &b"authpass2"[..])), None, b"")
                    .unwrap()
                    .localize(engine);
                assert_eq!(authenticate(&out, &msg, &other), Err(UnwrapError::WrongDigest));
            }
            let plain = plaintext(&msg, Some(&keys)).unwrap();
            let sp = open_scoped(&plain, msg.is_encrypted()).unwrap();
            assert_eq!(sp, scoped(&oid), "{case:?}");
            if msg.is_encrypted() {
                let wrong = Credentials::new(
                    b"alice",
                    case.map(|(a, _)| (a, &b"authpass1"[..])),
                    case.and_then(|(_, p)| p).map(|p| (p, &b"privpass2"[..])),
                    b"",
                )
                .unwrap()
                .localize(engine);
                let garbage = plaintext(&msg, Some(&wrong)).unwrap();
                assert!(
                    open_scoped(&garbage, true).is_err()
                        || open_scoped(&garbage, true).unwrap() != scoped(&oid)
                );
            }
        }
    }
}
