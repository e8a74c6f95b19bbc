use super::error::{DecodeError, ErrorKind};

type Result<T> = std::result::Result<T, DecodeError>;

/// One tag-length-value element, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// Offset of the tag octet from the start of the whole input.
    pub offset: usize,
    /// Offset of the first content octet from the start of the whole input.
    pub content_offset: usize,
}

/// A cursor over `buf[pos..end]` that never reads outside those bounds.
///
/// Offsets in errors are always counted from the start of the original input, also for the
/// nested readers that [`Reader::sequence`] returns.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    #[must_use]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0, end: buf.len() }
    }

    /// Offset of the next unread byte from the start of the input.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    fn err(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    fn byte(&mut self) -> Result<u8> {
        if self.pos >= self.end {
            return Err(self.err(ErrorKind::Truncated));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// The next tag, without consuming it.
    pub fn peek_tag(&self) -> Result<u8> {
        if self.pos >= self.end {
            return Err(self.err(ErrorKind::Truncated));
        }
        Ok(self.buf[self.pos])
    }

    /// Reads one element: tag, definite length, and the content it bounds.
    pub fn read_tlv(&mut self) -> Result<Tlv<'a>> {
        let offset = self.pos;
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            return Err(DecodeError::new(ErrorKind::HighTagNumber, offset));
        }
        let length = self.read_length()?;
        let available = self.end - self.pos;
        if length > available {
            return Err(self.err(ErrorKind::LengthPastEnd { length, available }));
        }
        let content_offset = self.pos;
        let content = &self.buf[self.pos..self.pos + length];
        self.pos += length;
        Ok(Tlv { tag, content, offset, content_offset })
    }

    fn read_length(&mut self) -> Result<usize> {
        let at = self.pos;
        let first = self.byte()?;
        match first {
            0..=0x7f => Ok(usize::from(first)),
            0x80 => Err(DecodeError::new(ErrorKind::IndefiniteLength, at)),
            0x81..=0x84 => {
                let mut length = 0usize;
                for _ in 0..(first & 0x7f) {
                    length = (length << 8) | usize::from(self.byte()?);
                }
                Ok(length)
            }
            _ => Err(DecodeError::new(ErrorKind::LengthTooLong, at)),
        }
    }

    /// Reads one element and checks its tag.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>> {
        let found = self.peek_tag()?;
        if found != tag {
            return Err(self.err(ErrorKind::UnexpectedTag { expected: tag, found }));
        }
        self.read_tlv()
    }

    /// Reads a constructed element with this tag and returns a reader over its content.
    pub fn sequence(&mut self, tag: u8) -> Result<Reader<'a>> {
        let tlv = self.expect(tag)?;
        Ok(Self::within(self.buf, &tlv))
    }

    /// A reader over the content of an element already read from this input.
    #[must_use]
    pub fn within(buf: &'a [u8], tlv: &Tlv<'a>) -> Reader<'a> {
        Reader { buf, pos: tlv.content_offset, end: tlv.content_offset + tlv.content.len() }
    }

    /// The whole input this reader was made from.
    #[must_use]
    pub fn input(&self) -> &'a [u8] {
        self.buf
    }

    /// Fails if anything is left unread.
    pub fn finish(&self) -> Result<()> {
        if self.pos < self.end {
            return Err(self.err(ErrorKind::TrailingBytes(self.end - self.pos)));
        }
        Ok(())
    }

    /// Reads an INTEGER-encoded element with this tag as a signed 32-bit value.
    pub fn i32(&mut self, tag: u8) -> Result<i32> {
        let tlv = self.expect(tag)?;
        decode_i32(&tlv)
    }
}

/// The content octets of an INTEGER without redundant leading 0x00 / 0xFF octets (X.690 8.3.2
/// asks senders for the minimal form; gosnmp and pyasn1 send longer ones and net-snmp reads
/// them, so printwatch reads them too: the value is what counts). At least one octet remains.
fn minimal_content<'a>(tlv: &Tlv<'a>) -> Result<&'a [u8]> {
    let mut c = tlv.content;
    if c.is_empty() {
        return Err(DecodeError::new(ErrorKind::EmptyInteger, tlv.offset));
    }
    while let [first, next, ..] = c {
        let redundant = (*first == 0x00 && next & 0x80 == 0) || (*first == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        c = &c[1..];
    }
    Ok(c)
}

/// A signed integer that fits in 64 bits (however many redundant sign octets precede it).
pub fn decode_i64(tlv: &Tlv<'_>) -> Result<i64> {
    let c = minimal_content(tlv)?;
    if c.len() > 8 {
        return Err(DecodeError::new(ErrorKind::IntegerOutOfRange, tlv.content_offset));
    }
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i64::from(b);
    }
    Ok(v)
}

/// A signed integer in the Integer32 range.
pub fn decode_i32(tlv: &Tlv<'_>) -> Result<i32> {
    let v = decode_i64(tlv)?;
    i32::try_from(v).map_err(|_| DecodeError::new(ErrorKind::IntegerOutOfRange, tlv.content_offset))
}

/// A non-negative integer no larger than `u64::MAX` (eight octets after one leading 0x00).
pub fn decode_u64(tlv: &Tlv<'_>) -> Result<u64> {
    let c = minimal_content(tlv)?;
    let out_of_range = DecodeError::new(ErrorKind::IntegerOutOfRange, tlv.content_offset);
    if c[0] & 0x80 != 0 {
        return Err(out_of_range);
    }
    let digits = if c[0] == 0 { &c[1..] } else { c };
    if digits.len() > 8 {
        return Err(out_of_range);
    }
    Ok(digits.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// A non-negative integer no larger than 2^32-1 (Counter32, Gauge32, TimeTicks).
pub fn decode_u32(tlv: &Tlv<'_>) -> Result<u32> {
    let v = decode_u64(tlv)?;
    u32::try_from(v).map_err(|_| DecodeError::new(ErrorKind::IntegerOutOfRange, tlv.content_offset))
}

/// Validates OBJECT IDENTIFIER content octets and returns the number of arcs they encode
/// (the first octet group encodes two arcs).
pub fn check_oid(content: &[u8], content_offset: usize) -> Result<usize> {
    if content.is_empty() {
        return Err(DecodeError::new(ErrorKind::EmptyOid, content_offset));
    }
    let mut arcs = 1; // the first sub-identifier carries two arcs
    let mut start = true;
    let mut value: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        let at = content_offset + i;
        if start && b == 0x80 {
            return Err(DecodeError::new(ErrorKind::MalformedOid, at));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if value > u64::from(u32::MAX) {
            return Err(DecodeError::new(ErrorKind::OidOverflow, at));
        }
        start = b & 0x80 == 0;
        if start {
            arcs += 1;
            value = 0;
            if arcs > 128 {
                return Err(DecodeError::new(ErrorKind::OidTooLong, at));
            }
        }
    }
    if !start {
        return Err(DecodeError::new(ErrorKind::MalformedOid, content_offset + content.len()));
    }
    Ok(arcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(bytes: &[u8]) -> Tlv<'_> {
        Reader::new(bytes).read_tlv().unwrap()
    }

    #[test]
    fn lengths() {
        assert_eq!(tlv(&[4, 1, 9]).content, &[9]);
        assert_eq!(tlv(&[4, 0x81, 1, 9]).content, &[9], "non-minimal long form accepted");
        let long = [&[4u8, 0x82, 0x01, 0x00][..], &[7u8; 256][..]].concat();
        assert_eq!(tlv(&long).content.len(), 256);
        let e = Reader::new(&[4, 0x80, 0, 0]).read_tlv().unwrap_err();
        assert_eq!(e, DecodeError::new(ErrorKind::IndefiniteLength, 1));
        let e = Reader::new(&[4, 0x85, 0, 0, 0, 0, 1, 9]).read_tlv().unwrap_err();
        assert_eq!(e.kind, ErrorKind::LengthTooLong);
        let e = Reader::new(&[4, 3, 9]).read_tlv().unwrap_err();
        assert_eq!(e, DecodeError::new(ErrorKind::LengthPastEnd { length: 3, available: 1 }, 2));
        let e = Reader::new(&[0x1f, 1, 0]).read_tlv().unwrap_err();
        assert_eq!(e.kind, ErrorKind::HighTagNumber);
    }

    #[test]
    fn integers() {
        assert_eq!(decode_i32(&tlv(&[2, 1, 0x7f])), Ok(127));
        assert_eq!(decode_i32(&tlv(&[2, 2, 0x00, 0x80])), Ok(128));
        assert_eq!(decode_i32(&tlv(&[2, 1, 0x80])), Ok(-128));
        assert_eq!(decode_i32(&tlv(&[2, 4, 0x80, 0, 0, 0])), Ok(i32::MIN));
        assert_eq!(
            decode_i32(&tlv(&[2, 5, 0, 0x80, 0, 0, 0])).unwrap_err().kind,
            ErrorKind::IntegerOutOfRange
        );
        // Redundant sign octets are read (gosnmp's request ids, pyasn1's -128), not rejected.
        assert_eq!(decode_i32(&tlv(&[2, 2, 0, 1])).unwrap(), 1);
        assert_eq!(decode_i32(&tlv(&[2, 2, 0xff, 0xff])).unwrap(), -1);
        assert_eq!(decode_i32(&tlv(&[2, 4, 0, 0x1a, 0x3f, 0x32])).unwrap(), 0x001a_3f32);
        assert_eq!(decode_i32(&tlv(&[2, 2, 0xff, 0x80])).unwrap(), -128);
        assert_eq!(decode_u32(&tlv(&[0x41, 6, 0, 0, 0xff, 0xff, 0xff, 0xff])).unwrap(), u32::MAX);
        assert_eq!(
            decode_i32(&tlv(&[2, 6, 0, 0, 0x80, 0, 0, 0])).unwrap_err().kind,
            ErrorKind::IntegerOutOfRange
        );
        assert_eq!(decode_i32(&tlv(&[2, 0])).unwrap_err().kind, ErrorKind::EmptyInteger);
        assert_eq!(decode_u32(&tlv(&[0x41, 5, 0, 0xff, 0xff, 0xff, 0xff])), Ok(u32::MAX));
        assert_eq!(decode_u32(&tlv(&[0x41, 1, 0xff])).unwrap_err().kind, ErrorKind::IntegerOutOfRange);
        assert_eq!(
            decode_u64(&tlv(&[0x46, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
            Ok(u64::MAX)
        );
        assert_eq!(
            decode_u64(&tlv(&[0x46, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0])).unwrap_err().kind,
            ErrorKind::IntegerOutOfRange
        );
    }

    #[test]
    fn oids() {
        assert_eq!(check_oid(&[0x2b, 6, 1], 0), Ok(4));
        assert_eq!(check_oid(&[0x2b, 0x8f, 0xff, 0xff, 0xff, 0x7f], 0), Ok(3));
        assert_eq!(
            check_oid(&[0x2b, 0x90, 0x80, 0x80, 0x80, 0x00], 0).unwrap_err().kind,
            ErrorKind::OidOverflow
        );
        assert_eq!(check_oid(&[0x2b, 0x80, 0x01], 0).unwrap_err().kind, ErrorKind::MalformedOid);
        assert_eq!(check_oid(&[0x2b, 0x81], 0).unwrap_err().kind, ErrorKind::MalformedOid);
        assert_eq!(check_oid(&[], 5).unwrap_err(), DecodeError::new(ErrorKind::EmptyOid, 5));
        assert_eq!(check_oid(&[1; 128], 0).unwrap_err().kind, ErrorKind::OidTooLong);
        assert_eq!(check_oid(&[1; 127], 0), Ok(128));
    }
}
