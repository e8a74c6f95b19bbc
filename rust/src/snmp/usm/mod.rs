//! The User-based Security Model (RFC 3414, RFC 3826, RFC 7860): keys, authentication,
//! privacy, and the users (credentials) the engine and the simulator speak for.
//!
//! * [`keys`] — password to key, localization, the AES-192/256 key extension;
//! * [`auth`] — HMAC-MD5-96, HMAC-SHA-96, HMAC-SHA-2 (RFC 7860);
//! * [`privacy`] — DES-CBC and AES-CFB128.
//!
//! All cryptography is RustCrypto's (hmac, md-5, sha1, sha2, des, aes, cbc, cfb-mode).

pub mod auth;
pub mod keys;
pub mod privacy;
mod user;

pub use user::{Credentials, CredentialsError, LocalKeys, SecurityLevel};

/// An authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl AuthProtocol {
    pub const ALL: [Self; 6] =
        [Self::Md5, Self::Sha1, Self::Sha224, Self::Sha256, Self::Sha384, Self::Sha512];

    /// Bytes of msgAuthenticationParameters (the truncated HMAC).
    #[must_use]
    pub fn mac_len(self) -> usize {
        match self {
            Self::Md5 | Self::Sha1 => 12,
            Self::Sha224 => 16,
            Self::Sha256 => 24,
            Self::Sha384 => 32,
            Self::Sha512 => 48,
        }
    }

    /// The name net-snmp's tools and printwatch's CLI use (`MD5`, `SHA`, `SHA-224`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// Parses a name, case-insensitively and with or without the dash (`sha256`, `SHA-256`,
    /// `SHA1`, `SHA`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String =
            name.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_uppercase();
        Some(match n.as_str() {
            "MD5" => Self::Md5,
            "SHA" | "SHA1" => Self::Sha1,
            "SHA224" => Self::Sha224,
            "SHA256" => Self::Sha256,
            "SHA384" => Self::Sha384,
            "SHA512" => Self::Sha512,
            _ => return None,
        })
    }
}

/// A privacy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivProtocol {
    Des,
    Aes128,
    Aes192,
    Aes256,
}

impl PrivProtocol {
    pub const ALL: [Self; 4] = [Self::Des, Self::Aes128, Self::Aes192, Self::Aes256];

    /// Bytes of localized key the cipher takes (DES: 8 of key and 8 of pre-IV).
    #[must_use]
    pub fn key_len(self) -> usize {
        match self {
            Self::Des | Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Des => "DES",
            Self::Aes128 => "AES",
            Self::Aes192 => "AES-192",
            Self::Aes256 => "AES-256",
        }
    }

    /// Parses a name (`DES`, `AES`, `AES128`, `AES-192`, `aes256`, ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String =
            name.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_uppercase();
        Some(match n.as_str() {
            "DES" => Self::Des,
            "AES" | "AES128" => Self::Aes128,
            "AES192" => Self::Aes192,
            "AES256" => Self::Aes256,
            _ => return None,
        })
    }
}

/// The usmStats counters an agent reports (RFC 3414 5, `1.3.6.1.6.3.15.1.1.N.0`), and
/// snmpUnknownContexts (RFC 3413, `1.3.6.1.6.3.12.1.1.4.0` / MPD's `1.3.6.1.6.3.11.2.1.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    UnsupportedSecLevel,
    NotInTimeWindow,
    UnknownUserName,
    UnknownEngineId,
    WrongDigest,
    DecryptionError,
    /// snmpUnknownContexts / snmpUnavailableContexts (RFC 3413).
    UnknownContext,
    /// Any other report (snmpUnknownPDUHandlers, snmpInvalidMsgs, ...).
    Other,
}

/// The BER content of `1.3.6.1.6.3.15.1.1` (usmStats).
const USM_STATS: [u8; 9] = [0x2b, 6, 1, 6, 3, 15, 1, 1, 0];
/// `1.3.6.1.6.3.12.1` (snmpTargetObjects): `.4.0` unavailable, `.5.0` unknown contexts.
const TARGET_OBJECTS: [u8; 8] = [0x2b, 6, 1, 6, 3, 12, 1, 0];

impl ReportKind {
    /// The kind a report's first varbind names.
    #[must_use]
    pub fn from_oid(oid: crate::snmp::Oid<'_>) -> Self {
        let b = oid.as_ber();
        if b.len() == 10 && b[..8] == USM_STATS[..8] && b[9] == 0 {
            return match b[8] {
                1 => Self::UnsupportedSecLevel,
                2 => Self::NotInTimeWindow,
                3 => Self::UnknownUserName,
                4 => Self::UnknownEngineId,
                5 => Self::WrongDigest,
                6 => Self::DecryptionError,
                _ => Self::Other,
            };
        }
        if b.len() == 9 && b[..7] == TARGET_OBJECTS[..7] && (b[7] == 4 || b[7] == 5) && b[8] == 0 {
            return Self::UnknownContext;
        }
        Self::Other
    }

    /// The counter's OID (for agents that send the report), dotted.
    #[must_use]
    pub fn oid(self) -> &'static str {
        match self {
            Self::UnsupportedSecLevel => "1.3.6.1.6.3.15.1.1.1.0",
            Self::NotInTimeWindow => "1.3.6.1.6.3.15.1.1.2.0",
            Self::UnknownUserName => "1.3.6.1.6.3.15.1.1.3.0",
            Self::UnknownEngineId => "1.3.6.1.6.3.15.1.1.4.0",
            Self::WrongDigest => "1.3.6.1.6.3.15.1.1.5.0",
            Self::DecryptionError => "1.3.6.1.6.3.15.1.1.6.0",
            Self::UnknownContext => "1.3.6.1.6.3.12.1.5.0",
            Self::Other => "1.3.6.1.6.3.11.2.1.1.0",
        }
    }

    /// The name failures carry.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::UnsupportedSecLevel => "unsupportedSecLevel",
            Self::NotInTimeWindow => "notInTimeWindow",
            Self::UnknownUserName => "unknownUserName",
            Self::UnknownEngineId => "unknownEngineID",
            Self::WrongDigest => "wrongDigest",
            Self::DecryptionError => "decryptionError",
            Self::UnknownContext => "unknownContext",
            Self::Other => "report",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::OidBuf;

    #[test]
    fn report_oids_round_trip() {
        for k in [
            ReportKind::UnsupportedSecLevel,
            ReportKind::NotInTimeWindow,
            ReportKind::UnknownUserName,
            ReportKind::UnknownEngineId,
            ReportKind::WrongDigest,
            ReportKind::DecryptionError,
            ReportKind::UnknownContext,
        ] {
            assert_eq!(ReportKind::from_oid(OidBuf::parse(k.oid()).unwrap().as_oid()), k);
        }
        assert_eq!(
            ReportKind::from_oid(OidBuf::parse("1.3.6.1.6.3.12.1.4.0").unwrap().as_oid()),
            ReportKind::UnknownContext
        );
        assert_eq!(
            ReportKind::from_oid(OidBuf::parse("1.3.6.1.6.3.15.1.1.9.0").unwrap().as_oid()),
            ReportKind::Other
        );
    }

    #[test]
    fn names_parse() {
        for p in AuthProtocol::ALL {
            assert_eq!(AuthProtocol::from_name(p.name()), Some(p));
        }
        for p in PrivProtocol::ALL {
            assert_eq!(PrivProtocol::from_name(p.name()), Some(p));
        }
        assert_eq!(AuthProtocol::from_name("sha256"), Some(AuthProtocol::Sha256));
        assert_eq!(PrivProtocol::from_name("aes128"), Some(PrivProtocol::Aes128));
        assert_eq!(AuthProtocol::from_name("sha3"), None);
    }
}
