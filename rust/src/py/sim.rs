//! `Simulator`: the fleet simulator's Python face — a UDP server on its own Rust thread.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::usm::V3Credentials;
use crate::sim::dynamics::KEYS;
use crate::sim::server::{Server, ServerConfig, ServerStats, SharedStats};
use crate::sim::{load, Agent, DynamicsConfig, Fleet, SimUsm};

/// The server thread and what it shares with Python.
struct Running {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<std::io::Result<()>>,
}

#[derive(Default)]
struct State {
    port: u16,
    running: Option<Running>,
    /// The final stats of a stopped server (what `stop()` returned).
    stopped: Option<ServerStats>,
    /// An I/O error the server thread ended with, reported once by `stop()`.
    failed: Option<String>,
}

/// A simulated printer fleet served over UDP on consecutive loopback addresses.
#[pyclass(frozen, module = "printwatch.sim")]
pub struct Simulator {
    fleet: Arc<Fleet>,
    names: Vec<String>,
    config: ServerConfig,
    stats: Arc<SharedStats>,
    state: Mutex<State>,
}

fn recording_paths(recordings: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(one) = recordings.extract::<PathBuf>() {
        return Ok(vec![one]);
    }
    recordings.extract::<Vec<PathBuf>>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "recordings must be a path (a directory of .snmprec files or one file) or a sequence of paths",
        )
    })
}

fn stats_dict<'py>(py: Python<'py>, s: &ServerStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("received", s.received)?;
    d.set_item("answered", s.answered)?;
    d.set_item("dropped", s.dropped)?;
    d.set_item("send_errors", s.send_errors)?;
    d.set_item("bytes_received", s.bytes_received)?;
    d.set_item("bytes_sent", s.bytes_sent)?;
    d.set_item("lost", s.lost)?;
    d.set_item("delayed", s.delayed)?;
    Ok(d)
}

/// `dynamics=`: False/None (off), True (the defaults), or a mapping of rules to numbers.
fn dynamics_config(dynamics: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DynamicsConfig>> {
    let Some(value) = dynamics.filter(|d| !d.is_none()) else { return Ok(None) };
    if let Ok(on) = value.extract::<bool>() {
        return Ok(on.then(DynamicsConfig::default));
    }
    let rules: std::collections::HashMap<String, f64> = value.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "dynamics must be a bool or a mapping of rules ({}) to numbers",
            KEYS.join(", ")
        ))
    })?;
    let mut config = DynamicsConfig::default();
    let mut keys: Vec<&String> = rules.keys().collect();
    keys.sort();
    for key in keys {
        config.set(key, rules[key]).map_err(|e| PyValueError::new_err(format!("dynamics: {e}")))?;
    }
    Ok(Some(config))
}

impl Simulator {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent State (every update is one store).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn address(&self, index: u32) -> Ipv4Addr {
        self.config.address(index).unwrap_or(self.config.base)
    }
}

#[pymethods]
impl Simulator {
    #[new]
    #[pyo3(signature = (recordings, *, count = 1, base = "127.20.0.1", port = 0, community = "public",
                        identity = true, dynamics = None, seed = 0, time_scale = 1.0, stride = 1, v3 = None))]
    #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
    fn py_new(
        recordings: &Bound<'_, PyAny>,
        count: u32,
        base: &str,
        port: u16,
        community: &str,
        identity: bool,
        dynamics: Option<&Bound<'_, PyAny>>,
        seed: u64,
        time_scale: f64,
        stride: u32,
        v3: Option<&Bound<'_, V3Credentials>>,
    ) -> PyResult<Self> {
        let dynamics = dynamics_config(dynamics)?;
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(PyValueError::new_err(format!("time_scale must be positive, not {time_scale}")));
        }
        let base: Ipv4Addr =
            base.parse().map_err(|_| PyValueError::new_err(format!("base: bad IPv4 address {base:?}")))?;
        let config = ServerConfig { base, count, stride, port, duration: None };
        config.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let paths = recording_paths(recordings)?;
        let loaded = load(&paths).map_err(|e| match e {
            crate::sim::LoadError::Io(_, ref io) if io.kind() != std::io::ErrorKind::InvalidData => {
                PyOSError::new_err((io.raw_os_error().unwrap_or(0), e.to_string()))
            }
            other => PyValueError::new_err(other.to_string()),
        })?;
        let names = loaded.iter().map(|l| l.name.clone()).collect();
        let community = community.as_bytes().to_vec();
        let mut fleet = Fleet::new(
            loaded
                .into_iter()
                .map(|l| Agent::new(l.recording).with_notes(l.notes).with_community(community.clone())),
        );
        fleet.clock = crate::sim::fleet::Clock::new(time_scale);
        if identity {
            fleet = fleet.with_identity(seed);
        }
        if let Some(config) = dynamics {
            fleet = fleet.with_dynamics(config, seed, time_scale);
        }
        if let Some(user) = v3 {
            fleet = fleet.with_usm(SimUsm::new(Arc::clone(&user.get().inner)));
        }
        Ok(Self { fleet: Arc::new(fleet), names, config, stats: Arc::default(), state: Mutex::default() })
    }

    /// Binds the port and serves on a Rust thread; returns at once. Raises OSError if the port
    /// cannot be bound, RuntimeError if already started.
    fn start(&self) -> PyResult<()> {
        let mut state = self.state();
        if state.running.is_some() || state.stopped.is_some() {
            return Err(PyRuntimeError::new_err("a Simulator can be started only once"));
        }
        let server = Server::bind(self.config).map_err(PyErr::from)?;
        state.port = server.port().map_err(PyErr::from)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, fleet, counts) = (Arc::clone(&stop), Arc::clone(&self.fleet), Arc::clone(&self.stats));
        let handle = std::thread::Builder::new()
            .name("printwatch-sim".into())
            .spawn(move || server.run_with(&fleet, &flag, &counts))
            .map_err(PyErr::from)?;
        state.running = Some(Running { stop, handle });
        Ok(())
    }

    /// Stops serving (within 100 ms), joins the thread and returns the final stats. Idempotent.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let running = self.state().running.take();
        if let Some(Running { stop, handle }) = running {
            stop.store(true, Ordering::Relaxed);
            let result = py.detach(|| handle.join());
            let mut state = self.state();
            state.stopped = Some(self.stats.snapshot());
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => state.failed = Some(e.to_string()),
                Err(_) => state.failed = Some("the server thread panicked".into()),
            }
            if let Some(msg) = state.failed.take() {
                return Err(PyOSError::new_err(format!("the simulator failed: {msg}")));
            }
        }
        stats_dict(py, &self.stats.snapshot())
    }

    /// The counts so far: received, answered, dropped, send_errors, bytes_received, bytes_sent.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.stats.snapshot())
    }

    /// True between `start()` and `stop()` while the server thread runs.
    #[getter]
    fn running(&self) -> bool {
        self.state().running.as_ref().is_some_and(|r| !r.handle.is_finished())
    }

    /// The UDP port (known after `start()`; before it, the port asked for).
    #[getter]
    fn port(&self) -> u16 {
        let state = self.state();
        if state.running.is_some() || state.stopped.is_some() {
            state.port
        } else {
            self.config.port
        }
    }

    #[getter]
    fn count(&self) -> u32 {
        self.config.count
    }

    /// Printer `i` is at `first + i * stride`.
    #[getter]
    fn stride(&self) -> u32 {
        self.config.stride
    }

    /// The first printer's address.
    #[getter]
    fn first(&self) -> String {
        self.config.base.to_string()
    }

    /// The last printer's address.
    #[getter]
    fn last(&self) -> String {
        self.address(self.config.count - 1).to_string()
    }

    /// The names (file stems) of the recordings, in the order printers cycle through them.
    #[getter]
    fn recordings(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Printer `index`: address, recording, serial, mac, sys_name (None where not recorded).
    fn printer<'py>(&self, py: Python<'py>, index: u32) -> PyResult<Bound<'py, PyDict>> {
        if index >= self.config.count {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "printer {index} is outside the fleet of {}",
                self.config.count
            )));
        }
        let info = self.fleet.describe(index as usize, self.address(index)).unwrap_or_default();
        let d = PyDict::new(py);
        d.set_item("index", index)?;
        d.set_item("address", self.address(index).to_string())?;
        d.set_item("recording", &self.names[index as usize % self.names.len()])?;
        let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        d.set_item("serial", text(&info.serial))?;
        d.set_item("mac", info.mac_string())?;
        d.set_item("sys_name", text(&info.sys_name))?;
        Ok(d)
    }

    /// Simulated seconds since the simulator was made (`time_scale` per real second, plus what
    /// `advance` added).
    #[getter]
    fn time_s(&self) -> f64 {
        self.fleet.clock.at(std::time::Instant::now())
    }

    /// Moves simulated time forward by `seconds` for every printer, at once.
    fn advance(&self, seconds: f64) -> PyResult<()> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(PyValueError::new_err(format!("advance: seconds must be >= 0, not {seconds}")));
        }
        self.fleet.clock.advance(seconds);
        Ok(())
    }

    /// True if every printer has its own serial number, MAC address and sysName.
    #[getter]
    fn identity(&self) -> bool {
        self.fleet.identity
    }

    /// True if pages, supplies and faults change over simulated time.
    #[getter]
    fn dynamics(&self) -> bool {
        self.fleet.dynamics.is_some()
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().start()?;
        Ok(slf)
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Simulator({} printers on {}-{} port {}, {} recordings)",
            self.config.count,
            self.first(),
            self.last(),
            self.port(),
            self.names.len()
        )
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(Running { stop, handle }) = self.state().running.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Simulator>()
}
