//! What the Python faces of a [`Worker`] share (`Batch` of `printwatch.engine`, `IcmpSweep` of
//! `printwatch.discovery`): waiting for its items with the GIL released, and its counters as a
//! dict.

use std::time::Duration;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::worker::Worker;

/// The longest a wait keeps the GIL released before looking at signals.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// Waits up to `timeout_s` (negative: not at all) for `worker`'s items and takes them (possibly
/// none), with the GIL released in steps of at most 50 ms and a signal check between them.
/// Once the worker is done and everything has been taken, it returns an empty list at once.
///
/// Error handling: `OSError` with the worker's error once everything is taken, if it failed;
/// the exception of a signal handler (`KeyboardInterrupt`) between steps, the items staying
/// to be taken.
pub fn wait<T: Send, S: Send>(py: Python<'_>, worker: &Worker<T, S>, timeout_s: f64) -> PyResult<Vec<T>> {
    let mut left = Duration::try_from_secs_f64(timeout_s.max(0.0)).unwrap_or(Duration::MAX);
    loop {
        let step = left.min(WAIT_STEP);
        let (items, done) = py.detach(|| worker.wait(step));
        if !items.is_empty() {
            return Ok(items);
        }
        if done {
            return match worker.error() {
                Some(err) => Err(PyOSError::new_err(err)),
                None => Ok(Vec::new()),
            };
        }
        left = left.saturating_sub(step);
        if left.is_zero() {
            return Ok(Vec::new());
        }
        py.check_signals()?;
    }
}

/// `{name: count}` for a worker's counters, in the order given.
pub fn counters<'py>(py: Python<'py>, counts: &[(&str, u64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for &(k, v) in counts {
        d.set_item(k, v)?;
    }
    Ok(d)
}
