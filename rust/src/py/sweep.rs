//! `expand_networks`, `icmp_kinds` and `IcmpSweep`: the subnet sweep's Python face.
//!
//! A sweep runs on its own Rust thread; `IcmpSweep.wait` blocks with the GIL released, in steps
//! of at most 50 ms with a signal check between them (`super::worker::wait`), and returns whole
//! batches of hosts found.

use std::net::Ipv4Addr;
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::worker;
use crate::sweep::{self, SweepConfig, SweepHandle};
use crate::udp::IcmpKind;

fn kind_name(kind: IcmpKind) -> &'static str {
    match kind {
        IcmpKind::Raw => "raw",
        IcmpKind::Datagram => "datagram",
    }
}

/// Every host address of `networks` (CIDR `a.b.c.d/n` or single addresses) that no network of
/// `exclude` contains, ascending, each once; network and broadcast addresses are left out.
///
/// Error handling: `ValueError` naming a spec that does not parse, or the networks when they
/// hold more than `max_addresses`.
#[pyfunction]
#[pyo3(signature = (networks, exclude = Vec::new(), *, max_addresses = sweep::MAX_ADDRESSES))]
#[allow(clippy::needless_pass_by_value)]
fn expand_networks(
    networks: Vec<String>,
    exclude: Vec<String>,
    max_addresses: usize,
) -> PyResult<Vec<String>> {
    let include: Vec<&str> = networks.iter().map(String::as_str).collect();
    let exclude: Vec<&str> = exclude.iter().map(String::as_str).collect();
    let addrs = sweep::expand(&include, &exclude, max_addresses).map_err(|e| PyValueError::new_err(e.0))?;
    Ok(addrs.iter().map(ToString::to_string).collect())
}

/// The ICMP sockets this process may open, preferred first: `"raw"` (needs CAP_NET_RAW) and
/// `"datagram"` (needs the group within net.ipv4.ping_group_range).
#[pyfunction]
fn icmp_kinds() -> Vec<&'static str> {
    sweep::available_kinds().into_iter().map(kind_name).collect()
}

/// A running ICMP echo sweep: take hosts found with `wait`, stop it with `cancel`.
#[pyclass(frozen, module = "printwatch.discovery")]
pub struct IcmpSweep {
    inner: SweepHandle,
    kind: IcmpKind,
}

#[pymethods]
impl IcmpSweep {
    /// Starts sweeping `addresses` (IPv4, dotted) on a new thread and returns at once.
    ///
    /// Error handling: `ValueError` for a bad address or setting, `PermissionError` when the
    /// system does not allow this `kind` of ICMP socket, `OSError` for other socket failures.
    #[new]
    #[pyo3(signature = (addresses, *, kind = "raw", timeout_s = 1.0, retries = 0, max_pps = 1000, limit_s = None))]
    #[allow(clippy::needless_pass_by_value)]
    fn py_new(
        addresses: Vec<String>,
        kind: &str,
        timeout_s: f64,
        retries: u32,
        max_pps: u32,
        limit_s: Option<f64>,
    ) -> PyResult<Self> {
        let kind = match kind {
            "raw" => IcmpKind::Raw,
            "datagram" => IcmpKind::Datagram,
            other => {
                return Err(PyValueError::new_err(format!("kind must be 'raw' or 'datagram', not {other:?}")))
            }
        };
        if !(0.001..=60.0).contains(&timeout_s) {
            return Err(PyValueError::new_err(format!(
                "timeout_s must be between 0.001 and 60, not {timeout_s}"
            )));
        }
        let limit = match limit_s {
            None => None,
            Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
            Some(s) => return Err(PyValueError::new_err(format!("limit_s must be positive, not {s}"))),
        };
        let targets = addresses
            .iter()
            .map(|a| {
                a.parse::<Ipv4Addr>()
                    .map_err(|_| PyValueError::new_err(format!("not an IPv4 address: {a:?}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let config = SweepConfig { timeout: Duration::from_secs_f64(timeout_s), retries, max_pps, limit };
        config.validate().map_err(PyValueError::new_err)?;
        let inner = SweepHandle::start(config, kind, targets).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(format!(
                "cannot open a {} ICMP socket: {e} (raw needs CAP_NET_RAW; datagram needs the group in \
                 net.ipv4.ping_group_range)",
                kind_name(kind)
            )),
            std::io::ErrorKind::InvalidInput => PyValueError::new_err(e.to_string()),
            _ => PyOSError::new_err(format!("cannot start the sweep: {e}")),
        })?;
        Ok(Self { inner, kind })
    }

    /// Waits up to `timeout_s` for hosts that answered and returns them (possibly none), as
    /// `(index, address, rtt_ms)`. Once `done` is true and everything has been taken, it returns
    /// an empty list at once.
    ///
    /// Error handling: `OSError` once everything is taken, if the socket failed.
    #[pyo3(signature = (timeout_s = 1.0))]
    fn wait(&self, py: Python<'_>, timeout_s: f64) -> PyResult<Vec<(u32, String, f64)>> {
        let found = worker::wait(py, &self.inner, timeout_s)?;
        Ok(found.into_iter().map(|f| (f.index, f.addr.to_string(), f.rtt.as_secs_f64() * 1000.0)).collect())
    }

    /// Stops sending (within 20 ms); what was found stays to be taken.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether the sweep is over (hosts found may still be waiting to be taken).
    #[getter]
    fn done(&self) -> bool {
        self.inner.is_done()
    }

    /// `"raw"` or `"datagram"`.
    #[getter]
    fn kind(&self) -> &'static str {
        kind_name(self.kind)
    }

    /// The sweep's counters: targets, probed, finished, alive, packets and bytes each way (ICMP
    /// bytes; add 20 per packet for the IP header), replies, other, malformed, timeouts,
    /// retries, send_errors, and whether a time limit (`limited`) or a cancel (`cancelled`)
    /// ended it early.
    fn statistics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = worker::counters(
            py,
            &[
                ("targets", s.targets),
                ("probed", s.probed),
                ("finished", s.finished),
                ("alive", s.alive),
                ("packets_sent", s.packets_sent),
                ("bytes_sent", s.bytes_sent),
                ("packets_received", s.packets_received),
                ("bytes_received", s.bytes_received),
                ("replies", s.replies),
                ("other", s.other),
                ("malformed", s.malformed),
                ("timeouts", s.timeouts),
                ("retries", s.retries),
                ("send_errors", s.send_errors),
            ],
        )?;
        d.set_item("limited", s.limited)?;
        d.set_item("cancelled", s.cancelled)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let s = self.inner.stats();
        format!(
            "<IcmpSweep {} {}/{} finished, {} alive>",
            kind_name(self.kind),
            s.finished,
            s.targets,
            s.alive
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(expand_networks, m)?)?;
    m.add_function(wrap_pyfunction!(icmp_kinds, m)?)?;
    m.add_class::<IcmpSweep>()?;
    Ok(())
}
