//! The `.snmprec` recording format (snmpsim): one variable per line, `OID|TAG|VALUE`.
//!
//! Each value is BER-encoded once, when the recording is parsed, so that answering a request is a
//! matter of copying bytes. The table is sorted by arcs (walk order) and holds each OID once: some
//! recordings are not in OID order, and some repeat an OID, in which case the first line wins.

use std::fmt;

use crate::ber::reader::{decode_i32, decode_u32, decode_u64};
use crate::ber::{tag, Reader, Writer};
use crate::snmp::{Oid, OidBuf, OidParseError, Value};

/// What is wrong with a line of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmprecErrorKind {
    /// The line does not have the three `|`-separated fields `OID|TAG|VALUE`.
    MissingField,
    /// The OID or tag field is not UTF-8.
    NotUtf8,
    /// The first field is not an OID.
    BadOid(OidParseError),
    /// A tag that this parser does not know (snmpsim variation modules, for instance).
    UnknownTag(String),
    /// The value does not fit the tag.
    BadValue { tag: &'static str, reason: &'static str },
}

/// A recording that cannot be parsed: the 1-based line number and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmprecError {
    pub line: usize,
    pub kind: SnmprecErrorKind,
}

impl fmt::Display for SnmprecErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField => f.write_str("expected OID|TAG|VALUE"),
            Self::NotUtf8 => f.write_str("the OID and tag fields must be UTF-8"),
            Self::BadOid(e) => write!(f, "bad OID: {e}"),
            Self::UnknownTag(t) => write!(f, "unknown tag {t:?}"),
            Self::BadValue { tag, reason } => write!(f, "bad value for tag {tag}: {reason}"),
        }
    }
}

impl fmt::Display for SnmprecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for SnmprecError {}

/// One recorded variable: its OID and its value, encoded as a complete BER element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    oid: OidBuf,
    tlv: Vec<u8>,
}

impl Entry {
    /// An entry from an OID and a value already encoded as one BER element.
    #[must_use]
    pub fn new(oid: OidBuf, tlv: Vec<u8>) -> Self {
        Self { oid, tlv }
    }

    #[must_use]
    pub fn oid(&self) -> Oid<'_> {
        self.oid.as_oid()
    }

    /// The value as a complete BER element (tag, length, content), ready to copy into a varbind.
    #[must_use]
    pub fn value_tlv(&self) -> &[u8] {
        &self.tlv
    }

    /// The value, decoded from [`Entry::value_tlv`].
    #[must_use]
    pub fn value(&self) -> Value<'_> {
        // This module wrote the element, so it always decodes; Null is an unreachable fallback.
        decode_value(&self.tlv).unwrap_or(Value::Null)
    }

    /// True for Counter64, which SNMPv1 cannot carry.
    #[must_use]
    pub fn is_counter64(&self) -> bool {
        self.tlv.first() == Some(&tag::COUNTER64)
    }
}

fn decode_value(tlv: &[u8]) -> Option<Value<'_>> {
    let t = Reader::new(tlv).read_tlv().ok()?;
    Some(match t.tag {
        tag::INTEGER => Value::Integer(decode_i32(&t).ok()?),
        tag::OCTET_STRING => Value::OctetString(t.content),
        tag::NULL => Value::Null,
        tag::OBJECT_IDENTIFIER => Value::ObjectIdentifier(Oid::from_ber(t.content, 0).ok()?),
        tag::IP_ADDRESS => Value::IpAddress(t.content.try_into().ok()?),
        tag::COUNTER32 => Value::Counter32(decode_u32(&t).ok()?),
        tag::GAUGE32 => Value::Gauge32(decode_u32(&t).ok()?),
        tag::TIMETICKS => Value::TimeTicks(decode_u32(&t).ok()?),
        tag::OPAQUE => Value::Opaque(t.content),
        tag::COUNTER64 => Value::Counter64(decode_u64(&t).ok()?),
        _ => return None,
    })
}

/// A parsed recording: its variables, sorted by OID (walk order), each OID once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    entries: Vec<Entry>,
}

impl Recording {
    /// Parses a recording. Blank lines are ignored and a trailing `\r` is dropped; the value is
    /// everything after the second `|` (so it may itself contain `|`). The first bad line fails it.
    pub fn parse(data: &[u8]) -> Result<Self, SnmprecError> {
        let mut first_error = None;
        let rec = Self::parse_with(data, |e| {
            first_error.get_or_insert(e);
        });
        first_error.map_or(Ok(rec), Err)
    }

    /// Parses a recording, skipping bad lines (real recordings have the odd corrupted value,
    /// which snmpsim only trips over when that variable is asked for); returns what was skipped.
    #[must_use]
    pub fn parse_lenient(data: &[u8]) -> (Self, Vec<SnmprecError>) {
        let mut errors = Vec::new();
        let rec = Self::parse_with(data, |e| errors.push(e));
        (rec, errors)
    }

    fn parse_with(data: &[u8], mut on_error: impl FnMut(SnmprecError)) -> Self {
        let mut entries = Vec::new();
        for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(line) {
                Ok(entry) => entries.push(entry),
                Err(kind) => on_error(SnmprecError { line: i + 1, kind }),
            }
        }
        // A stable sort keeps repeated OIDs in file order, so `dedup_by` keeps the first line.
        entries.sort_by(|a: &Entry, b: &Entry| a.oid().cmp(&b.oid()));
        entries.dedup_by(|later, first| later.oid == first.oid);
        Self { entries }
    }

    /// The variables, in walk order.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The variable with exactly this OID.
    #[must_use]
    pub fn get(&self, oid: Oid<'_>) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.oid().cmp(&oid)).ok().map(|i| &self.entries[i])
    }

    /// The index of the first variable whose OID is strictly greater than `oid`.
    #[must_use]
    pub fn next_index(&self, oid: Oid<'_>) -> usize {
        self.entries.partition_point(|e| e.oid() <= oid)
    }

    /// The first variable whose OID is strictly greater than `oid` (what GetNext answers).
    #[must_use]
    pub fn next_after(&self, oid: Oid<'_>) -> Option<&Entry> {
        self.entries.get(self.next_index(oid))
    }

    /// True if some variable's OID is `prefix` or lies under it.
    #[must_use]
    pub fn has_under(&self, prefix: Oid<'_>) -> bool {
        // Everything under `prefix` sorts after it and before anything else greater than it.
        let i = self.entries.partition_point(|e| e.oid() < prefix);
        self.entries.get(i).is_some_and(|e| e.oid().starts_with(prefix))
    }
}

fn parse_line(line: &[u8]) -> Result<Entry, SnmprecErrorKind> {
    let mut fields = line.splitn(3, |&b| b == b'|');
    let (Some(oid), Some(tag), Some(value)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(SnmprecErrorKind::MissingField);
    };
    let oid = std::str::from_utf8(oid).map_err(|_| SnmprecErrorKind::NotUtf8)?;
    let tag = std::str::from_utf8(tag).map_err(|_| SnmprecErrorKind::NotUtf8)?;
    let oid = OidBuf::parse(oid.trim()).map_err(SnmprecErrorKind::BadOid)?;
    let mut tlv = Vec::with_capacity(value.len() + 4);
    encode_value(tag.trim(), value, &mut Writer::new(&mut tlv))?;
    Ok(Entry { oid, tlv })
}

fn bad(tag: &'static str, reason: &'static str) -> SnmprecErrorKind {
    SnmprecErrorKind::BadValue { tag, reason }
}

/// Parses `value` as the type `tag` names and writes it as one BER element.
fn encode_value(tag: &str, value: &[u8], w: &mut Writer<'_>) -> Result<(), SnmprecErrorKind> {
    match tag {
        "2" => w.signed(tag::INTEGER, i64::from(number::<i32>(value).ok_or(bad("2", "not an i32"))?)),
        "4" => w.bytes(tag::OCTET_STRING, value),
        "4x" => w.bytes(tag::OCTET_STRING, &hex(value).ok_or(bad("4x", "not hex digit pairs"))?),
        "5" => w.bytes(tag::NULL, &[]),
        "6" => {
            let text = std::str::from_utf8(value).map_err(|_| bad("6", "not UTF-8"))?;
            let oid = OidBuf::parse(text.trim()).map_err(|_| bad("6", "not an OID"))?;
            w.bytes(tag::OBJECT_IDENTIFIER, oid.as_oid().as_ber());
        }
        "64" => w.bytes(tag::IP_ADDRESS, &dotted_quad(value).ok_or(bad("64", "not a dotted quad"))?),
        "64x" => {
            let addr = hex(value).filter(|a| a.len() == 4).ok_or(bad("64x", "not 8 hex digits"))?;
            w.bytes(tag::IP_ADDRESS, &addr);
        }
        "65" => w.unsigned(tag::COUNTER32, u64::from(number::<u32>(value).ok_or(bad("65", "not a u32"))?)),
        "66" => w.unsigned(tag::GAUGE32, u64::from(number::<u32>(value).ok_or(bad("66", "not a u32"))?)),
        "67" => w.unsigned(tag::TIMETICKS, u64::from(number::<u32>(value).ok_or(bad("67", "not a u32"))?)),
        "68" => w.bytes(tag::OPAQUE, value),
        "68x" => w.bytes(tag::OPAQUE, &hex(value).ok_or(bad("68x", "not hex digit pairs"))?),
        "70" => w.unsigned(tag::COUNTER64, number::<u64>(value).ok_or(bad("70", "not a u64"))?),
        other => return Err(SnmprecErrorKind::UnknownTag(other.to_owned())),
    }
    Ok(())
}

fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// Hex digit pairs (either case, surrounding whitespace ignored) to bytes.
fn hex(value: &[u8]) -> Option<Vec<u8>> {
    let digits = value.trim_ascii();
    if digits.len() % 2 != 0 {
        return None;
    }
    let nibble = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    digits.chunks_exact(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

fn dotted_quad(value: &[u8]) -> Option<[u8; 4]> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let mut out = [0u8; 4];
    let mut parts = text.split('.');
    for byte in &mut out {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> OidBuf {
        OidBuf::parse(s).unwrap()
    }

    fn one(line: &str) -> Entry {
        let rec = Recording::parse(line.as_bytes()).unwrap();
        assert_eq!(rec.len(), 1, "{line}");
        rec.entries()[0].clone()
    }

    fn err(text: &str) -> SnmprecError {
        Recording::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_every_tag() {
        let o = oid("1.3.6.1.4.1.9");
        let cases: Vec<(&str, Value<'_>)> = vec![
            ("1.3.6.1|2|-5", Value::Integer(-5)),
            ("1.3.6.1|2|2147483647", Value::Integer(i32::MAX)),
            ("1.3.6.1|4|a|b c ", Value::OctetString(b"a|b c ")),
            ("1.3.6.1|4|", Value::OctetString(b"")),
            ("1.3.6.1|4x|3C2aF4", Value::OctetString(&[0x3c, 0x2a, 0xf4])),
            ("1.3.6.1|4x|", Value::OctetString(b"")),
            ("1.3.6.1|5|", Value::Null),
            ("1.3.6.1|6|1.3.6.1.4.1.9", Value::ObjectIdentifier(o.as_oid())),
            ("1.3.6.1|64|192.168.0.255", Value::IpAddress([192, 168, 0, 255])),
            ("1.3.6.1|64x|c0a80001", Value::IpAddress([192, 168, 0, 1])),
            ("1.3.6.1|65|4294967295", Value::Counter32(u32::MAX)),
            ("1.3.6.1|66|0", Value::Gauge32(0)),
            ("1.3.6.1|67|217539735", Value::TimeTicks(217_539_735)),
            ("1.3.6.1|68x|0102", Value::Opaque(&[1, 2])),
            ("1.3.6.1|70|18446744073709551615", Value::Counter64(u64::MAX)),
        ];
        for (line, want) in cases {
            assert_eq!(one(line).value(), want, "{line}");
        }
        assert_eq!(one("1.3.6.1|2|-1\r\n").value_tlv(), [2, 1, 0xff]);
        assert!(one("1.3.6.1|70|1").is_counter64());
    }

    #[test]
    fn sorts_by_arcs_and_keeps_first_duplicate() {
        let text = "1.3.6.1.2.1.1.5.0|4|b\n\n1.3.6.1.2.1.1.16384.0|2|1\n\
                    1.3.6.1.2.1.1.256.0|2|2\n1.3.6.1.2.1.1.5.0|4|second\n   \n1.3.6.1.2.1.1.1.0|4|a\n";
        let rec = Recording::parse(text.as_bytes()).unwrap();
        let oids: Vec<String> = rec.entries().iter().map(|e| e.oid().to_string()).collect();
        assert_eq!(
            oids,
            ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.256.0", "1.3.6.1.2.1.1.16384.0"]
        );
        assert_eq!(rec.entries()[1].value(), Value::OctetString(b"b"));
    }

    #[test]
    fn lookups() {
        let rec = Recording::parse(b"1.3.6.1.2.1.1.1.0|4|a\n1.3.6.1.2.1.1.3.0|67|5\n").unwrap();
        let sys = oid("1.3.6.1.2.1.1");
        assert!(rec.get(oid("1.3.6.1.2.1.1.3.0").as_oid()).is_some());
        assert!(rec.get(oid("1.3.6.1.2.1.1.2.0").as_oid()).is_none());
        assert_eq!(rec.next_after(sys.as_oid()).unwrap().oid().to_string(), "1.3.6.1.2.1.1.1.0");
        assert_eq!(
            rec.next_after(oid("1.3.6.1.2.1.1.1.0").as_oid()).unwrap().oid().to_string(),
            "1.3.6.1.2.1.1.3.0"
        );
        assert!(rec.next_after(oid("1.3.6.1.2.1.1.3.0").as_oid()).is_none());
        assert!(rec.has_under(sys.as_oid()));
        assert!(rec.has_under(oid("1.3.6.1.2.1.1.3.0").as_oid()));
        assert!(!rec.has_under(oid("1.3.6.1.2.1.1.2").as_oid()));
        assert!(!rec.has_under(oid("1.3.6.1.2.1.2").as_oid()));
    }

    #[test]
    fn errors_name_the_line() {
        let e = err("1.3.6.1|2|1\n\n1.3.6.1|2|x\n");
        assert_eq!(e.line, 3);
        assert_eq!(e.kind, SnmprecErrorKind::BadValue { tag: "2", reason: "not an i32" });
        assert_eq!(e.to_string(), "line 3: bad value for tag 2: not an i32");
        assert_eq!(err("1.3.6.1|2").kind, SnmprecErrorKind::MissingField);
        assert_eq!(err("1.3.6.1").kind, SnmprecErrorKind::MissingField);
        assert_eq!(err("1.3.x|2|1").kind, SnmprecErrorKind::BadOid(OidParseError::Syntax));
        assert_eq!(err("1.3.6|4e|1").kind, SnmprecErrorKind::UnknownTag("4e".into()));
        assert_eq!(Recording::parse(b"1.3.6|\xff|1").unwrap_err().kind, SnmprecErrorKind::NotUtf8);
        for bad_line in [
            "1.3.6|2|2147483648",
            "1.3.6|4x|abc",
            "1.3.6|4x|zz",
            "1.3.6|6|1",
            "1.3.6|64|1.2.3",
            "1.3.6|64|1.2.3.256",
            "1.3.6|64|1.2.3.4.5",
            "1.3.6|64x|c0a800",
            "1.3.6|65|-1",
            "1.3.6|67|4294967296",
            "1.3.6|70|",
        ] {
            assert!(matches!(err(bad_line).kind, SnmprecErrorKind::BadValue { .. }), "{bad_line}");
        }
    }

    #[test]
    fn lenient_skips_bad_lines() {
        let text = b"1.3.6.1|2|1\n1.3.6.2|65|6git3159\n1.3.6.3|2|3\nnonsense\n";
        assert_eq!(Recording::parse(text).unwrap_err().line, 2);
        let (rec, errors) = Recording::parse_lenient(text);
        assert_eq!(rec.len(), 2);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn empty_recording() {
        let rec = Recording::parse(b"\n\n").unwrap();
        assert!(rec.is_empty());
        assert!(rec.next_after(oid("1.3").as_oid()).is_none());
        assert!(!rec.has_under(oid("1.3").as_oid()));
    }
}
