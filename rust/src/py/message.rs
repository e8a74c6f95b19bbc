//! `Message`, `Pdu` and `VarBind`: immutable Python objects for one SNMP message.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::snmp::{OidBuf, PduType};

/// The value types, in the order and spelling of the Python API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    OctetString,
    Null,
    ObjectIdentifier,
    IpAddress,
    Counter32,
    Gauge32,
    TimeTicks,
    Opaque,
    Counter64,
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

const KINDS: [Kind; 13] = [
    Kind::Integer,
    Kind::OctetString,
    Kind::Null,
    Kind::ObjectIdentifier,
    Kind::IpAddress,
    Kind::Counter32,
    Kind::Gauge32,
    Kind::TimeTicks,
    Kind::Opaque,
    Kind::Counter64,
    Kind::NoSuchObject,
    Kind::NoSuchInstance,
    Kind::EndOfMibView,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Integer => "Integer",
            Self::OctetString => "OctetString",
            Self::Null => "Null",
            Self::ObjectIdentifier => "ObjectIdentifier",
            Self::IpAddress => "IpAddress",
            Self::Counter32 => "Counter32",
            Self::Gauge32 => "Gauge32",
            Self::TimeTicks => "TimeTicks",
            Self::Opaque => "Opaque",
            Self::Counter64 => "Counter64",
            Self::NoSuchObject => "NoSuchObject",
            Self::NoSuchInstance => "NoSuchInstance",
            Self::EndOfMibView => "EndOfMibView",
        }
    }

    fn from_name(name: &str) -> PyResult<Self> {
        KINDS.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            let names: Vec<_> = KINDS.iter().map(|k| k.name()).collect();
            PyValueError::new_err(format!("unknown value type {name:?}; one of {}", names.join(", ")))
        })
    }
}

/// One variable binding: `.oid` (dotted str), `.type` (str) and `.value`.
#[pyclass(frozen, module = "printwatch.snmp")]
pub struct VarBind {
    #[pyo3(get)]
    pub oid: Py<PyString>,
    pub kind: Kind,
    #[pyo3(get)]
    pub value: Py<PyAny>,
    /// The OID in BER content form, kept so that encoding does not parse the string again.
    pub oid_ber: OidBuf,
}

/// Checks that `value` fits `kind` and returns it normalized (e.g. `bytearray` becomes `bytes`).
fn checked_value<'py>(py: Python<'py>, kind: Kind, value: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    let type_error = |what: &str| {
        PyTypeError::new_err(format!("a {} value must be {what}, not {}", kind.name(), value.get_type()))
    };
    let range = |lo: i128, hi: i128| -> PyResult<Py<PyAny>> {
        if value.is_instance_of::<pyo3::types::PyBool>() {
            return Err(type_error("an int"));
        }
        let n: i128 = value.extract().map_err(|_| type_error("an int"))?;
        if n < lo || n > hi {
            return Err(PyValueError::new_err(format!(
                "{n} is out of range for {} ({lo}..{hi})",
                kind.name()
            )));
        }
        n.into_py_any(py)
    };
    match kind {
        Kind::Integer => range(i128::from(i32::MIN), i128::from(i32::MAX)),
        Kind::Counter32 | Kind::Gauge32 | Kind::TimeTicks => range(0, i128::from(u32::MAX)),
        Kind::Counter64 => range(0, i128::from(u64::MAX)),
        Kind::OctetString | Kind::Opaque => {
            if value.is_instance_of::<PyBytes>() {
                return Ok(value.clone().unbind());
            }
            if value.is_instance_of::<pyo3::types::PyByteArray>()
                || value.is_instance_of::<pyo3::types::PyMemoryView>()
            {
                return Ok(py.get_type::<PyBytes>().call1((value,))?.unbind());
            }
            Err(type_error("bytes"))
        }
        Kind::ObjectIdentifier => {
            let s: String = value.extract().map_err(|_| type_error("a dotted OID string"))?;
            parse_oid(&s)?.to_string().into_py_any(py)
        }
        Kind::IpAddress => {
            let s: String = value.extract().map_err(|_| type_error("a dotted-quad string"))?;
            parse_ipv4(&s)?;
            s.into_py_any(py)
        }
        Kind::Null | Kind::NoSuchObject | Kind::NoSuchInstance | Kind::EndOfMibView => {
            if value.is_none() {
                Ok(py.None())
            } else {
                Err(type_error("None"))
            }
        }
    }
}

pub fn parse_ipv4(s: &str) -> PyResult<[u8; 4]> {
    s.parse::<std::net::Ipv4Addr>()
        .map(|a| a.octets())
        .map_err(|_| PyValueError::new_err(format!("bad IPv4 address {s:?}")))
}

pub fn parse_oid(s: &str) -> PyResult<OidBuf> {
    OidBuf::parse(s).map_err(|e| PyValueError::new_err(format!("bad OID {s:?}: {e}")))
}

#[pymethods]
impl VarBind {
    /// `VarBind(oid, type="Null", value=None)`; the value is checked against the type.
    #[new]
    #[pyo3(signature = (oid, r#type = "Null", value = None))]
    fn py_new(py: Python<'_>, oid: &str, r#type: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let oid_ber = parse_oid(oid)?;
        let kind = Kind::from_name(r#type)?;
        let none = py.None().into_bound(py);
        let value = checked_value(py, kind, value.unwrap_or(&none))?;
        Ok(Self { oid: PyString::new(py, &oid_ber.to_string()).unbind(), kind, value, oid_ber })
    }

    #[getter(r#type)]
    fn type_name(&self) -> &'static str {
        self.kind.name()
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<VarBind>() else { return Ok(false) };
        let other = other.get();
        Ok(self.kind == other.kind
            && self.oid_ber == other.oid_ber
            && self.value.bind(py).eq(other.value.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "VarBind({}, {:?}, {})",
            self.oid.bind(py).repr()?,
            self.kind.name(),
            self.value.bind(py).repr()?
        ))
    }
}

/// Which PDU: the eight standard ones, or the SNMPv1 Trap-PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduKind {
    Standard(PduType),
    TrapV1,
}

impl PduKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard(t) => t.name(),
            Self::TrapV1 => "trapv1",
        }
    }
}

/// Fields of the SNMPv1 Trap-PDU.
pub struct TrapFields {
    pub enterprise: OidBuf,
    pub agent_addr: [u8; 4],
    pub generic_trap: i32,
    pub specific_trap: i32,
    pub timestamp: u32,
}

/// A PDU. `.type` is one of `get getnext getbulk response set trap inform report trapv1`.
#[pyclass(frozen, module = "printwatch.snmp")]
pub struct Pdu {
    pub kind: PduKind,
    #[pyo3(get)]
    pub request_id: i32,
    #[pyo3(get)]
    pub error_status: i32,
    #[pyo3(get)]
    pub error_index: i32,
    /// For getbulk only: (non-repeaters, max-repetitions).
    pub bulk: Option<(i32, i32)>,
    pub trap: Option<TrapFields>,
    #[pyo3(get)]
    pub varbinds: Py<PyTuple>,
}

fn non_negative(name: &str, v: i64) -> PyResult<i32> {
    i32::try_from(v)
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be in 0..2147483647, not {v}")))
}

#[pymethods]
impl Pdu {
    /// `Pdu(type, varbinds=(), *, request_id=0, error_status=0, error_index=0,
    /// non_repeaters=None, max_repetitions=None, enterprise=None, agent_addr=None,
    /// generic_trap=0, specific_trap=0, timestamp=0)`.
    ///
    /// getbulk takes `non_repeaters` (default 0) and `max_repetitions` (default 10) and keeps
    /// error_status and error_index at 0; trapv1 needs `enterprise` and `agent_addr`.
    #[new]
    #[pyo3(signature = (r#type, varbinds = None, *, request_id = 0, error_status = 0, error_index = 0,
        non_repeaters = None, max_repetitions = None, enterprise = None, agent_addr = None,
        generic_trap = 0, specific_trap = 0, timestamp = 0))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        r#type: &str,
        varbinds: Option<&Bound<'_, PyAny>>,
        request_id: i32,
        error_status: i32,
        error_index: i32,
        non_repeaters: Option<i64>,
        max_repetitions: Option<i64>,
        enterprise: Option<&str>,
        agent_addr: Option<&str>,
        generic_trap: i32,
        specific_trap: i32,
        timestamp: u32,
    ) -> PyResult<Self> {
        let kind = match (PduType::from_name(r#type), r#type) {
            (Some(t), _) => PduKind::Standard(t),
            (None, "trapv1") => PduKind::TrapV1,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "unknown PDU type {type:?}; one of {}",
                    pdu_type_names().join(" ")
                )))
            }
        };
        let varbinds = match varbinds {
            None => PyTuple::empty(py),
            Some(seq) => {
                let items: Vec<Bound<'_, PyAny>> = seq.try_iter()?.collect::<PyResult<_>>()?;
                for (i, item) in items.iter().enumerate() {
                    if !item.is_instance_of::<VarBind>() {
                        return Err(PyTypeError::new_err(format!(
                            "varbinds[{i}] must be a VarBind, not {}",
                            item.get_type()
                        )));
                    }
                }
                PyTuple::new(py, items)?
            }
        };
        let is_bulk = kind == PduKind::Standard(PduType::GetBulk);
        if !is_bulk && (non_repeaters.is_some() || max_repetitions.is_some()) {
            return Err(PyValueError::new_err("non_repeaters and max_repetitions belong to getbulk only"));
        }
        let bulk = if is_bulk {
            if error_status != 0 || error_index != 0 {
                return Err(PyValueError::new_err("a getbulk PDU has no error_status or error_index"));
            }
            Some((
                non_negative("non_repeaters", non_repeaters.unwrap_or(0))?,
                non_negative("max_repetitions", max_repetitions.unwrap_or(10))?,
            ))
        } else {
            None
        };
        let trap = if kind == PduKind::TrapV1 {
            let (Some(enterprise), Some(agent_addr)) = (enterprise, agent_addr) else {
                return Err(PyValueError::new_err("a trapv1 PDU needs enterprise and agent_addr"));
            };
            Some(TrapFields {
                enterprise: parse_oid(enterprise)?,
                agent_addr: parse_ipv4(agent_addr)?,
                generic_trap,
                specific_trap,
                timestamp,
            })
        } else {
            if enterprise.is_some() || agent_addr.is_some() {
                return Err(PyValueError::new_err("enterprise and agent_addr belong to trapv1 only"));
            }
            None
        };
        Ok(Self { kind, request_id, error_status, error_index, bulk, trap, varbinds: varbinds.unbind() })
    }

    #[getter(r#type)]
    fn type_name(&self) -> &'static str {
        self.kind.name()
    }

    #[getter]
    fn non_repeaters(&self) -> Option<i32> {
        self.bulk.map(|b| b.0)
    }

    #[getter]
    fn max_repetitions(&self) -> Option<i32> {
        self.bulk.map(|b| b.1)
    }

    #[getter]
    fn enterprise(&self) -> Option<String> {
        self.trap.as_ref().map(|t| t.enterprise.to_string())
    }

    #[getter]
    fn agent_addr(&self) -> Option<String> {
        self.trap.as_ref().map(|t| std::net::Ipv4Addr::from(t.agent_addr).to_string())
    }

    #[getter]
    fn generic_trap(&self) -> Option<i32> {
        self.trap.as_ref().map(|t| t.generic_trap)
    }

    #[getter]
    fn specific_trap(&self) -> Option<i32> {
        self.trap.as_ref().map(|t| t.specific_trap)
    }

    #[getter]
    fn timestamp(&self) -> Option<u32> {
        self.trap.as_ref().map(|t| t.timestamp)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Pdu>() else { return Ok(false) };
        let o = other.get();
        let same_trap = match (&self.trap, &o.trap) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.enterprise == b.enterprise
                    && a.agent_addr == b.agent_addr
                    && a.generic_trap == b.generic_trap
                    && a.specific_trap == b.specific_trap
                    && a.timestamp == b.timestamp
            }
            _ => false,
        };
        Ok(self.kind == o.kind
            && self.request_id == o.request_id
            && self.error_status == o.error_status
            && self.error_index == o.error_index
            && self.bulk == o.bulk
            && same_trap
            && self.varbinds.bind(py).eq(o.varbinds.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let extra = match (&self.bulk, &self.trap) {
            (Some((n, m)), _) => format!("non_repeaters={n}, max_repetitions={m}"),
            (_, Some(t)) => format!(
                "enterprise='{}', agent_addr='{}', generic_trap={}, specific_trap={}, timestamp={}",
                t.enterprise,
                std::net::Ipv4Addr::from(t.agent_addr),
                t.generic_trap,
                t.specific_trap,
                t.timestamp
            ),
            _ => format!("error_status={}, error_index={}", self.error_status, self.error_index),
        };
        Ok(format!(
            "Pdu({:?}, request_id={}, {extra}, varbinds={})",
            self.kind.name(),
            self.request_id,
            self.varbinds.bind(py).repr()?
        ))
    }
}

/// An SNMP v1/v2c message: `.version` (0 = v1, 1 = v2c), `.community` (bytes), `.pdu`.
#[pyclass(frozen, module = "printwatch.snmp")]
pub struct Message {
    #[pyo3(get)]
    pub version: i32,
    #[pyo3(get)]
    pub community: Py<PyBytes>,
    #[pyo3(get)]
    pub pdu: Py<Pdu>,
}

#[pymethods]
impl Message {
    /// `Message(version, community, pdu)`: version 0 (v1) or 1 (v2c).
    #[new]
    fn py_new(py: Python<'_>, version: i32, community: &Bound<'_, PyAny>, pdu: Py<Pdu>) -> PyResult<Self> {
        if !(0..=1).contains(&version) {
            return Err(PyValueError::new_err(format!("version must be 0 (v1) or 1 (v2c), not {version}")));
        }
        if community.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("community must be bytes (e.g. b\"public\"), not str"));
        }
        let community: Vec<u8> =
            community.extract().map_err(|_| PyTypeError::new_err("community must be bytes"))?;
        Ok(Self { version, community: PyBytes::new(py, &community).unbind(), pdu })
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Message>() else { return Ok(false) };
        let o = other.get();
        Ok(self.version == o.version
            && self.community.bind(py).as_bytes() == o.community.bind(py).as_bytes()
            && self.pdu.bind(py).as_any().eq(o.pdu.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Message(version={}, community={}, pdu={})",
            self.version,
            self.community.bind(py).repr()?,
            self.pdu.bind(py).repr()?
        ))
    }
}

/// The PDU type names of the Python API: the standard PDUs, then the SNMPv1 Trap-PDU.
fn pdu_type_names() -> Vec<&'static str> {
    PduType::ALL.iter().map(|t| t.name()).chain([PduKind::TrapV1.name()]).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("VALUE_TYPES", PyTuple::new(py, KINDS.iter().map(|k| k.name()))?)?;
    m.add("PDU_TYPES", PyTuple::new(py, pdu_type_names())?)?;
    m.add_class::<VarBind>()?;
    m.add_class::<Pdu>()?;
    m.add_class::<Message>()?;
    Ok(())
}
