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

fn digit(class_of: u8, d: u8) -> u8 {
    match class_of {
        b'0'..=b'9' => b'0' + d,
        b'A'..=b'Z' => b'A' + d,
        _ => b'a' + d,
    }
}

/// What reshaping a recorded value takes that depends neither on the printer nor on the seed:
/// how many of its rightmost characters vary, how many values they can take, and the value's
/// hash. Made once per recorded value (see [`Plan`]), so an answer costs the digit loop and one
/// remainder by a precomputed reciprocal instead of a hash of the bytes and two divisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The replaced characters, rightmost first: `varying` of them.
    digits: [Digit; MAX_VARYING],
    varying: usize,
    capacity: u64,
    key: u64,
    /// `2^128 / capacity` rounded up, for [`Shape::rem`] (Lemire, Kaser and Kurz, "Faster
    /// remainder by direct computation", 2019); 0 when the capacity is 1.
    reciprocal: u128,
}

/// At most this many characters vary: each multiplies the capacity by 10 or more, and the
/// scan stops at 2^32 < 10^10.
const MAX_VARYING: usize = 10;

/// One replaced character: where it is, its class's first character and radix, and
/// `2^64 / radix` rounded up (the quotient of a value below 2^38 by the radix is its product by
/// this, shifted right by 64: exact, and without a branch on the class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Digit {
    at: usize,
    first: u8,
    radix: u64,
    inverse: u64,
}

impl Shape {
    /// The shape of `original`.
    #[must_use]
    pub fn of(original: &[u8]) -> Self {
        // The characters replaced: the rightmost letters and digits, until there is room enough.
        let mut capacity = 1u64;
        let mut digits = [Digit::default(); MAX_VARYING];
        let mut varying = 0;
        for (at, &c) in original.iter().enumerate().rev() {
            if capacity >= WANT_CAPACITY {
                break;
            }
            let radix = radix(c);
            if radix > 0 {
                let first = digit(c, 0);
                digits[varying] = Digit { at, first, radix, inverse: u64::MAX / radix + 1 };
                varying += 1;
                capacity *= radix;
            }
        }
        let reciprocal = if capacity > 1 { u128::MAX / u128::from(capacity) + 1 } else { 0 };
        Self { digits, varying, capacity, key: hash_bytes(original), reciprocal }
    }

    /// How many distinct values the replaced positions can take (1: nothing is replaced).
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The offset of every address's value for `seed` and `salt` (0 when nothing varies).
    #[must_use]
    pub fn offset(&self, seed: u64, salt: u64) -> u64 {
        if self.capacity == 1 {
            return 0;
        }
        hash(&[seed, salt, self.key]) % self.capacity
    }

    /// `n % capacity` without a division: exact for every 64-bit `n` and capacity above 1.
    fn rem(&self, n: u64) -> u64 {
        let low = self.reciprocal.wrapping_mul(u128::from(n));
        let capacity = u128::from(self.capacity);
        let bottom = ((low & u128::from(u64::MAX)) * capacity) >> 64;
        ((bottom + (low >> 64) * capacity) >> 64) as u64
    }

    /// Writes `original` (of this shape) reshaped for `address` into `out` (as long as
    /// `original`, holding a copy of it), `offset` being [`Shape::offset`] for the seed.
    pub fn write(&self, original: &[u8], address: u32, offset: u64, out: &mut [u8]) {
        debug_assert_eq!(original.len(), out.len());
        if self.capacity == 1 {
            return;
        }
        // Below 2^32 * SPREAD + 2^37 < 2^53: no overflow; the remainder is below 2^37.
        let mut v = self.rem(u64::from(address) * SPREAD + offset);
        for d in &self.digits[..self.varying] {
            let quotient = ((u128::from(v) * u128::from(d.inverse)) >> 64) as u64;
            if let Some(o) = out.get_mut(d.at) {
                *o = d.first + (v - quotient * d.radix) as u8;
            }
            v = quotient;
        }
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
/// allocating. Returns the capacity. The simulator's answers use a [`Plan`] instead, which
/// does the part that depends only on `original` and `seed` once.
pub fn reshape_into(original: &[u8], address: u32, seed: u64, salt: u64, out: &mut [u8]) -> u64 {
    let shape = Shape::of(original);
    shape.write(original, address, shape.offset(seed, salt), out);
    shape.capacity
}

/// The serial number printer `address` answers instead of `recorded`.
#[must_use]
pub fn serial(recorded: &[u8], address: u32, seed: u64) -> Vec<u8> {
    reshape(recorded, address, seed, SERIAL_SALT).0
}

/// The salts that make a serial's, a MAC's and a sysName's draws differ for one seed.
const SERIAL_SALT: u64 = 1;
const MAC_SALT: u64 = 2;
const NAME_SALT: u64 = 3;
const MAC_MASK: u64 = (1 << 24) - 1;

/// The MAC address instead of `recorded`: the vendor's OUI (first three octets) kept, the other
/// three a bijection of the address (and of the recorded ones, so several interfaces differ).
#[must_use]
pub fn mac(recorded: [u8; 6], address: u32, seed: u64) -> [u8; 6] {
    mac_with(recorded, address, mac_offset(seed))
}

fn mac_offset(seed: u64) -> u64 {
    hash(&[seed, MAC_SALT]) & MAC_MASK
}

fn mac_with(recorded: [u8; 6], address: u32, offset: u64) -> [u8; 6] {
    let low = u64::from(u32::from_be_bytes([0, recorded[3], recorded[4], recorded[5]]));
    let v = (u64::from(address) * SPREAD + low + offset) & MAC_MASK;
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

/// The shape of `recorded` when it is a sysName that is reshaped (a host name with room for a
/// whole /8 of variants); `None` when the printer is named `NPI...` instead.
fn name_shape(recorded: &[u8]) -> Option<Shape> {
    let host_like = !recorded.is_empty()
        && recorded.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    let shape = Shape::of(recorded);
    (host_like && shape.capacity >= 1 << 24).then_some(shape)
}

/// [`sys_name`] written into `out` (at least as long as `recorded` and [`NPI_LEN`], holding a
/// copy of `recorded` in front), without allocating; returns its length.
pub fn sys_name_into(
    recorded: &[u8],
    mac: Option<[u8; 6]>,
    address: u32,
    seed: u64,
    out: &mut [u8],
) -> usize {
    let shape = name_shape(recorded);
    let offset = shape.map_or(0, |s| s.offset(seed, NAME_SALT));
    name_into(recorded, shape.as_ref(), offset, mac, address, npi_offset(seed), out)
}

fn npi_offset(seed: u64) -> u32 {
    hash(&[seed, NAME_SALT]) as u32
}

fn name_into(
    recorded: &[u8],
    shape: Option<&Shape>,
    offset: u64,
    mac: Option<[u8; 6]>,
    address: u32,
    npi_offset: u32,
    out: &mut [u8],
) -> usize {
    if let Some(shape) = shape {
        shape.write(recorded, address, offset, &mut out[..recorded.len()]);
        return recorded.len();
    }
    let tail = match mac {
        Some(m) => u32::from_be_bytes([0, m[3], m[4], m[5]]),
        None => npi_offset.wrapping_add(address) & 0x00ff_ffff,
    };
    out[..3].copy_from_slice(b"NPI");
    for (k, o) in out[3..NPI_LEN].iter_mut().enumerate() {
        *o = b"0123456789ABCDEF"[(tail >> (20 - 4 * k) & 0xf) as usize];
    }
    NPI_LEN
}

/// A recording's identity prepared for answering: the shapes of its serial number and sysName,
/// made once when its model is built. With the [`Keys`] of a seed, each answer costs only what
/// depends on the printer's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    serial: Option<Shape>,
    /// `None` also when the sysName is not reshaped (the printer is named `NPI...`).
    sys_name: Option<Shape>,
}

/// What a [`Plan`]'s answers take from the seed, computed once per seed: the offsets of the
/// serial number, the sysName and the MACs, and of the `NPI` names without a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub seed: u64,
    serial: u64,
    sys_name: u64,
    mac: u64,
    npi: u32,
}

impl Plan {
    /// The plan for a recording whose serial number and sysName are these.
    #[must_use]
    pub fn new(serial: Option<&[u8]>, sys_name: Option<&[u8]>) -> Self {
        Self { serial: serial.map(Shape::of), sys_name: sys_name.and_then(name_shape) }
    }

    /// The keys for `seed`.
    #[must_use]
    pub fn keys(&self, seed: u64) -> Keys {
        Keys {
            seed,
            serial: self.serial.map_or(0, |s| s.offset(seed, SERIAL_SALT)),
            sys_name: self.sys_name.map_or(0, |s| s.offset(seed, NAME_SALT)),
            mac: mac_offset(seed),
            npi: npi_offset(seed),
        }
    }

    /// [`serial`] of `recorded` (the serial number this plan was made with) into `out` (as long
    /// as `recorded`, holding a copy of it).
    pub fn serial_into(&self, recorded: &[u8], address: u32, keys: &Keys, out: &mut [u8]) {
        if let Some(shape) = &self.serial {
            shape.write(recorded, address, keys.serial, out);
        }
    }

    /// [`mac`] with the seed's keys.
    #[must_use]
    pub fn mac(&self, recorded: [u8; 6], address: u32, keys: &Keys) -> [u8; 6] {
        mac_with(recorded, address, keys.mac)
    }

    /// [`sys_name_into`] of `recorded` (the sysName this plan was made with), `mac` being the
    /// printer's first MAC address (from [`Plan::mac`]).
    pub fn sys_name_into(
        &self,
        recorded: &[u8],
        mac: Option<[u8; 6]>,
        address: u32,
        keys: &Keys,
        out: &mut [u8],
    ) -> usize {
        name_into(recorded, self.sys_name.as_ref(), keys.sys_name, mac, address, keys.npi, out)
    }
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

    /// The per-answer code as it was before [`Plan`] (2026-12-06), kept as the oracle: the
    /// planned path must answer exactly these bytes.
    mod before {
        use super::super::{hash_bytes, radix, SPREAD, WANT_CAPACITY};
        use crate::mix::hash;

        fn digit(class_of: u8, d: u64) -> u8 {
            let d = d as u8;
            match class_of {
                b'0'..=b'9' => b'0' + d,
                b'A'..=b'Z' => b'A' + d,
                _ => b'a' + d,
            }
        }

        pub fn reshape_into(original: &[u8], address: u32, seed: u64, salt: u64, out: &mut [u8]) -> u64 {
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
            let mut v = match u64::from(address).checked_mul(SPREAD).and_then(|x| x.checked_add(offset)) {
                Some(spread) => spread % capacity,
                None => {
                    ((u128::from(address) * u128::from(SPREAD) + u128::from(offset)) % u128::from(capacity))
                        as u64
                }
            };
            for (o, &c) in out.iter_mut().zip(original).rev().take(scanned) {
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

        pub fn serial(recorded: &[u8], address: u32, seed: u64) -> Vec<u8> {
            let mut out = recorded.to_vec();
            reshape_into(recorded, address, seed, 1, &mut out);
            out
        }

        pub fn mac(recorded: [u8; 6], address: u32, seed: u64) -> [u8; 6] {
            const MASK: u64 = (1 << 24) - 1;
            let low = u64::from(u32::from_be_bytes([0, recorded[3], recorded[4], recorded[5]]));
            let offset = hash(&[seed, 2]) & MASK;
            let v = (u64::from(address) * SPREAD + low + offset) & MASK;
            let b = (v as u32).to_be_bytes();
            [recorded[0], recorded[1], recorded[2], b[1], b[2], b[3]]
        }

        pub fn sys_name(recorded: &[u8], mac: Option<[u8; 6]>, address: u32, seed: u64) -> Vec<u8> {
            let mut out = recorded.to_vec();
            out.resize(recorded.len().max(9), 0);
            let host_like = !recorded.is_empty()
                && recorded.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
            if host_like && reshape_into(recorded, address, seed, 3, &mut out[..recorded.len()]) >= 1 << 24 {
                out.truncate(recorded.len());
                return out;
            }
            let tail = match mac {
                Some(m) => u32::from_be_bytes([0, m[3], m[4], m[5]]),
                None => (hash(&[seed, 3]) as u32).wrapping_add(address) & 0x00ff_ffff,
            };
            out[..3].copy_from_slice(b"NPI");
            for (k, o) in out[3..9].iter_mut().enumerate() {
                *o = b"0123456789ABCDEF"[(tail >> (20 - 4 * k) & 0xf) as usize];
            }
            out.truncate(9);
            out
        }
    }

    /// Recorded serials and sysNames of every shape the recordings and the catalogue hold:
    /// short, long, punctuated, all letters, all digits, lower case, nothing to vary.
    const VALUES: &[&str] = &[
        "MKRA012345",
        "7XQ1R92-132-13",
        "W492KB03439",
        "6509415X00",
        "AA2M021115700",
        "JPBCK19044",
        "NPI8A41C2",
        "printer-floor2-west",
        "KM3C5A1B",
        "brn3c2af4bff51b",
        "E78-2",
        "Z",
        "9",
        "--",
        "",
        "<private>",
        "1-2-3-4-5-6",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "ZZZZZZZZZZZZZZZZ",
        "9999999999999999999999",
        "a.b_c-d",
        "XP-8",
    ];

    #[test]
    fn planned_answers_are_the_bytes_of_the_per_answer_path() {
        let macs = [None, Some([0x3c, 0x2a, 0xf4, 0xbf, 0xf5, 0x1b]), Some([0, 0, 0, 0xff, 0xff, 0xff])];
        let addresses = [0, 1, BASE, BASE + 1, 0x0a00_0001, 0xffff_fffe, u32::MAX];
        let mut checked = 0;
        for seed in (0..200u64).chain([u64::MAX, 1 << 63, 0xdead_beef]) {
            for value in VALUES {
                let v = value.as_bytes();
                let plan = Plan::new(Some(v), Some(v));
                let keys = plan.keys(seed);
                for k in 0..60u32 {
                    let address = if k < 7 { addresses[k as usize] } else { BASE.wrapping_add(k * 7919) };
                    let mut out = v.to_vec();
                    plan.serial_into(v, address, &keys, &mut out);
                    assert_eq!(out, before::serial(v, address, seed), "{value} {address:#x} {seed}");
                    assert_eq!(serial(v, address, seed), out);
                    for recorded_mac in macs {
                        let old_mac = recorded_mac.map(|m| before::mac(m, address, seed));
                        let new_mac = recorded_mac.map(|m| plan.mac(m, address, &keys));
                        assert_eq!(new_mac, old_mac);
                        assert_eq!(recorded_mac.map(|m| mac(m, address, seed)), old_mac);
                        let mut out = v.to_vec();
                        out.resize(v.len().max(NPI_LEN), 0);
                        let len = plan.sys_name_into(v, new_mac, address, &keys, &mut out);
                        let old = before::sys_name(v, old_mac, address, seed);
                        assert_eq!(out[..len], old[..], "{value} {address:#x} {seed}");
                        assert_eq!(sys_name(v, new_mac, address, seed), old);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 203 * VALUES.len() * 60 * macs.len());
    }

    #[test]
    fn the_quotients_by_a_radix_without_division_are_exact() {
        let mut x = 0x0fed_cba9_8765_4321_u64;
        for radix in [10u64, 26] {
            let inverse = u64::MAX / radix + 1;
            let quotient = |v: u64| ((u128::from(v) * u128::from(inverse)) >> 64) as u64;
            for v in (0..100_000).chain((1 << 38) - 100_000..1 << 38) {
                assert_eq!(quotient(v), v / radix, "{v} / {radix}");
            }
            for _ in 0..200_000 {
                x = crate::mix::mix(x);
                let v = x >> 26;
                assert_eq!(quotient(v), v / radix, "{v} / {radix}");
            }
        }
    }

    #[test]
    fn the_remainder_without_division_is_exact() {
        let mut x = 0x1234_5678_9abc_def0_u64;
        let capacities =
            [2, 3, 10, 26, 676, 1 << 24, 10_u64.pow(10), 26_u64.pow(7), 45_697_600_000, u64::MAX];
        for capacity in capacities {
            let shape =
                Shape { capacity, reciprocal: u128::MAX / u128::from(capacity) + 1, ..Shape::of(b"") };
            for n in [0, 1, capacity - 1, capacity, capacity.wrapping_add(1), u64::MAX, u64::MAX - 1, 1 << 53]
            {
                assert_eq!(shape.rem(n), n % capacity, "{n} % {capacity}");
            }
            for _ in 0..20_000 {
                x = crate::mix::mix(x);
                assert_eq!(shape.rem(x), x % capacity, "{x} % {capacity}");
                assert_eq!(shape.rem(x >> 11), (x >> 11) % capacity);
            }
        }
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
