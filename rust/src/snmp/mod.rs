//! SNMP v1, v2c (RFC 1157, RFC 3416) and v3 (RFC 3412, [`v3`]; USM in [`usm`]) messages, sans-I/O.
//!
//! [`decode`] borrows everything from the datagram it is given ([`Message<'a>`] holds slices of
//! it); [`Encoder`] writes a message into a buffer it keeps between calls.

mod decode;
mod encode;
mod oid;
mod types;
pub mod usm;
pub mod v3;

pub use decode::{decode, decode_varbind};
pub use encode::{encode_into, encode_varbind, EncodeError, Encoder};
pub use oid::{Oid, OidBuf, OidParseError};
pub use types::{error_status, Message, Pdu, PduType, StandardPdu, TrapV1Pdu, Value, VarBind, Version};
