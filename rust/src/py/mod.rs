//! `printwatch._core`: the PyO3 face of the Rust core. The only PyO3 code in the crate.
//!
//! Errors become Python exceptions here and nowhere else.

mod codec;
#[cfg(target_os = "linux")]
mod engine;
mod errors;
mod message;
mod sim;
#[cfg(target_os = "linux")]
mod sweep;
mod usm;
#[cfg(target_os = "linux")]
mod worker;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    message::register(m)?;
    codec::register(m)?;
    #[cfg(target_os = "linux")]
    engine::register(m)?;
    sim::register(m)?;
    #[cfg(target_os = "linux")]
    sweep::register(m)?;
    usm::register(m)?;
    Ok(())
}
