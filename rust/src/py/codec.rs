//! `decode` and `encode` between bytes and the Python message objects.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use super::errors::{decode_error, EncodeError};
use super::message::{parse_ipv4, parse_oid, Kind, Message, Pdu, PduKind, TrapFields, VarBind};
use crate::snmp::{self, OidBuf, PduType, StandardPdu, TrapV1Pdu, Value, Version};

fn kind_of(v: &Value<'_>) -> Kind {
    match v {
        Value::Integer(_) => Kind::Integer,
        Value::OctetString(_) => Kind::OctetString,
        Value::Null => Kind::Null,
        Value::ObjectIdentifier(_) => Kind::ObjectIdentifier,
        Value::IpAddress(_) => Kind::IpAddress,
        Value::Counter32(_) => Kind::Counter32,
        Value::Gauge32(_) => Kind::Gauge32,
        Value::TimeTicks(_) => Kind::TimeTicks,
        Value::Opaque(_) => Kind::Opaque,
        Value::Counter64(_) => Kind::Counter64,
        Value::NoSuchObject => Kind::NoSuchObject,
        Value::NoSuchInstance => Kind::NoSuchInstance,
        Value::EndOfMibView => Kind::EndOfMibView,
    }
}

fn py_value(py: Python<'_>, v: &Value<'_>, scratch: &mut String) -> PyResult<Py<PyAny>> {
    match *v {
        Value::Integer(i) => i.into_py_any(py),
        Value::OctetString(s) | Value::Opaque(s) => PyBytes::new(py, s).into_py_any(py),
        Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => Ok(py.None()),
        Value::ObjectIdentifier(oid) => {
            scratch.clear();
            oid.write_dotted(scratch);
            PyString::new(py, scratch).into_py_any(py)
        }
        Value::IpAddress(a) => std::net::Ipv4Addr::from(a).to_string().into_py_any(py),
        Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => n.into_py_any(py),
        Value::Counter64(n) => n.into_py_any(py),
    }
}

/// One varbind as a Python `VarBind` (`scratch` is reused for the dotted strings).
pub fn py_varbind<'py>(
    py: Python<'py>,
    vb: &snmp::VarBind<'_>,
    scratch: &mut String,
) -> PyResult<Bound<'py, VarBind>> {
    scratch.clear();
    vb.oid.write_dotted(scratch);
    let oid = PyString::new(py, scratch).unbind();
    let value = py_value(py, &vb.value, scratch)?;
    Bound::new(py, VarBind { oid, kind: kind_of(&vb.value), value, oid_ber: vb.oid.to_owned() })
}

fn py_varbinds<'py>(py: Python<'py>, varbinds: &[snmp::VarBind<'_>]) -> PyResult<Bound<'py, PyTuple>> {
    let mut scratch = String::with_capacity(64);
    let items: PyResult<Vec<_>> = varbinds.iter().map(|vb| py_varbind(py, vb, &mut scratch)).collect();
    PyTuple::new(py, items?)
}

/// Decodes one SNMP v1/v2c message.
///
/// Error handling: raises `DecodeError` (with `.offset` and `.reason`) for anything that is not
/// exactly one valid message; never crashes on any input.
#[pyfunction]
fn decode<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, Message>> {
    let msg = snmp::decode(data).map_err(|e| decode_error(py, e))?;
    let pdu = match &msg.pdu {
        snmp::Pdu::Standard(p) => {
            let bulk = p.pdu_type == PduType::GetBulk;
            Pdu {
                kind: PduKind::Standard(p.pdu_type),
                request_id: p.request_id,
                error_status: if bulk { 0 } else { p.error_status },
                error_index: if bulk { 0 } else { p.error_index },
                bulk: bulk.then(|| (p.non_repeaters(), p.max_repetitions())),
                trap: None,
                varbinds: py_varbinds(py, &p.varbinds)?.unbind(),
            }
        }
        snmp::Pdu::TrapV1(t) => Pdu {
            kind: PduKind::TrapV1,
            request_id: 0,
            error_status: 0,
            error_index: 0,
            bulk: None,
            trap: Some(TrapFields {
                enterprise: t.enterprise.to_owned(),
                agent_addr: t.agent_addr,
                generic_trap: t.generic_trap,
                specific_trap: t.specific_trap,
                timestamp: t.time_stamp,
            }),
            varbinds: py_varbinds(py, &t.varbinds)?.unbind(),
        },
    };
    Bound::new(
        py,
        Message {
            version: msg.version.0,
            community: PyBytes::new(py, msg.community).unbind(),
            pdu: Py::new(py, pdu)?,
        },
    )
}

/// Owned pieces of one varbind's value that a borrowed `Value` can point into.
enum Held<'py> {
    Bytes(Bound<'py, PyBytes>),
    Oid(OidBuf),
    Plain,
}

fn rust_value<'a>(kind: Kind, value: &Bound<'_, PyAny>, held: &'a Held<'_>) -> PyResult<Value<'a>> {
    Ok(match (kind, held) {
        (Kind::OctetString, Held::Bytes(b)) => Value::OctetString(b.as_bytes()),
        (Kind::Opaque, Held::Bytes(b)) => Value::Opaque(b.as_bytes()),
        (Kind::ObjectIdentifier, Held::Oid(o)) => Value::ObjectIdentifier(o.as_oid()),
        (Kind::Integer, _) => Value::Integer(value.extract()?),
        (Kind::Null, _) => Value::Null,
        (Kind::IpAddress, _) => Value::IpAddress(parse_ipv4(&value.extract::<String>()?)?),
        (Kind::Counter32, _) => Value::Counter32(value.extract()?),
        (Kind::Gauge32, _) => Value::Gauge32(value.extract()?),
        (Kind::TimeTicks, _) => Value::TimeTicks(value.extract()?),
        (Kind::Counter64, _) => Value::Counter64(value.extract()?),
        (Kind::NoSuchObject, _) => Value::NoSuchObject,
        (Kind::NoSuchInstance, _) => Value::NoSuchInstance,
        (Kind::EndOfMibView, _) => Value::EndOfMibView,
        (Kind::OctetString | Kind::Opaque | Kind::ObjectIdentifier, _) => unreachable!("held matches kind"),
    })
}

/// Encodes a message to bytes (minimal BER).
///
/// Error handling: raises `EncodeError` for a SetRequest (printwatch never sends one) and for a
/// PDU that the message's version cannot carry (getbulk, inform, trap or report in v1; trapv1
/// in v2c).
#[pyfunction]
fn encode<'py>(py: Python<'py>, message: &Bound<'py, Message>) -> PyResult<Bound<'py, PyBytes>> {
    let message = message.get();
    let pdu = message.pdu.bind(py).get();
    let varbinds = pdu.varbinds.bind(py);
    let mut py_vbs = Vec::with_capacity(varbinds.len());
    let mut held = Vec::with_capacity(varbinds.len());
    for item in varbinds.iter() {
        let vb = item.cast_into::<VarBind>()?;
        let value = vb.get().value.bind(py).clone();
        held.push(match vb.get().kind {
            Kind::OctetString | Kind::Opaque => Held::Bytes(value.clone().cast_into::<PyBytes>()?),
            Kind::ObjectIdentifier => Held::Oid(parse_oid(&value.extract::<String>()?)?),
            _ => Held::Plain,
        });
        py_vbs.push((vb, value));
    }
    let mut vbs = Vec::with_capacity(py_vbs.len());
    for ((vb, value), h) in py_vbs.iter().zip(&held) {
        let vb = vb.get();
        vbs.push(snmp::VarBind { oid: vb.oid_ber.as_oid(), value: rust_value(vb.kind, value, h)? });
    }
    let community = message.community.bind(py).as_bytes();
    let rust_pdu = match (&pdu.kind, &pdu.trap) {
        (PduKind::Standard(t), _) => {
            let (error_status, error_index) = pdu.bulk.unwrap_or((pdu.error_status, pdu.error_index));
            snmp::Pdu::Standard(StandardPdu {
                pdu_type: *t,
                request_id: pdu.request_id,
                error_status,
                error_index,
                varbinds: vbs,
            })
        }
        (PduKind::TrapV1, Some(t)) => snmp::Pdu::TrapV1(TrapV1Pdu {
            enterprise: t.enterprise.as_oid(),
            agent_addr: t.agent_addr,
            generic_trap: t.generic_trap,
            specific_trap: t.specific_trap,
            time_stamp: t.timestamp,
            varbinds: vbs,
        }),
        (PduKind::TrapV1, None) => unreachable!("a trapv1 Pdu always has its trap fields"),
    };
    let msg = snmp::Message { version: Version(message.version), community, pdu: rust_pdu };
    let mut out = Vec::with_capacity(64 + 48 * msg.pdu.varbinds().len());
    snmp::encode_into(&msg, &mut out).map_err(|e| EncodeError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    Ok(())
}
