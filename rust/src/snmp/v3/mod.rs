//! SNMPv3 messages (RFC 3412 6) with USM security parameters (RFC 3414 2.4), sans-I/O.
//!
//! [`decode`] reads the header and the security parameters and leaves the scopedPDU (plain
//! or encrypted) as bytes; [`secure`] authenticates and decrypts it with a user's localized
//! keys, and builds signed, encrypted requests; [`decode_scoped_pdu`] reads the plaintext.

mod codec;
pub mod secure;

pub use codec::{decode, decode_scoped_pdu, encode, encode_scoped_pdu, message_version};

use crate::snmp::StandardPdu;

/// msgFlags bits (RFC 3412 6.4).
pub mod flags {
    pub const AUTH: u8 = 1;
    pub const PRIV: u8 = 2;
    pub const REPORTABLE: u8 = 4;
}

/// The User-based Security Model's number (RFC 3411).
pub const USM: i32 = 3;

/// msgGlobalData.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub msg_id: i32,
    pub max_size: i32,
    pub flags: u8,
    pub security_model: i32,
}

/// UsmSecurityParameters (RFC 3414 2.4), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsmParams<'a> {
    pub engine_id: &'a [u8],
    pub boots: u32,
    pub time: u32,
    pub user: &'a [u8],
    pub auth_params: &'a [u8],
    pub priv_params: &'a [u8],
}

/// A decoded SNMPv3 message: header and security parameters; the scopedPDU left as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V3Message<'a> {
    pub header: Header,
    pub usm: UsmParams<'a>,
    /// Offset of msgAuthenticationParameters' content from the start of the datagram (to zero
    /// it when checking the digest).
    pub auth_params_at: usize,
    /// The plaintext scopedPDU's whole TLV, or the encryptedPDU's content octets.
    pub scoped: &'a [u8],
}

impl V3Message<'_> {
    #[must_use]
    pub fn is_encrypted(&self) -> bool {
        self.header.flags & flags::PRIV != 0
    }

    #[must_use]
    pub fn is_authenticated(&self) -> bool {
        self.header.flags & flags::AUTH != 0
    }
}

/// ScopedPDU (RFC 3412 6.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedPdu<'a> {
    pub context_engine_id: &'a [u8],
    pub context_name: &'a [u8],
    pub pdu: StandardPdu<'a>,
}
