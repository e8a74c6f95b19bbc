//! Builds a Response-PDU message by copying pre-encoded bytes, knowing its size before writing.

use std::cell::Cell;

use crate::ber::{tag, Writer};
use crate::snmp::PduType;

/// An arena kept larger than this is given back to the allocator rather than kept for reuse.
const ARENA_KEPT: usize = 64 << 10;

thread_local! {
    /// The arena of the thread's last response, reused by the next: a computed value (a serial,
    /// a counter) then costs no allocation.
    static SPARE_ARENA: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A value as a complete BER element: recorded (borrowed) or computed into the response's arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Val<'r> {
    Ref(&'r [u8]),
    Arena { start: u32, len: u32 },
}

impl Val<'_> {
    fn len(self) -> usize {
        match self {
            Val::Ref(v) => v.len(),
            Val::Arena { len, .. } => len as usize,
        }
    }
}

/// One response varbind: the OID's BER content and its value.
pub(super) type Row<'r> = (&'r [u8], Val<'r>);

pub(super) const NO_SUCH_OBJECT: Val<'static> = Val::Ref(&[tag::NO_SUCH_OBJECT, 0]);
pub(super) const NO_SUCH_INSTANCE: Val<'static> = Val::Ref(&[tag::NO_SUCH_INSTANCE, 0]);
pub(super) const END_OF_MIB_VIEW: Val<'static> = Val::Ref(&[tag::END_OF_MIB_VIEW, 0]);

/// The fields a response copies from its request.
#[derive(Clone, Copy)]
pub(super) struct Head<'r> {
    pub version: i32,
    pub community: &'r [u8],
    pub request_id: i32,
}

/// A response under construction: its varbinds, the running size of their list, and the
/// values computed for this response (overrides of recorded values).
pub(super) struct Response<'r> {
    head: Head<'r>,
    rows: Vec<Row<'r>>,
    list_len: usize,
    arena: Vec<u8>,
}

impl Drop for Response<'_> {
    fn drop(&mut self) {
        let mut arena = std::mem::take(&mut self.arena);
        if arena.capacity() <= ARENA_KEPT {
            arena.clear();
            SPARE_ARENA.set(arena);
        }
    }
}

impl<'r> Response<'r> {
    pub fn new(head: Head<'r>, capacity: usize) -> Self {
        let arena = SPARE_ARENA.take();
        Self { head, rows: Vec::with_capacity(capacity), list_len: 0, arena }
    }

    /// A value written by `write` (one complete BER element) into this response's arena.
    pub fn computed(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Val<'r> {
        let start = self.arena.len();
        write(&mut self.arena);
        Val::Arena { start: start as u32, len: (self.arena.len() - start) as u32 }
    }

    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    pub fn push(&mut self, row: Row<'r>) {
        self.list_len += tlv_len(row_len(row));
        self.rows.push(row);
    }

    /// Adds `row` if the message (with error-status and error-index zero) stays within `max`.
    pub fn try_push(&mut self, row: Row<'r>, max: usize) -> bool {
        let list_len = self.list_len + tlv_len(row_len(row));
        if self.message_len(list_len, 0, 0) > max {
            return false;
        }
        self.list_len = list_len;
        self.rows.push(row);
        true
    }

    /// The size of the whole message as [`Response::write`] would write it.
    pub fn len(&self, error_status: i32, error_index: i32) -> usize {
        self.message_len(self.list_len, error_status, error_index)
    }

    fn message_len(&self, list_len: usize, error_status: i32, error_index: i32) -> usize {
        tlv_len(
            self.fields_len() + tlv_len(pdu_len(self.head.request_id, error_status, error_index, list_len)),
        )
    }

    fn fields_len(&self) -> usize {
        tlv_len(int_len(self.head.version)) + tlv_len(self.head.community.len())
    }

    /// Replaces `out` with the message; with `keep_rows` false the varbind list is empty.
    pub fn write(&self, error_status: i32, error_index: i32, keep_rows: bool, out: &mut Vec<u8>) {
        let (rows, list_len) = if keep_rows { (&self.rows[..], self.list_len) } else { (&[][..], 0) };
        let pdu = pdu_len(self.head.request_id, error_status, error_index, list_len);
        out.clear();
        header(out, tag::SEQUENCE, self.fields_len() + tlv_len(pdu));
        let mut w = Writer::new(out);
        w.signed(tag::INTEGER, i64::from(self.head.version));
        w.bytes(tag::OCTET_STRING, self.head.community);
        header(out, PduType::Response.tag(), pdu);
        let mut w = Writer::new(out);
        for field in [self.head.request_id, error_status, error_index] {
            w.signed(tag::INTEGER, i64::from(field));
        }
        header(out, tag::SEQUENCE, list_len);
        for &(oid, value) in rows {
            header(out, tag::SEQUENCE, row_len((oid, value)));
            header(out, tag::OBJECT_IDENTIFIER, oid.len());
            out.extend_from_slice(oid);
            match value {
                Val::Ref(v) => out.extend_from_slice(v),
                Val::Arena { start, len } => {
                    out.extend_from_slice(&self.arena[start as usize..][..len as usize]);
                }
            }
        }
    }
}

fn pdu_len(request_id: i32, error_status: i32, error_index: i32, list_len: usize) -> usize {
    [request_id, error_status, error_index].iter().map(|&v| tlv_len(int_len(v))).sum::<usize>()
        + tlv_len(list_len)
}

fn row_len((oid, value): Row<'_>) -> usize {
    let value = value.len();
    tlv_len(oid.len()) + value
}

/// Content octets of a minimal two's-complement INTEGER.
fn int_len(mut v: i32) -> usize {
    let mut n = 1;
    while !(-128..=127).contains(&v) {
        v >>= 8;
        n += 1;
    }
    n
}

/// Tag, minimal definite length and content.
fn tlv_len(content: usize) -> usize {
    let length_octets =
        if content < 0x80 { 1 } else { 1 + (usize::BITS - content.leading_zeros()).div_ceil(8) };
    1 + length_octets as usize + content
}

fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::{decode, Pdu, Value};

    #[test]
    fn sizes_match_what_is_written() {
        let long = vec![b'x'; 300];
        let value = {
            let mut v = Vec::new();
            Writer::new(&mut v).bytes(tag::OCTET_STRING, &long);
            v
        };
        let oid: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 1, 0];
        for (version, request_id, rows) in [(0, 0, 0), (1, -129, 1), (1, i32::MAX, 3), (1, i32::MIN, 40)] {
            let head = Head { version, community: b"public", request_id };
            let mut resp = Response::new(head, rows);
            for i in 0..rows {
                let val = if i % 2 == 0 {
                    Val::Ref(&value)
                } else {
                    resp.computed(|out| Writer::new(out).bytes(tag::OCTET_STRING, &long))
                };
                resp.push((oid, val));
            }
            let mut out = Vec::new();
            resp.write(0, 0, true, &mut out);
            assert_eq!(out.len(), resp.len(0, 0));
            let msg = decode(&out).expect("decodes");
            let Pdu::Standard(pdu) = msg.pdu else { panic!("standard PDU") };
            assert_eq!(
                (pdu.pdu_type, pdu.request_id, pdu.varbinds.len()),
                (PduType::Response, request_id, rows)
            );
            assert!(pdu.varbinds.iter().all(|vb| vb.value == Value::OctetString(&long)));
            resp.write(1, 0, false, &mut out);
            let msg = decode(&out).expect("decodes");
            assert_eq!(msg.pdu.varbinds().len(), 0);
        }
    }

    #[test]
    fn try_push_respects_the_limit() {
        let head = Head { version: 1, community: b"public", request_id: 7 };
        let mut resp = Response::new(head, 4);
        let empty = resp.len(0, 0);
        let row: Row<'_> = (&[0x2b, 6], END_OF_MIB_VIEW);
        let one = empty + tlv_len(row_len(row));
        assert!(!resp.try_push(row, one - 1));
        assert!(resp.try_push(row, one));
        assert_eq!(resp.len(0, 0), one);
        assert_eq!(resp.rows(), 1);
    }

    #[test]
    fn lengths() {
        assert_eq!([int_len(0), int_len(127), int_len(128), int_len(-128), int_len(-129)], [1, 1, 2, 1, 2]);
        assert_eq!([int_len(i32::MAX), int_len(i32::MIN)], [4, 4]);
        assert_eq!(
            [tlv_len(0), tlv_len(127), tlv_len(128), tlv_len(255), tlv_len(256)],
            [2, 129, 131, 258, 260]
        );
    }
}
