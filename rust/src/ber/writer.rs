/// Writes BER into a caller's buffer with definite, minimal lengths and minimal integers.
///
/// Constructed elements are written in one pass: a one-octet length placeholder, then the
/// content, then — only when the content reached 128 bytes — the content is moved up to make
/// room for the long-form length.
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
}

impl<'b> Writer<'b> {
    /// A writer appending to `buf` (which it does not clear).
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        Self { buf }
    }

    fn length(&mut self, len: usize) {
        if len < 0x80 {
            self.buf.push(len as u8);
        } else {
            let bytes = (len as u32).to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            self.buf.push(0x80 | (4 - skip) as u8);
            self.buf.extend_from_slice(&bytes[skip..]);
        }
    }

    /// A primitive element with the given content.
    pub fn bytes(&mut self, tag: u8, content: &[u8]) {
        self.buf.push(tag);
        self.length(content.len());
        self.buf.extend_from_slice(content);
    }

    /// A signed integer, minimally encoded.
    pub fn signed(&mut self, tag: u8, v: i64) {
        let bytes = v.to_be_bytes();
        let mut skip = 0;
        while skip < 7 {
            let (b, next) = (bytes[skip], bytes[skip + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                skip += 1;
            } else {
                break;
            }
        }
        self.bytes(tag, &bytes[skip..]);
    }

    /// A non-negative integer, minimally encoded (with a leading 0x00 when the high bit is set).
    pub fn unsigned(&mut self, tag: u8, v: u64) {
        let bytes = v.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
        self.buf.push(tag);
        if bytes[skip] & 0x80 != 0 {
            self.length(9 - skip);
            self.buf.push(0);
        } else {
            self.length(8 - skip);
        }
        self.buf.extend_from_slice(&bytes[skip..]);
    }

    /// Bytes that are already BER (an element encoded elsewhere).
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// A constructed element whose content `body` writes.
    pub fn constructed(&mut self, tag: u8, body: impl FnOnce(&mut Writer<'_>)) {
        self.buf.push(tag);
        let at = self.buf.len();
        self.buf.push(0);
        body(&mut Writer { buf: self.buf });
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
            return;
        }
        let extra = 4 - (len as u32).leading_zeros() as usize / 8;
        let end = self.buf.len();
        self.buf.resize(end + extra, 0);
        self.buf.copy_within(at + 1..end, at + 1 + extra);
        self.buf[at] = 0x80 | extra as u8;
        let bytes = (len as u32).to_be_bytes();
        self.buf[at + 1..=at + extra].copy_from_slice(&bytes[4 - extra..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ber::reader::{decode_i64, decode_u64, Reader};

    fn signed(v: i64) -> Vec<u8> {
        let mut buf = Vec::new();
        Writer::new(&mut buf).signed(2, v);
        buf
    }

    #[test]
    fn minimal_integers() {
        assert_eq!(signed(0), [2, 1, 0]);
        assert_eq!(signed(127), [2, 1, 0x7f]);
        assert_eq!(signed(128), [2, 2, 0, 0x80]);
        assert_eq!(signed(-128), [2, 1, 0x80]);
        assert_eq!(signed(-129), [2, 2, 0xff, 0x7f]);
        let mut buf = Vec::new();
        Writer::new(&mut buf).unsigned(0x46, u64::MAX);
        assert_eq!(buf, [0x46, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        for v in [0, 1, 127, 128, 255, 256, u64::from(u32::MAX), u64::MAX / 3, u64::MAX] {
            let mut buf = Vec::new();
            Writer::new(&mut buf).unsigned(0x46, v);
            assert_eq!(decode_u64(&Reader::new(&buf).read_tlv().unwrap()), Ok(v));
        }
        for v in [i64::MIN, -65536, -1, 0, 65535, i64::MAX] {
            assert_eq!(decode_i64(&Reader::new(&signed(v)).read_tlv().unwrap()), Ok(v));
        }
    }

    #[test]
    fn long_constructed_lengths() {
        for n in [0usize, 1, 126, 127, 128, 255, 256, 70_000] {
            let mut buf = vec![0xaa];
            Writer::new(&mut buf).constructed(0x30, |w| w.bytes(4, &vec![7; n]));
            let mut r = Reader::new(&buf[1..]);
            let outer = r.read_tlv().unwrap();
            assert!(r.is_empty());
            let inner = Reader::new(outer.content).read_tlv().unwrap();
            assert_eq!(inner.content.len(), n);
        }
    }
}
