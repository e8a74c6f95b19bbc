//! Key generation: password to key (RFC 3414 A.2), key localization (RFC 3414 2.6, RFC 7860
//! 4.2.2 for SHA-2), and the key extension that AES-192/256 need when the hash is shorter than
//! the cipher key (the "Blumenthal" extension of draft-blumenthal-aes-usm-04 3.1.2.1, as
//! net-snmp 5.9's `AES-192`/`AES-256` and pysnmp's `usmAesBlumenthalCfb*Protocol` do it).

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::AuthProtocol;

/// RFC 3414 A.2: the password is repeated to one megabyte, which is hashed.
const EXPANSION_BYTES: usize = 1_048_576;

/// The shortest password RFC 3414 11.2 (and net-snmp) accept.
pub const MIN_PASSWORD_LEN: usize = 8;

fn hash_chunks<D: Digest>(chunks: &[&[u8]]) -> Vec<u8> {
    let mut d = D::new();
    for c in chunks {
        d.update(c);
    }
    d.finalize().to_vec()
}

/// `H(chunks...)` with the protocol's hash function.
#[must_use]
pub fn hash(proto: AuthProtocol, chunks: &[&[u8]]) -> Vec<u8> {
    match proto {
        AuthProtocol::Md5 => hash_chunks::<Md5>(chunks),
        AuthProtocol::Sha1 => hash_chunks::<Sha1>(chunks),
        AuthProtocol::Sha224 => hash_chunks::<Sha224>(chunks),
        AuthProtocol::Sha256 => hash_chunks::<Sha256>(chunks),
        AuthProtocol::Sha384 => hash_chunks::<Sha384>(chunks),
        AuthProtocol::Sha512 => hash_chunks::<Sha512>(chunks),
    }
}

fn expand<D: Digest>(password: &[u8]) -> Vec<u8> {
    let mut d = D::new();
    let mut block = [0u8; 64];
    let mut at = 0usize;
    for _ in 0..EXPANSION_BYTES / 64 {
        for b in &mut block {
            *b = password[at % password.len()];
            at += 1;
        }
        d.update(block);
    }
    d.finalize().to_vec()
}

/// The user's key Ku from a password (RFC 3414 A.2.1/A.2.2; the same for SHA-2, RFC 7860).
/// An empty password gives an empty key (callers refuse passwords shorter than
/// [`MIN_PASSWORD_LEN`] first).
#[must_use]
pub fn password_to_key(proto: AuthProtocol, password: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    match proto {
        AuthProtocol::Md5 => expand::<Md5>(password),
        AuthProtocol::Sha1 => expand::<Sha1>(password),
        AuthProtocol::Sha224 => expand::<Sha224>(password),
        AuthProtocol::Sha256 => expand::<Sha256>(password),
        AuthProtocol::Sha384 => expand::<Sha384>(password),
        AuthProtocol::Sha512 => expand::<Sha512>(password),
    }
}

/// The localized key Kul = H(Ku || engineID || Ku) (RFC 3414 2.6).
#[must_use]
pub fn localize(proto: AuthProtocol, ku: &[u8], engine_id: &[u8]) -> Vec<u8> {
    hash(proto, &[ku, engine_id, ku])
}

/// A localized privacy key long enough for a cipher that needs `len` bytes: Kul, then
/// Kul || H(Kul), ... (Blumenthal), truncated to `len`.
#[must_use]
pub fn extend(proto: AuthProtocol, mut kul: Vec<u8>, len: usize) -> Vec<u8> {
    while kul.len() < len && !kul.is_empty() {
        let more = hash(proto, &[&kul]);
        kul.extend_from_slice(&more);
    }
    kul.truncate(len);
    kul
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn hex(b: &[u8]) -> String {
        b.iter().fold(String::new(), |mut s, x| {
            use std::fmt::Write;
            let _ = write!(s, "{x:02x}");
            s
        })
    }

    const ENGINE: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    /// RFC 3414 A.3.1: "maplesyrup", MD5.
    #[test]
    fn rfc3414_a3_1_md5() {
        let ku = password_to_key(AuthProtocol::Md5, b"maplesyrup");
        assert_eq!(hex(&ku), "9faf3283884e92834ebc9847d8edd963");
        let kul = localize(AuthProtocol::Md5, &ku, &ENGINE);
        assert_eq!(hex(&kul), "526f5eed9fcce26f8964c2930787d82b");
    }

    /// RFC 3414 A.3.2: "maplesyrup", SHA-1.
    #[test]
    fn rfc3414_a3_2_sha1() {
        let ku = password_to_key(AuthProtocol::Sha1, b"maplesyrup");
        assert_eq!(hex(&ku), "9fb5cc0381497b3793528939ff788d5d79145211");
        let kul = localize(AuthProtocol::Sha1, &ku, &ENGINE);
        assert_eq!(hex(&kul), "6695febc9288e36282235fc7151f128497b38f3f");
    }

    #[test]
    fn extension_is_kul_then_its_hash() {
        let kul = localize(AuthProtocol::Sha1, &password_to_key(AuthProtocol::Sha1, b"maplesyrup"), &ENGINE);
        let long = extend(AuthProtocol::Sha1, kul.clone(), 32);
        assert_eq!(long.len(), 32);
        assert_eq!(&long[..20], &kul[..]);
        assert_eq!(&long[20..], &hash(AuthProtocol::Sha1, &[&kul])[..12]);
        assert_eq!(extend(AuthProtocol::Sha256, kul.clone(), 16), kul[..16]);
    }
}
