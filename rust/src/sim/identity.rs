//! Per-printer identity: serial numbers, MAC addresses and sysNames derived from a printer's
//! address and the fleet's seed, shaped like the recorded ones.
//!
//! Every function is a pure function of (recorded value, address, seed), so a printer keeps its
//! identity across restarts, and nothing is stored per printer. Distinct addresses get distinct
//! values whenever the recorded value leaves room for 2^24 of them (a whole /8): the varying part
//! is `(address * P + offset) mod capacity` with `P` a prime that shares no factor with the
//! capacity (whose factors are only 2, 3, 5 and 13), a bijection on `0..capacity`.

use crate::mix::hash;

/// A prime coprime with every capacity below (products of 10, 26 and 2^24).
const SPREAD: u64 = 1_000_003;
/// The variable part of a serial or name is made this large when the value allows it.
const WANT_CAPACITY: u64 = 1 << 32;

/// A hash of a byte string (to key offsets by the recorded value).
fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The radix of a character's class: digits, upper-case or lower-case letters; 0 for the others,
/// which are kept as recorded.
fn radix(c: u8) -> u64 {
    match c {
        b'0'..=b'9' => 10,
        b'A'..=b'Z' | b'a'..=b'z' => 26,
        _ => 0,
    }
}

fn digit(class_of: u8, d: u64) -> u8 {
    let d = d as u8;
    match class_of {
        b'0'..=b'9' => b'0' + d,
        b'A'..=b'Z' => b'A' + d,
        _ => b'a' + d,
    }
}

/// `original` with its rightmost letters and digits replaced (each by one of its own class) so
/// that distinct addresses give distinct results, as far as `original` has room; the length, the
/// punctuation and the leftmost characters (often a model prefix) are kept. Returns the result
/// and its capacity (how many distinct values the replaced positions can take).
#[must_use]
pub fn reshape(original: &[u8], address: u32, seed: u64, salt: u64) -> (Vec<u8>, u64) {
    let mut out = original.to_vec();
    let capacity = reshape_into(original, address, seed, salt, &mut out);
    (out, capacity)
}

/// [`reshape`] written into `out` (as long as `original`, and holding a copy of it), without
/// allocating: the simulator answers from a buffer on the stack. Returns the capacity.
pub fn reshape_into(original: &[u8], address: u32, seed: u64, salt: u64, out: &mut [u8]) -> u64 {
    // The characters replaced: the rightmost letters and digits, until there is room enough.
    let mut capacity = 1u64;
    let mut scanned = 0;
    for &c in original.iter().rev() {
        if capacity >= WANT_CAPACITY {
            break;
        }
        capacity *= radix(c).max(1);
        scanned += 1;
    }
    if capacity == 1 {
        return 1;
    }
    let offset = hash(&[seed, salt, hash_bytes(original)]) % capacity;
    // Capacities stay below 2^37, so this fits 64 bits (a 128-bit remainder costs far more).
    let mut v = match u64::from(address).checked_mul(SPREAD).and_then(|x| x.checked_add(offset)) {
        Some(spread) => spread % capacity,
        None => {
            ((u128::from(address) * u128::from(SPREAD) + u128::from(offset)) % u128::from(capacity)) as u64
        }
    };
    for (o, &c) in out.iter_mut().zip(original).rev().take(scanned) {
        // Divisions by the constant radixes compile to multiplications: a division by a
        // variable is most of this function's time otherwise.
        let (d, rest) = match radix(c) {
            10 => (v % 10, v / 10),
            26 => (v % 26, v / 26),
            _ => continue,
        };
        *o = digit(c, d);
        v = rest;
    }
    capacity
}

/// The serial number printer `address` answers instead of `recorded`.
#[must_use]
pub fn serial(recorded: &[u8], address: u32, seed: u64) -> Vec<u8> {
    reshape(recorded, address, seed, 1).0
}

/// The MAC address instead of `recorded`: the vendor's OUI (first three octets) kept, the other
/// three a bijection of the address (and of the recorded ones, so several interfaces differ).
#[must_use]
pub fn mac(recorded: [u8; 6], address: u32, seed: u64) -> [u8; 6] {
    const MASK: u64 = (1 << 24) - 1;
    let low = u64::from(u32::from_be_bytes([0, recorded[3], recorded[4], recorded[5]]));
    let offset = hash(&[seed, 2]) & MASK;
    let v = (u64::from(address) * SPREAD + low + offset) & MASK;
    let b = (v as u32).to_be_bytes();
    [recorded[0], recorded[1], recorded[2], b[1], b[2], b[3]]
}

/// The sysName instead of `recorded`: reshaped when it looks like a host name with room for a
/// whole /8 of variants, else (an anonymized `<private>`, an empty or a short name) `NPI` and six
/// hex digits of `mac` (or of the address), as HP printers name themselves.
#[must_use]
pub fn sys_name(recorded: &[u8], mac: Option<[u8; 6]>, address: u32, seed: u64) -> Vec<u8> {
    let mut out = recorded.to_vec();
    out.resize(recorded.len().max(NPI_LEN), 0);
    let len = sys_name_into(recorded, mac, address, seed, &mut out);
    out.truncate(len);
    out
}

/// The length of an `NPI` name: `NPI` and six hex digits.
pub const NPI_LEN: usize = 9;

/// [`sys_name`] written into `out` (at least as long as `recorded` and [`NPI_LEN`], holding a
/// copy of `recorded` in front), without allocating; returns its length.
pub fn sys_name_into(
    recorded: &[u8],
    mac: Option<[u8; 6]>,
    address: u32,
    seed: u64,
    out: &mut [u8],
) -> usize {
    let host_like = !recorded.is_empty()
        && recorded.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if host_like && reshape_into(recorded, address, seed, 3, &mut out[..recorded.len()]) >= 1 << 24 {
        return recorded.len();
    }
    let tail = match mac {
        Some(m) => u32::from_be_bytes([0, m[3], m[4], m[5]]),
        None => (hash(&[seed, 3]) as u32).wrapping_add(address) & 0x00ff_ffff,
    };
    out[..3].copy_from_slice(b"NPI");
    for (k, o) in out[3..NPI_LEN].iter_mut().enumerate() {
        *o = b"0123456789ABCDEF"[(tail >> (20 - 4 * k) & 0xf) as usize];
    }
    NPI_LEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const BASE: u32 = 0x7f14_0001; // 127.20.0.1

    #[test]
    fn serials_keep_their_shape_and_differ_per_address() {
        for recorded in ["MKRA012345", "7XQ1R92-132-13", "W492KB03439", "6509415X00", "AA2M021115700"] {
            let mut seen = HashSet::new();
            for i in 0..20_000 {
                let s = serial(recorded.as_bytes(), BASE + i, 0);
                assert_eq!(s.len(), recorded.len());
                for (a, b) in s.iter().zip(recorded.as_bytes()) {
                    assert_eq!(radix(*a), radix(*b), "{recorded} -> {}", String::from_utf8_lossy(&s));
                    if radix(*b) == 0 {
                        assert_eq!(a, b);
                    }
                    assert_eq!(a.is_ascii_uppercase(), b.is_ascii_uppercase());
                }
                assert!(seen.insert(s), "{recorded}: a repeated serial at printer {i}");
            }
            // Stable for an address, different for another seed.
            assert_eq!(serial(recorded.as_bytes(), BASE, 0), serial(recorded.as_bytes(), BASE, 0));
            assert_ne!(serial(recorded.as_bytes(), BASE, 0), serial(recorded.as_bytes(), BASE, 1));
        }
        // The leftmost characters of a long serial (a model prefix) are kept.
        assert!(serial(b"AA2M021115700", BASE, 5).starts_with(b"AA2"));
        assert_eq!(reshape(b"--", BASE, 0, 1), (b"--".to_vec(), 1));
    }

    #[test]
    fn macs_keep_the_oui_and_differ_per_address() {
        let recorded = [0x3c, 0x2a, 0xf4, 0xbf, 0xf5, 0x1b];
        let mut seen = HashSet::new();
        for i in 0..50_000 {
            let m = mac(recorded, BASE + i, 9);
            assert_eq!(m[..3], recorded[..3]);
            assert!(seen.insert(m));
        }
        let other = [0x3c, 0x2a, 0xf4, 0xbf, 0xf5, 0x1c];
        assert_ne!(mac(recorded, BASE, 9), mac(other, BASE, 9));
    }

    #[test]
    fn sys_names() {
        let a = sys_name(b"<private>", Some([0, 1, 2, 0xab, 0xcd, 0xef]), BASE, 0);
        assert_eq!(a, b"NPIABCDEF");
        let b = sys_name(b"", None, BASE, 0);
        assert!(b.starts_with(b"NPI") && b.len() == 9);
        assert_ne!(b, sys_name(b"", None, BASE + 1, 0));
        let host = sys_name(b"printer-floor2-west", None, BASE, 0);
        assert_eq!(host.len(), b"printer-floor2-west".len());
        assert!(host.starts_with(b"printer-"));
        assert_ne!(host, sys_name(b"printer-floor2-west", None, BASE + 1, 0));
    }
}
