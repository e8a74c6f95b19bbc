//! A USM user as printwatch speaks for it: name, security level, protocols and master keys
//! (computed once from the passwords, so thousands of targets sharing a user cost one
//! password-to-key each), and the keys localized to one engine.

use std::fmt;

use super::keys::{extend, localize, password_to_key, MIN_PASSWORD_LEN};
use super::{AuthProtocol, PrivProtocol};

/// RFC 3411 securityLevel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecurityLevel {
    NoAuthNoPriv,
    AuthNoPriv,
    AuthPriv,
}

impl SecurityLevel {
    /// msgFlags' auth and priv bits.
    #[must_use]
    pub fn flags(self) -> u8 {
        match self {
            Self::NoAuthNoPriv => 0,
            Self::AuthNoPriv => 1,
            Self::AuthPriv => 3,
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NoAuthNoPriv => "noAuthNoPriv",
            Self::AuthNoPriv => "authNoPriv",
            Self::AuthPriv => "authPriv",
        }
    }
}

/// Credentials that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError(pub String);

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CredentialsError {}

/// A user's name, protocols and master keys (Ku), plus the context to read in.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: Vec<u8>,
    pub auth: Option<(AuthProtocol, Vec<u8>)>,
    /// The privacy protocol and its master key (made with the authentication protocol's hash).
    pub privacy: Option<(PrivProtocol, Vec<u8>)>,
    pub context: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys.
        f.debug_struct("Credentials")
            .field("user", &String::from_utf8_lossy(&self.user))
            .field("auth", &self.auth.as_ref().map(|a| a.0))
            .field("privacy", &self.privacy.as_ref().map(|p| p.0))
            .field("context", &String::from_utf8_lossy(&self.context))
            .finish()
    }
}

fn check_password(what: &str, password: &[u8]) -> Result<(), CredentialsError> {
    if password.len() < MIN_PASSWORD_LEN {
        return Err(CredentialsError(format!(
            "the {what} password must have at least {MIN_PASSWORD_LEN} characters (RFC 3414 11.2), not {}",
            password.len()
        )));
    }
    Ok(())
}

impl Credentials {
    /// Checks the combination and derives the master keys (about 1 MB of hashing per password).
    pub fn new(
        user: &[u8],
        auth: Option<(AuthProtocol, &[u8])>,
        privacy: Option<(PrivProtocol, &[u8])>,
        context: &[u8],
    ) -> Result<Self, CredentialsError> {
        if user.is_empty() || user.len() > 32 {
            return Err(CredentialsError(format!(
                "the user name must have 1 to 32 bytes, not {}",
                user.len()
            )));
        }
        if context.len() > 32 {
            return Err(CredentialsError(format!(
                "the context name has at most 32 bytes, not {}",
                context.len()
            )));
        }
        let auth = match auth {
            Some((proto, password)) => {
                check_password("authentication", password)?;
                Some((proto, password_to_key(proto, password)))
            }
            None => None,
        };
        let privacy = match (privacy, &auth) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(CredentialsError(
                    "privacy needs authentication (no authPriv without auth)".into(),
                ))
            }
            (Some((proto, password)), Some((auth_proto, _))) => {
                check_password("privacy", password)?;
                Some((proto, password_to_key(*auth_proto, password)))
            }
        };
        Ok(Self { user: user.to_vec(), auth, privacy, context: context.to_vec() })
    }

    #[must_use]
    pub fn level(&self) -> SecurityLevel {
        match (&self.auth, &self.privacy) {
            (None, _) => SecurityLevel::NoAuthNoPriv,
            (Some(_), None) => SecurityLevel::AuthNoPriv,
            (Some(_), Some(_)) => SecurityLevel::AuthPriv,
        }
    }

    /// The keys localized to `engine_id`.
    #[must_use]
    pub fn localize(&self, engine_id: &[u8]) -> LocalKeys {
        let auth = self.auth.as_ref().map(|(proto, ku)| (*proto, localize(*proto, ku, engine_id)));
        let privacy = match (&self.privacy, &self.auth) {
            (Some((proto, ku)), Some((auth_proto, _))) => {
                let kul = localize(*auth_proto, ku, engine_id);
                Some((*proto, extend(*auth_proto, kul, proto.key_len())))
            }
            _ => None,
        };
        LocalKeys { auth, privacy }
    }
}

/// A user's keys localized to one engine.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKeys {
    pub auth: Option<(AuthProtocol, Vec<u8>)>,
    pub privacy: Option<(PrivProtocol, Vec<u8>)>,
}

impl fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKeys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_combinations() {
        assert!(Credentials::new(b"", None, None, b"").is_err());
        assert!(Credentials::new(b"u", Some((AuthProtocol::Md5, b"short")), None, b"").is_err());
        let e = Credentials::new(b"u", None, Some((PrivProtocol::Des, b"longenough")), b"").unwrap_err();
        assert!(e.0.contains("privacy needs authentication"));
        let c = Credentials::new(
            b"u",
            Some((AuthProtocol::Sha1, b"maplesyrup")),
            Some((PrivProtocol::Aes256, b"maplesyrup")),
            b"",
        )
        .unwrap();
        assert_eq!(c.level(), SecurityLevel::AuthPriv);
        let k = c.localize(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(k.auth.as_ref().unwrap().1.len(), 20);
        assert_eq!(k.privacy.as_ref().unwrap().1.len(), 32);
        assert!(!format!("{c:?}").contains("maple"));
    }
}
