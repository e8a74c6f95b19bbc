//! `V3Credentials`: an SNMPv3 (USM) user for the engine's targets and the simulator.
//!
//! The passwords become master keys here, once (about 1 MB of hashing each, GIL released);
//! the object keeps only the keys, never the passwords, and never shows either.

// PyO3 extracts arguments by value.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::snmp::usm::{AuthProtocol, Credentials, PrivProtocol};

/// `V3Credentials(user, auth_proto=None, auth_pass=None, priv_proto=None, priv_pass=None, *,
/// context="")`.
#[pyclass(frozen, module = "printwatch.engine")]
pub struct V3Credentials {
    pub inner: Arc<Credentials>,
}

fn text_or_bytes(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if value.is_instance_of::<PyString>() {
        return Ok(value.extract::<String>()?.into_bytes());
    }
    value.extract::<Vec<u8>>().map_err(|_| PyValueError::new_err(format!("{what} must be str or bytes")))
}

fn auth_proto(name: &str) -> PyResult<AuthProtocol> {
    AuthProtocol::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = AuthProtocol::ALL.iter().map(|p| p.name()).collect();
        PyValueError::new_err(format!("unknown auth_proto {name:?}: one of {}", names.join(", ")))
    })
}

fn priv_proto(name: &str) -> PyResult<PrivProtocol> {
    PrivProtocol::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = PrivProtocol::ALL.iter().map(|p| p.name()).collect();
        PyValueError::new_err(format!("unknown priv_proto {name:?}: one of {}", names.join(", ")))
    })
}

#[pymethods]
impl V3Credentials {
    #[new]
    #[pyo3(signature = (user, auth_proto = None, auth_pass = None, priv_proto = None, priv_pass = None, *, context = None))]
    fn py_new(
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        auth_proto: Option<&str>,
        auth_pass: Option<&Bound<'_, PyAny>>,
        priv_proto: Option<&str>,
        priv_pass: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let user = text_or_bytes("user", user)?;
        let context = context.map(|c| text_or_bytes("context", c)).transpose()?.unwrap_or_default();
        let auth = match (auth_proto, auth_pass) {
            (None, None) => None,
            (Some(p), Some(pass)) => Some((self::auth_proto(p)?, text_or_bytes("auth_pass", pass)?)),
            (Some(_), None) => return Err(PyValueError::new_err("auth_proto needs auth_pass")),
            (None, Some(_)) => return Err(PyValueError::new_err("auth_pass needs auth_proto")),
        };
        let privacy = match (priv_proto, priv_pass) {
            (None, None) => None,
            (Some(p), Some(pass)) => Some((self::priv_proto(p)?, text_or_bytes("priv_pass", pass)?)),
            (Some(_), None) => return Err(PyValueError::new_err("priv_proto needs priv_pass")),
            (None, Some(_)) => return Err(PyValueError::new_err("priv_pass needs priv_proto")),
        };
        let made = py.detach(|| {
            Credentials::new(
                &user,
                auth.as_ref().map(|(p, k)| (*p, k.as_slice())),
                privacy.as_ref().map(|(p, k)| (*p, k.as_slice())),
                &context,
            )
        });
        let inner = made.map_err(|e| PyValueError::new_err(e.0))?;
        Ok(Self { inner: Arc::new(inner) })
    }

    #[getter]
    fn user(&self) -> String {
        String::from_utf8_lossy(&self.inner.user).into_owned()
    }

    /// `MD5`, `SHA`, `SHA-224`, `SHA-256`, `SHA-384`, `SHA-512`, or `None` (noAuthNoPriv).
    #[getter]
    fn auth_proto(&self) -> Option<&'static str> {
        self.inner.auth.as_ref().map(|(p, _)| p.name())
    }

    /// `DES`, `AES`, `AES-192`, `AES-256`, or `None`.
    #[getter]
    fn priv_proto(&self) -> Option<&'static str> {
        self.inner.privacy.as_ref().map(|(p, _)| p.name())
    }

    #[getter]
    fn context(&self) -> String {
        String::from_utf8_lossy(&self.inner.context).into_owned()
    }

    /// `noAuthNoPriv`, `authNoPriv` or `authPriv`.
    #[getter]
    fn level(&self) -> &'static str {
        self.inner.level().name()
    }

    fn __repr__(&self) -> String {
        let quoted = |v: Option<&str>| v.map_or_else(|| "None".to_string(), |s| format!("{s:?}"));
        format!(
            "V3Credentials({:?}, level={:?}, auth_proto={}, priv_proto={}, context={:?})",
            self.user(),
            self.level(),
            quoted(self.auth_proto()),
            quoted(self.priv_proto()),
            self.context()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<V3Credentials>()?;
    Ok(())
}
