//! `Engine`, `Plan`, `Target`, `Batch` and `TargetResult`: the poll engine's Python face.
//!
//! A batch runs on its own Rust thread; `Batch.wait` blocks with the GIL released, in steps of
//! at most 50 ms with a signal check between them (`super::worker::wait`), and returns whole
//! batches of results.

// PyO3 extracts arguments by value.
#![allow(clippy::needless_pass_by_value)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use super::codec::py_varbind;
use super::message::{parse_oid, VarBind};

use super::usm::V3Credentials;
use super::worker;
use crate::engine::{self, EngineCache, EngineConfig, Request, VersionChoice, WalkHints};
use crate::snmp::Version;

/// `Plan(gets=(), walks=())`: scalars to GET and subtrees to walk, shared by many targets.
#[pyclass(frozen, module = "printwatch.engine")]
pub struct Plan {
    inner: Arc<engine::Plan>,
}

#[pymethods]
impl Plan {
    #[new]
    #[pyo3(signature = (gets = Vec::new(), walks = Vec::new()))]
    fn py_new(gets: Vec<String>, walks: Vec<String>) -> PyResult<Self> {
        let gets = gets.iter().map(|s| parse_oid(s)).collect::<PyResult<Vec<_>>>()?;
        let walks = walks.iter().map(|s| parse_oid(s)).collect::<PyResult<Vec<_>>>()?;
        if gets.is_empty() && walks.is_empty() {
            return Err(PyValueError::new_err("a plan needs at least one OID to get or walk"));
        }
        Ok(Self { inner: Arc::new(engine::Plan { gets, walks }) })
    }

    #[getter]
    fn gets(&self) -> Vec<String> {
        self.inner.gets.iter().map(ToString::to_string).collect()
    }

    #[getter]
    fn walks(&self) -> Vec<String> {
        self.inner.walks.iter().map(ToString::to_string).collect()
    }

    fn __repr__(&self) -> String {
        format!("Plan(gets={:?}, walks={:?})", self.gets(), self.walks())
    }
}

fn version_name(v: VersionChoice) -> &'static str {
    match v {
        VersionChoice::V1 => "1",
        VersionChoice::V2c => "2c",
        VersionChoice::Auto => "auto",
        VersionChoice::V3 => "3",
    }
}

/// `Target(host, port=161, *, plan, community="public", version="auto", v3=None)`: one agent
/// to poll. `host` is an IPv4 address (resolve names before). With `v3` credentials the
/// target is polled over SNMPv3 (`version` must then be `"auto"` or `"3"`).
#[pyclass(frozen, module = "printwatch.engine")]
pub struct Target {
    inner: engine::Target,
}

#[pymethods]
impl Target {
    #[new]
    #[pyo3(signature = (host, port = 161, *, plan, community = None, version = "auto", v3 = None))]
    fn py_new(
        host: &str,
        port: u16,
        plan: &Bound<'_, Plan>,
        community: Option<&Bound<'_, PyAny>>,
        version: &str,
        v3: Option<&Bound<'_, V3Credentials>>,
    ) -> PyResult<Self> {
        let ip: Ipv4Addr =
            host.parse().map_err(|_| PyValueError::new_err(format!("not an IPv4 address: {host:?}")))?;
        if port == 0 {
            return Err(PyValueError::new_err("port 0 is not a valid target port"));
        }
        let community = match community {
            None => b"public".to_vec(),
            Some(c) if c.is_instance_of::<PyString>() => c.extract::<String>()?.into_bytes(),
            Some(c) => c.extract::<Vec<u8>>()?,
        };
        let version = match (version, v3.is_some()) {
            ("1", false) => VersionChoice::V1,
            ("2c", false) => VersionChoice::V2c,
            ("auto", false) => VersionChoice::Auto,
            ("3" | "auto", true) => VersionChoice::V3,
            ("3", false) => return Err(PyValueError::new_err("version '3' needs v3=V3Credentials(...)")),
            (other, true) => {
                return Err(PyValueError::new_err(format!(
                    "v3 credentials poll over SNMPv3: version must be '3' or 'auto', not {other:?}"
                )))
            }
            (other, false) => {
                return Err(PyValueError::new_err(format!(
                    "version must be '1', '2c', '3' or 'auto', not {other:?}"
                )))
            }
        };
        let plan = Arc::clone(&plan.get().inner);
        let v3 = v3.map(|c| Arc::clone(&c.get().inner));
        Ok(Self { inner: engine::Target { addr: SocketAddrV4::new(ip, port), community, version, plan, v3 } })
    }

    #[getter]
    fn host(&self) -> String {
        self.inner.addr.ip().to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.inner.addr.port()
    }

    #[getter]
    fn community<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.community)
    }

    #[getter]
    fn version(&self) -> &'static str {
        version_name(self.inner.version)
    }

    /// The SNMPv3 user, or `None`.
    #[getter]
    fn v3(&self) -> Option<V3Credentials> {
        self.inner.v3.as_ref().map(|c| V3Credentials { inner: Arc::clone(c) })
    }

    fn __repr__(&self) -> String {
        format!("Target({:?}, {}, version={:?})", self.host(), self.port(), self.version())
    }
}

/// The poll engine's settings; `start` polls a batch of targets.
#[pyclass(frozen, module = "printwatch.engine")]
pub struct Engine {
    config: EngineConfig,
    /// SNMPv3 engines discovered by this engine's batches (engine-ID cache).
    engines: Arc<EngineCache>,
    /// What this engine's walks found of each target's tables (None: each batch starts
    /// knowing nothing, `walk_hints=False`).
    hints: Option<Arc<WalkHints>>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (
        *, timeout_s = 1.0, retries = 2, backoff = 2.0, max_pps = 10_000, per_target = 1,
        max_repetitions = 25, max_rows = 10_000, max_get_oids = 60, walk_hints = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        timeout_s: f64,
        retries: u32,
        backoff: f64,
        max_pps: u32,
        per_target: u32,
        max_repetitions: u32,
        max_rows: u32,
        max_get_oids: u32,
        walk_hints: bool,
    ) -> PyResult<Self> {
        if !(0.001..=60.0).contains(&timeout_s) {
            return Err(PyValueError::new_err(format!(
                "timeout_s must be between 0.001 and 60, not {timeout_s}"
            )));
        }
        let config = EngineConfig {
            timeout: Duration::from_secs_f64(timeout_s),
            retries,
            backoff,
            max_pps,
            per_target,
            max_repetitions,
            max_rows,
            max_get_oids,
        };
        config.validate().map_err(|e| PyValueError::new_err(e.0))?;
        Ok(Self { config, engines: EngineCache::new(), hints: walk_hints.then(WalkHints::new) })
    }

    #[getter]
    fn timeout_s(&self) -> f64 {
        self.config.timeout.as_secs_f64()
    }
    #[getter]
    fn retries(&self) -> u32 {
        self.config.retries
    }
    #[getter]
    fn backoff(&self) -> f64 {
        self.config.backoff
    }
    #[getter]
    fn max_pps(&self) -> u32 {
        self.config.max_pps
    }
    #[getter]
    fn per_target(&self) -> u32 {
        self.config.per_target
    }
    #[getter]
    fn max_repetitions(&self) -> u32 {
        self.config.max_repetitions
    }
    #[getter]
    fn max_rows(&self) -> u32 {
        self.config.max_rows
    }
    #[getter]
    fn max_get_oids(&self) -> u32 {
        self.config.max_get_oids
    }

    /// SNMPv3 engines this engine has discovered, `{"host:port": (engine_id, boots, time)}`
    /// (time as the agent last told it); later batches reuse them instead of discovering again.
    fn known_engines(&self) -> std::collections::HashMap<String, (Vec<u8>, u32, u32)> {
        self.engines
            .snapshot()
            .into_iter()
            .map(|(a, e)| (a.to_string(), (e.engine_id, e.boots, e.time)))
            .collect()
    }

    /// Whether walks are sized by what earlier walks found of the same tables.
    #[getter]
    fn walk_hints(&self) -> bool {
        self.hints.is_some()
    }

    /// How many (address, table) pairs this engine's walks have sized so far.
    fn known_tables(&self) -> usize {
        self.hints.as_ref().map_or(0, |h| h.len())
    }

    /// Starts polling `targets` on a new thread and returns once it is spawned. The targets are
    /// read with the GIL held; each one's session (its walks sized by the hints) is made
    /// without it (at 10,000 targets 15-75 ms of CPU, which a caller can spend in a worker
    /// thread while other Python threads run).
    ///
    /// Error handling: `OSError` if the socket cannot be bound (`local_address`), `ValueError`
    /// for a bad address.
    #[pyo3(signature = (targets, *, local_address = "0.0.0.0"))]
    fn start(&self, py: Python<'_>, targets: Vec<PyRef<'_, Target>>, local_address: &str) -> PyResult<Batch> {
        let local: Ipv4Addr = local_address
            .parse()
            .map_err(|_| PyValueError::new_err(format!("not an IPv4 address: {local_address:?}")))?;
        let targets: Vec<engine::Target> = targets.iter().map(|t| t.inner.clone()).collect();
        let plans = targets.iter().map(|t| Arc::clone(&t.plan)).collect();
        let local = SocketAddrV4::new(local, 0);
        let hints = self.hints.as_ref().map_or_else(WalkHints::new, Arc::clone);
        let (config, engines) = (self.config, Arc::clone(&self.engines));
        let inner = py
            .detach(move || engine::Batch::start_with_caches(config, targets, local, engines, hints))
            .map_err(|e| PyOSError::new_err(format!("cannot start the poll: {e}")))?;
        Ok(Batch { inner, plans })
    }
}

/// A running batch: take results with `wait`, stop it with `cancel`.
#[pyclass(frozen, module = "printwatch.engine")]
pub struct Batch {
    inner: engine::Batch,
    /// Each target's plan, by its index (results name OIDs from it).
    plans: Vec<Arc<engine::Plan>>,
}

#[pymethods]
impl Batch {
    /// Waits up to `timeout_s` for targets to finish and returns them (possibly none). Once
    /// `done` is true and everything has been taken, it returns an empty list at once.
    ///
    /// Error handling: `OSError` once the results are all taken, if the socket failed.
    #[pyo3(signature = (timeout_s = 1.0))]
    fn wait(&self, py: Python<'_>, timeout_s: f64) -> PyResult<Vec<TargetResult>> {
        let results = worker::wait(py, &self.inner, timeout_s)?;
        Ok(results
            .into_iter()
            .map(|inner| TargetResult { plan: Arc::clone(&self.plans[inner.index]), inner })
            .collect())
    }

    /// Stops sending (within 20 ms); unfinished targets end with the failure `cancelled`.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether every target has finished (the results may still be waiting to be taken).
    #[getter]
    fn done(&self) -> bool {
        self.inner.is_done()
    }

    /// The batch's counters: packets and bytes each way, timeouts, retries, how the
    /// datagrams received were classed (matched, late, duplicate, spoofed, unexpected,
    /// malformed), and the I/O loop's turns.
    fn statistics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        worker::counters(
            py,
            &[
                ("targets", s.targets),
                ("targets_done", s.targets_done),
                ("packets_sent", s.packets_sent),
                ("bytes_sent", s.bytes_sent),
                ("packets_received", s.packets_received),
                ("bytes_received", s.bytes_received),
                ("timeouts", s.timeouts),
                ("retries", s.retries),
                ("matched", s.matched),
                ("late", s.late),
                ("duplicate", s.duplicate),
                ("spoofed", s.spoofed),
                ("unexpected", s.unexpected),
                ("malformed", s.malformed),
                ("send_errors", s.send_errors),
                ("turns", s.turns),
            ],
        )
    }
}

/// One target's poll. Values stay in Rust until asked for.
#[pyclass(frozen, module = "printwatch.engine")]
pub struct TargetResult {
    inner: engine::TargetResult,
    plan: Arc<engine::Plan>,
}

#[pymethods]
impl TargetResult {
    /// The target's position in the list given to `Engine.start`.
    #[getter]
    fn index(&self) -> usize {
        self.inner.index
    }
    #[getter]
    fn host(&self) -> String {
        self.inner.addr.ip().to_string()
    }
    #[getter]
    fn port(&self) -> u16 {
        self.inner.addr.port()
    }
    #[getter]
    fn reachable(&self) -> bool {
        self.inner.reachable()
    }
    /// `"ok"`, or the kind of the first failure (`"timeout"` for a silent target).
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status()
    }
    /// `"1"`, `"2c"` or `"3"`: the version the agent answered in; `None` if it never answered.
    #[getter]
    fn version(&self) -> Option<&'static str> {
        self.inner.version.map(|v| match v {
            Version::V1 => "1",
            Version::V3 => "3",
            _ => "2c",
        })
    }
    #[getter]
    fn rtt_ms(&self) -> Option<f64> {
        self.inner.rtt.map(|d| d.as_secs_f64() * 1000.0)
    }
    #[getter]
    fn packets_sent(&self) -> u32 {
        self.inner.packets_sent
    }
    #[getter]
    fn retries(&self) -> u32 {
        self.inner.retries
    }
    #[getter]
    fn packets_received(&self) -> u32 {
        self.inner.packets_received
    }
    #[getter]
    fn bytes_sent(&self) -> u64 {
        self.inner.bytes_sent
    }
    #[getter]
    fn bytes_received(&self) -> u64 {
        self.inner.bytes_received
    }
    /// Varbinds read, gets and walk rows together.
    #[getter]
    fn varbind_count(&self) -> usize {
        self.inner.varbind_count()
    }

    /// The scalars read: `{oid: VarBind}` (values may be `NoSuchObject`/`NoSuchInstance`);
    /// scalars that could not be read are in `failures`.
    #[getter]
    fn gets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let mut scratch = String::with_capacity(64);
        for stored in self.inner.gets.iter().flatten() {
            if let Some(vb) = self.inner.store.get(*stored) {
                let item = py_varbind(py, &vb, &mut scratch)?;
                d.set_item(item.get().oid.clone_ref(py), item)?;
            }
        }
        Ok(d)
    }

    /// The rows walked: `{root: (VarBind, ...)}` for every root of the plan, in walk order
    /// (what was read before a failure is kept).
    #[getter]
    fn walks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let mut scratch = String::with_capacity(64);
        for (root, rows) in self.plan.walks.iter().zip(&self.inner.walks) {
            let mut items = Vec::with_capacity(rows.len());
            for stored in rows {
                if let Some(vb) = self.inner.store.get(*stored) {
                    items.push(py_varbind(py, &vb, &mut scratch)?);
                }
            }
            d.set_item(root.to_string(), PyTuple::new(py, items)?)?;
        }
        Ok(d)
    }

    /// One scalar of the plan: its `VarBind` as in `gets`, or `None` if the plan has no GET of
    /// `oid` or it was not read. Converts that one value only.
    fn get<'py>(&self, py: Python<'py>, oid: &str) -> PyResult<Option<Bound<'py, VarBind>>> {
        let wanted = parse_oid(oid)?;
        let Some(i) = self.plan.gets.iter().position(|o| *o == wanted) else { return Ok(None) };
        let Some(vb) = self.inner.gets[i].and_then(|at| self.inner.store.get(at)) else { return Ok(None) };
        Ok(Some(py_varbind(py, &vb, &mut String::with_capacity(64))?))
    }

    /// SHA-256 (32 bytes) of what the agent answered: every GET and walked row of the plan, in
    /// plan order, except the GETs named in `skip` (values that change every poll, such as
    /// sysUpTime). Two results have the same digest only if they hold the same varbinds, so a
    /// digest keys what was computed from an earlier answer. Failures, times and counts are not
    /// in it. Converts nothing to Python.
    ///
    /// Error handling: `ValueError` if an OID in `skip` is not dotted decimal.
    #[pyo3(signature = (skip = Vec::new()))]
    fn digest<'py>(&self, py: Python<'py>, skip: Vec<String>) -> PyResult<Bound<'py, PyBytes>> {
        let mut at = Vec::with_capacity(skip.len());
        for oid in &skip {
            let wanted = parse_oid(oid)?;
            at.extend(self.plan.gets.iter().position(|o| *o == wanted));
        }
        Ok(PyBytes::new(py, &self.inner.digest(&self.plan, &at)))
    }

    /// Why requests failed: `(operation, oid, kind, detail)` tuples, where `operation` is
    /// `"get"` or `"walk"`, `oid` the scalar or the walk's root, and `kind` one of `timeout`,
    /// `malformed`, `tooBig`, `noSuchName`, `loop`, `rowCap`, `badResponse`, `sendError`,
    /// `cancelled`, another RFC 3416 error-status name, or for SNMPv3 what the agent reported:
    /// `unknownUserName`, `unknownEngineID`, `wrongDigest`, `decryptionError`,
    /// `unsupportedSecLevel`, `notInTimeWindow`, `unknownContext`, `report`.
    #[getter]
    fn failures(&self) -> Vec<(&'static str, String, &'static str, String)> {
        self.inner
            .failures
            .iter()
            .map(|f| {
                let (op, oid) = match f.request {
                    Request::Get(i) => ("get", self.plan.gets[i].to_string()),
                    Request::Walk(i) => ("walk", self.plan.walks[i].to_string()),
                };
                (op, oid, f.kind.name(), f.detail.clone())
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<TargetResult {}:{} {} varbinds={}>",
            self.inner.addr.ip(),
            self.inner.addr.port(),
            self.inner.status(),
            self.inner.varbind_count()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Plan>()?;
    m.add_class::<Target>()?;
    m.add_class::<Engine>()?;
    m.add_class::<Batch>()?;
    m.add_class::<TargetResult>()?;
    Ok(())
}
