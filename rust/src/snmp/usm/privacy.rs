//! Privacy: DES-CBC (RFC 3414 8) and AES-CFB128 (RFC 3826; 192 and 256-bit keys as
//! draft-blumenthal-aes-usm-04), with the salts those RFCs define.

use aes::{Aes128, Aes192, Aes256};
use cipher::block_padding::NoPadding;
use cipher::{AsyncStreamCipher, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

use super::PrivProtocol;

/// Why a scopedPDU cannot be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// msgPrivacyParameters is not the 8-byte salt.
    BadSalt(usize),
    /// DES ciphertext that is not a whole number of 8-byte blocks.
    NotBlockAligned(usize),
}

/// The key and pre-IV a protocol takes from its localized (and extended) privacy key.
fn key_iv(proto: PrivProtocol, key: &[u8]) -> (&[u8], &[u8]) {
    match proto {
        // RFC 3414 8.1.1.1: DES key = first 8 bytes, pre-IV = bytes 8..16.
        PrivProtocol::Des => (&key[..8], &key[8..16]),
        _ => (&key[..proto.key_len()], &[]),
    }
}

fn aes_iv(boots: u32, time: u32, salt: [u8; 8]) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..4].copy_from_slice(&boots.to_be_bytes());
    iv[4..8].copy_from_slice(&time.to_be_bytes());
    iv[8..].copy_from_slice(&salt);
    iv
}

fn des_iv(pre_iv: &[u8], salt: [u8; 8]) -> [u8; 8] {
    let mut iv = [0u8; 8];
    for (i, b) in iv.iter_mut().enumerate() {
        *b = pre_iv[i] ^ salt[i];
    }
    iv
}

/// The 8-byte salt for message number `counter` (DES: boots || counter; AES: the counter).
#[must_use]
pub fn salt(proto: PrivProtocol, boots: u32, counter: u64) -> [u8; 8] {
    match proto {
        PrivProtocol::Des => {
            let mut s = [0u8; 8];
            s[..4].copy_from_slice(&boots.to_be_bytes());
            s[4..].copy_from_slice(&(counter as u32).to_be_bytes());
            s
        }
        _ => counter.to_be_bytes(),
    }
}

/// Encrypts `plain` (a BER scopedPDU). `key` is the localized privacy key, at least
/// `proto.key_len()` bytes (16 for DES). DES pads to whole blocks, as RFC 3414 8.1.1.2 allows.
///
/// # Panics
/// If `key` is shorter than `proto.key_len()` ([`super::LocalKeys`] never is).
#[must_use]
pub fn encrypt(
    proto: PrivProtocol,
    key: &[u8],
    boots: u32,
    time: u32,
    salt: &[u8; 8],
    plain: &[u8],
) -> Vec<u8> {
    let (k, pre_iv) = key_iv(proto, key);
    let mut buf = plain.to_vec();
    match proto {
        PrivProtocol::Des => {
            let padded = plain.len().div_ceil(8) * 8;
            buf.resize(padded, 0);
            let iv = des_iv(pre_iv, *salt);
            let enc = cbc::Encryptor::<des::Des>::new_from_slices(k, &iv).expect("DES key is 8 bytes");
            let n = buf.len();
            enc.encrypt_padded_mut::<NoPadding>(&mut buf, n).expect("the buffer is block aligned");
        }
        PrivProtocol::Aes128 => cfb::<Aes128>(k, &aes_iv(boots, time, *salt), &mut buf, true),
        PrivProtocol::Aes192 => cfb::<Aes192>(k, &aes_iv(boots, time, *salt), &mut buf, true),
        PrivProtocol::Aes256 => cfb::<Aes256>(k, &aes_iv(boots, time, *salt), &mut buf, true),
    }
    buf
}

fn cfb<C>(key: &[u8], iv: &[u8; 16], buf: &mut [u8], encrypt: bool)
where
    C: cipher::BlockEncryptMut + cipher::BlockCipher + cipher::KeyInit,
{
    if encrypt {
        let c = cfb_mode::Encryptor::<C>::new_from_slices(key, iv).expect("AES key of the cipher's size");
        c.encrypt(buf);
    } else {
        let c = cfb_mode::Decryptor::<C>::new_from_slices(key, iv).expect("AES key of the cipher's size");
        c.decrypt(buf);
    }
}

/// Decrypts an encryptedPDU; the result still has to decode (a wrong key gives garbage, which
/// the caller's decoder rejects: RFC 3414's decryptionError).
///
/// # Panics
/// If `key` is shorter than `proto.key_len()` ([`super::LocalKeys`] never is); never on the
/// received bytes.
pub fn decrypt(
    proto: PrivProtocol,
    key: &[u8],
    boots: u32,
    time: u32,
    params: &[u8],
    cipher_text: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let salt: &[u8; 8] = params.try_into().map_err(|_| DecryptError::BadSalt(params.len()))?;
    let (k, pre_iv) = key_iv(proto, key);
    let mut buf = cipher_text.to_vec();
    match proto {
        PrivProtocol::Des => {
            if buf.len() % 8 != 0 {
                return Err(DecryptError::NotBlockAligned(buf.len()));
            }
            let iv = des_iv(pre_iv, *salt);
            let dec = cbc::Decryptor::<des::Des>::new_from_slices(k, &iv).expect("DES key is 8 bytes");
            dec.decrypt_padded_mut::<NoPadding>(&mut buf).expect("the buffer is block aligned");
        }
        PrivProtocol::Aes128 => cfb::<Aes128>(k, &aes_iv(boots, time, *salt), &mut buf, false),
        PrivProtocol::Aes192 => cfb::<Aes192>(k, &aes_iv(boots, time, *salt), &mut buf, false),
        PrivProtocol::Aes256 => cfb::<Aes256>(k, &aes_iv(boots, time, *salt), &mut buf, false),
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_protocol() {
        let key: Vec<u8> = (0u8..32).collect();
        let plain: Vec<u8> = (0u8..=100).collect();
        for proto in [PrivProtocol::Des, PrivProtocol::Aes128, PrivProtocol::Aes192, PrivProtocol::Aes256] {
            let s = salt(proto, 7, 42);
            let c = encrypt(proto, &key, 7, 1234, &s, &plain);
            assert_ne!(&c[..plain.len()], &plain[..]);
            let p = decrypt(proto, &key, 7, 1234, &s, &c).unwrap();
            assert_eq!(&p[..plain.len()], &plain[..], "{proto:?}");
            // Another time gives another AES IV; DES's IV ignores it.
            let other = decrypt(proto, &key, 7, 1235, &s, &c).unwrap();
            assert_eq!(other[..plain.len()] == plain[..], proto == PrivProtocol::Des);
        }
        assert_eq!(
            decrypt(PrivProtocol::Des, &key, 0, 0, &[0; 8], &[0; 9]),
            Err(DecryptError::NotBlockAligned(9))
        );
        assert_eq!(
            decrypt(PrivProtocol::Aes128, &key, 0, 0, &[0; 7], &[0; 9]),
            Err(DecryptError::BadSalt(7))
        );
    }

    /// FIPS 81 / NIST SP 800-38A F.3.13 (CFB128-AES128 encrypt, first block).
    #[test]
    fn aes_cfb128_nist_vector() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        let mut buf = hex("6bc1bee22e409f96e93d7e117393172a");
        cfb::<Aes128>(&key, &iv.clone().try_into().unwrap(), &mut buf, true);
        assert_eq!(buf, hex("3b3fd92eb72dad20333449f8e83cfb4a"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
