use std::cmp::Ordering;
use std::fmt;

use crate::ber::{reader::check_oid, DecodeError};

/// An OBJECT IDENTIFIER borrowed in its BER content form (already validated).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Oid<'a>(&'a [u8]);

/// An owned OBJECT IDENTIFIER, kept in BER content form so that encoding is a copy.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OidBuf(Vec<u8>);

/// Why a dotted string is not an OID that SNMP can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidParseError {
    /// Not dotted decimal numbers (or a number above 2^32-1).
    Syntax,
    /// Fewer than two arcs, a first arc above 2, or a second arc out of range for it.
    BadFirstArcs,
    /// More than 128 arcs (RFC 2578 section 3.5).
    TooLong,
}

impl fmt::Display for OidParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "not a dotted-decimal OID with arcs up to 4294967295",
            Self::BadFirstArcs => "an OID needs two first arcs X.Y with X in 0..2 (Y < 40 unless X = 2)",
            Self::TooLong => "an OID has at most 128 arcs",
        })
    }
}

impl std::error::Error for OidParseError {}

impl<'a> Oid<'a> {
    /// Wraps BER content octets after checking them.
    pub fn from_ber(content: &'a [u8], offset: usize) -> Result<Self, DecodeError> {
        check_oid(content, offset)?;
        Ok(Self(content))
    }

    /// The BER content octets.
    #[must_use]
    pub fn as_ber(&self) -> &'a [u8] {
        self.0
    }

    /// The arcs, in order.
    #[must_use]
    pub fn arcs(&self) -> Arcs<'a> {
        Arcs { rest: self.0, pending: None, started: false }
    }

    /// True if `prefix` is this OID or one of its ancestors.
    #[must_use]
    pub fn starts_with(&self, prefix: Oid<'_>) -> bool {
        // Sub-identifiers are self-delimiting, so a prefix of arcs is a prefix of bytes.
        self.0.starts_with(prefix.0)
    }

    #[must_use]
    pub fn to_owned(&self) -> OidBuf {
        OidBuf(self.0.to_vec())
    }

    /// Appends the dotted-decimal form to `out`.
    pub fn write_dotted(&self, out: &mut String) {
        let mut first = true;
        for arc in self.arcs() {
            if !first {
                out.push('.');
            }
            first = false;
            push_decimal(out, arc);
        }
    }
}

fn push_decimal(out: &mut String, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Iterator over the arcs of an [`Oid`].
pub struct Arcs<'a> {
    rest: &'a [u8],
    pending: Option<u32>,
    started: bool,
}

impl Iterator for Arcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if let Some(arc) = self.pending.take() {
            return Some(arc);
        }
        if self.rest.is_empty() {
            return None;
        }
        let mut v: u32 = 0;
        let mut used = 0;
        for &b in self.rest {
            used += 1;
            v = (v << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
        self.rest = &self.rest[used..];
        if self.started {
            return Some(v);
        }
        // The first sub-identifier carries two arcs: 40 * X + Y (X.690 8.19.4).
        self.started = true;
        let (x, y) = match v {
            0..=39 => (0, v),
            40..=79 => (1, v - 40),
            _ => (2, v - 80),
        };
        self.pending = Some(y);
        Some(x)
    }
}

impl OidBuf {
    /// Builds an OID from its arcs.
    pub fn from_arcs(arcs: &[u32]) -> Result<Self, OidParseError> {
        if arcs.len() > 128 {
            return Err(OidParseError::TooLong);
        }
        let &[x, y, ..] = arcs else {
            return Err(OidParseError::BadFirstArcs);
        };
        let first = match x {
            0 | 1 if y < 40 => x * 40 + y,
            2 => y.checked_add(80).ok_or(OidParseError::BadFirstArcs)?,
            _ => return Err(OidParseError::BadFirstArcs),
        };
        let mut out = Vec::with_capacity(arcs.len() + 4);
        push_base128(&mut out, first);
        for &arc in &arcs[2..] {
            push_base128(&mut out, arc);
        }
        Ok(Self(out))
    }

    /// Parses dotted decimal (`1.3.6.1.2.1.1.1.0`; a leading dot is allowed).
    pub fn parse(dotted: &str) -> Result<Self, OidParseError> {
        let body = dotted.strip_prefix('.').unwrap_or(dotted);
        let mut arcs = Vec::with_capacity(24);
        for part in body.split('.') {
            if part.is_empty() || part.len() > 10 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(OidParseError::Syntax);
            }
            arcs.push(part.parse::<u32>().map_err(|_| OidParseError::Syntax)?);
        }
        Self::from_arcs(&arcs)
    }

    #[must_use]
    pub fn as_oid(&self) -> Oid<'_> {
        Oid(&self.0)
    }
}

fn push_base128(out: &mut Vec<u8>, v: u32) {
    let mut shift = 28;
    while shift > 0 && v >> shift == 0 {
        shift -= 7;
    }
    while shift > 0 {
        out.push(0x80 | ((v >> shift) & 0x7f) as u8);
        shift -= 7;
    }
    out.push((v & 0x7f) as u8);
}

impl fmt::Display for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.0.len() * 3);
        self.write_dotted(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl fmt::Display for OidBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_oid().fmt(f)
    }
}

impl fmt::Debug for OidBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OidBuf({self})")
    }
}

/// Lexicographic order of the arcs (the order of a MIB walk), not of the encoded bytes.
impl Ord for Oid<'_> {
    /// Arc by arc, numerically. Sub-identifiers are self-delimiting and order like the arcs they
    /// encode (the first one, 40x + y, too), so the bytes both share are skipped at memcmp speed
    /// and only the sub-identifiers from the first difference on are decoded: the simulator's
    /// lookups compare OIDs that share most of their bytes.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0, other.0);
        let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        if same == a.len() || same == b.len() {
            // One is the other or an ancestor of it (it ends on a whole sub-identifier).
            return a.len().cmp(&b.len());
        }
        let start = a[..same].iter().rposition(|&c| c & 0x80 == 0).map_or(0, |p| p + 1);
        SubIds(&a[start..]).cmp(SubIds(&b[start..]))
    }
}

/// The sub-identifiers of BER content octets, as numbers.
struct SubIds<'a>(&'a [u8]);

impl Iterator for SubIds<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let end = self.0.iter().position(|&c| c & 0x80 == 0).map_or(self.0.len(), |p| p + 1);
        if end == 0 {
            return None;
        }
        let (head, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(head.iter().fold(0u64, |v, &c| (v << 7) | u64::from(c & 0x7f)))
    }
}

impl PartialOrd for Oid<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotted(s: &str) -> String {
        OidBuf::parse(s).unwrap().to_string()
    }

    #[test]
    fn orders_as_the_arcs_do() {
        let oids: Vec<OidBuf> = [
            "0.0",
            "0.39",
            "1.0",
            "1.3",
            "1.3.6",
            "1.3.6.1",
            "1.3.6.1.2.1.43.11.1.1.9.1.1",
            "1.3.6.1.2.1.43.11.1.1.9.1.2",
            "1.3.6.1.2.1.43.11.1.1.9.1.127",
            "1.3.6.1.2.1.43.11.1.1.9.1.128",
            "1.3.6.1.2.1.43.11.1.1.9.1.16383",
            "1.3.6.1.2.1.43.11.1.1.9.1.16384",
            "1.3.6.1.2.1.43.11.1.1.9.2",
            "1.3.6.1.4.1.4294967295.0",
            "1.3.6.1.4.1.2435.2.3.9",
            "1.3.6.1.4.1.253.8.53",
            "1.39.5",
            "2.0",
            "2.999.3",
            "2.4294967215",
        ]
        .iter()
        .map(|s| OidBuf::parse(s).unwrap())
        .collect();
        for a in &oids {
            for b in &oids {
                let (a, b) = (a.as_oid(), b.as_oid());
                assert_eq!(a.cmp(&b), a.arcs().cmp(b.arcs()), "{a} vs {b}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn orders_random_oids_as_their_arcs(
            a in proptest::collection::vec(proptest::prop_oneof![0u32..130, 16_000u32..17_000, proptest::num::u32::ANY], 0..8),
            b in proptest::collection::vec(proptest::prop_oneof![0u32..130, 16_000u32..17_000, proptest::num::u32::ANY], 0..8),
            shared in 0usize..6,
        ) {
            let mut a_arcs = vec![1, 3, 6, 1];
            a_arcs.extend(&a);
            let mut b_arcs: Vec<u32> = a_arcs.iter().take(4 + shared.min(a.len())).copied().collect();
            b_arcs.extend(&b);
            let (x, y) = (OidBuf::from_arcs(&a_arcs).unwrap(), OidBuf::from_arcs(&b_arcs).unwrap());
            proptest::prop_assert_eq!(x.as_oid().cmp(&y.as_oid()), a_arcs.cmp(&b_arcs));
        }
    }

    #[test]
    fn round_trips() {
        for s in [
            "1.3.6.1.2.1.1.1.0",
            "0.0",
            "0.39",
            "1.39.5",
            "2.999.3",
            "2.4294967215",
            "1.3.6.1.4.1.4294967295.0",
            "1.3.6.1.2.1.43.11.1.1.9.1.1",
        ] {
            assert_eq!(dotted(s), s);
        }
        assert_eq!(dotted(".1.3.6"), "1.3.6");
        assert_eq!(OidBuf::parse("1.3.6.1").unwrap().as_oid().as_ber(), &[0x2b, 6, 1]);
    }

    #[test]
    fn rejects() {
        for s in ["", "1", "3.1", "1.40", "1..3", "1.3.a", "1.3.4294967296", "2.4294967216", "1.3 "] {
            assert!(OidBuf::parse(s).is_err(), "{s}");
        }
        let long = vec!["1"; 129].join(".");
        assert_eq!(OidBuf::parse(&long), Err(OidParseError::TooLong));
    }

    #[test]
    fn walk_order_is_by_arc() {
        let a = OidBuf::parse("1.3.6.256").unwrap();
        let b = OidBuf::parse("1.3.6.16384").unwrap();
        let c = OidBuf::parse("1.3.6.256.1").unwrap();
        assert!(a.as_oid() < b.as_oid());
        assert!(a.as_oid() < c.as_oid());
        assert!(c.as_oid().starts_with(a.as_oid()));
        assert!(!b.as_oid().starts_with(a.as_oid()));
    }
}
