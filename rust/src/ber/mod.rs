//! Basic Encoding Rules, as far as SNMP needs them (X.690 restricted by RFC 3417 section 8).
//!
//! The [`Reader`] is bounded to the bytes it was given: every length is checked against what is
//! left before anything is sliced, and every error carries the byte offset where it was found.
//! The [`Writer`] emits definite, minimal lengths and minimal integer contents into a caller's
//! reusable buffer.
//!
//! What the reader accepts and rejects:
//! * single-octet tags only (SNMP never uses the high-tag-number form);
//! * definite lengths, short and long form with up to four length octets; a long form that is
//!   longer than needed is *accepted* (X.690 BER allows it; RFC 3417 only forbids senders to emit
//!   it, and some printer firmware does);
//! * the indefinite length (0x80) is rejected (RFC 3417 section 8 prohibits it);
//! * INTEGER contents must be non-empty; redundant leading sign octets are *accepted* (X.690
//!   8.3.2 asks senders for the minimal form, but gosnmp and pyasn1 send longer ones and net-snmp
//!   reads them);
//! * OBJECT IDENTIFIER sub-identifiers must be minimal (X.690 8.19.2) and fit in 32 bits.

mod error;
pub mod reader;
mod writer;

pub use error::{DecodeError, ErrorKind};
pub use reader::{Reader, Tlv};
pub use writer::Writer;

/// Universal and SNMP application tags, as they appear on the wire.
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OBJECT_IDENTIFIER: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const IP_ADDRESS: u8 = 0x40;
    pub const COUNTER32: u8 = 0x41;
    pub const GAUGE32: u8 = 0x42;
    pub const TIMETICKS: u8 = 0x43;
    pub const OPAQUE: u8 = 0x44;
    pub const COUNTER64: u8 = 0x46;
    pub const NO_SUCH_OBJECT: u8 = 0x80;
    pub const NO_SUCH_INSTANCE: u8 = 0x81;
    pub const END_OF_MIB_VIEW: u8 = 0x82;
}
