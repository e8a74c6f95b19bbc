//! Message authentication: HMAC-MD5-96 and HMAC-SHA-96 (RFC 3414 6 and 7) and the
//! HMAC-SHA-2 protocols of RFC 7860 (224/128, 256/192, 384/256, 512/384), over the whole
//! message with msgAuthenticationParameters zeroed.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use super::AuthProtocol;

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

/// The full HMAC of `message` under the localized authentication key.
fn full_mac(proto: AuthProtocol, key: &[u8], message: &[u8]) -> Vec<u8> {
    match proto {
        AuthProtocol::Md5 => mac::<Hmac<Md5>>(key, message),
        AuthProtocol::Sha1 => mac::<Hmac<Sha1>>(key, message),
        AuthProtocol::Sha224 => mac::<Hmac<Sha224>>(key, message),
        AuthProtocol::Sha256 => mac::<Hmac<Sha256>>(key, message),
        AuthProtocol::Sha384 => mac::<Hmac<Sha384>>(key, message),
        AuthProtocol::Sha512 => mac::<Hmac<Sha512>>(key, message),
    }
}

/// Writes the truncated HMAC of `message` (whose authentication parameters at
/// `params_at..params_at + proto.mac_len()` are zero) into those parameters.
pub fn sign(proto: AuthProtocol, key: &[u8], message: &mut [u8], params_at: usize) {
    let len = proto.mac_len();
    let digest = full_mac(proto, key, message);
    message[params_at..params_at + len].copy_from_slice(&digest[..len]);
}

/// Whether `received` is the truncated HMAC of `message` (a copy of the received message with
/// its authentication parameters zeroed). Compared in constant time.
#[must_use]
pub fn verify(proto: AuthProtocol, key: &[u8], zeroed_message: &[u8], received: &[u8]) -> bool {
    let len = proto.mac_len();
    if received.len() != len {
        return false;
    }
    let digest = full_mac(proto, key, zeroed_message);
    digest[..len].ct_eq(received).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_sha256_and_md5_rfc2104() {
        // RFC 4231 test case 2 (key "Jefe"), truncated the RFC 7860 way (24 bytes).
        let mut msg = b"what do ya want for nothing?".to_vec();
        msg.extend_from_slice(&[0; 24]);
        let at = msg.len() - 24;
        sign(AuthProtocol::Sha256, b"Jefe", &mut msg[..], at);
        // The MAC covers the message *with* the zeroed tail; recompute the RFC digest plainly.
        let plain = full_mac(AuthProtocol::Sha256, b"Jefe", b"what do ya want for nothing?");
        let hex = super::super::keys::tests::hex(&plain);
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // RFC 2104's MD5 example.
        let md5 = full_mac(AuthProtocol::Md5, b"Jefe", b"what do ya want for nothing?");
        let hex = super::super::keys::tests::hex(&md5);
        assert_eq!(hex, "750c783e6ab0b503eaa86e310a5db738");
        let mut zeroed = msg.clone();
        let got = zeroed[at..].to_vec();
        zeroed[at..].fill(0);
        assert!(verify(AuthProtocol::Sha256, b"Jefe", &zeroed, &got));
        assert!(!verify(AuthProtocol::Sha256, b"Jeff", &zeroed, &got));
        assert!(!verify(AuthProtocol::Sha256, b"Jefe", &zeroed, &got[..12]));
    }
}
