use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::ber::{DecodeError as RustDecodeError, ErrorKind};

create_exception!(
    printwatch._core,
    PrintwatchError,
    PyException,
    "Base class of the exceptions printwatch raises on purpose."
);
create_exception!(
    printwatch._core,
    DecodeError,
    PrintwatchError,
    "Bytes that are not a valid SNMP v1/v2c message; `.offset` and `.reason` say where and why."
);
create_exception!(
    printwatch._core,
    EncodeError,
    PrintwatchError,
    "A message that printwatch cannot or will not encode (a SetRequest, a PDU its version lacks)."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PrintwatchError", py.get_type::<PrintwatchError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("EncodeError", py.get_type::<EncodeError>())?;
    Ok(())
}

/// A short, stable, machine-readable name for an error kind.
fn reason(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Truncated => "truncated",
        ErrorKind::HighTagNumber => "high_tag_number",
        ErrorKind::UnexpectedTag { .. } => "unexpected_tag",
        ErrorKind::UnknownValueTag(_) => "unknown_value_tag",
        ErrorKind::UnknownPduTag(_) => "unknown_pdu_tag",
        ErrorKind::IndefiniteLength => "indefinite_length",
        ErrorKind::LengthTooLong => "length_too_long",
        ErrorKind::LengthPastEnd { .. } => "length_past_end",
        ErrorKind::TrailingBytes(_) => "trailing_bytes",
        ErrorKind::EmptyInteger => "empty_integer",
        ErrorKind::IntegerOutOfRange => "integer_out_of_range",
        ErrorKind::NonEmptyNull => "non_empty_null",
        ErrorKind::EmptyOid => "empty_oid",
        ErrorKind::MalformedOid => "malformed_oid",
        ErrorKind::OidOverflow => "oid_overflow",
        ErrorKind::OidTooLong => "oid_too_long",
        ErrorKind::BadIpAddress(_) => "bad_ip_address",
        ErrorKind::UnsupportedVersion(_) => "unsupported_version",
        ErrorKind::PduNotAllowed { .. } => "pdu_not_allowed",
        ErrorKind::FieldOutOfRange(_) => "field_out_of_range",
    }
}

/// Converts a codec error into `DecodeError(message)` with `.offset`, `.reason` and `.detail`.
pub fn decode_error(py: Python<'_>, err: RustDecodeError) -> PyErr {
    let e = DecodeError::new_err(err.to_string());
    let value = e.value(py);
    // Setting attributes on a fresh exception instance cannot fail short of memory exhaustion,
    // in which case the exception still says everything in its message.
    let _ = value.setattr("offset", err.offset);
    let _ = value.setattr("reason", reason(err.kind));
    let _ = value.setattr("detail", err.kind.to_string());
    e
}
