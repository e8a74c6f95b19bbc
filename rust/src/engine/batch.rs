//! A batch of targets polled by a [`Driver`] on its own thread (a [`Worker`]). Results are
//! collected as targets finish and taken in batches with [`Worker::wait`]; [`Worker::cancel`]
//! stops the sending within one driver turn (20 ms) and fails the unfinished targets with
//! `cancelled`.

use std::io;
use std::net::SocketAddrV4;
use std::sync::Arc;

use crate::worker::Worker;

use super::config::EngineConfig;
use super::driver::Driver;
use super::hints::WalkHints;
use super::outcome::TargetResult;
use super::plan::Target;
use super::stats::Stats;
use super::v3::EngineCache;

/// A running (or finished) batch: its results and counters ([`Worker::error`]: why it ended
/// early, if its socket failed).
pub type Batch = Worker<TargetResult, Stats>;

impl Batch {
    /// Binds the socket and starts polling `targets` on a new thread. Bind and configuration
    /// errors are returned here; a socket failure later ends the batch (see [`Worker::error`]).
    pub fn start(config: EngineConfig, targets: Vec<Target>, local: SocketAddrV4) -> io::Result<Self> {
        Self::start_with_engines(config, targets, local, EngineCache::new())
    }

    /// [`Batch::start`] with an SNMPv3 engine cache shared with other batches (engines
    /// discovered once are not discovered again).
    pub fn start_with_engines(
        config: EngineConfig,
        targets: Vec<Target>,
        local: SocketAddrV4,
        engines: Arc<EngineCache>,
    ) -> io::Result<Self> {
        Self::start_with_caches(config, targets, local, engines, WalkHints::new())
    }

    /// [`Batch::start_with_engines`] with the tables' hints shared with other batches too
    /// (each walk's first request sized by what the last walk of its table found:
    /// [`super::hints`]).
    pub fn start_with_caches(
        config: EngineConfig,
        targets: Vec<Target>,
        local: SocketAddrV4,
        engines: Arc<EngineCache>,
        hints: Arc<WalkHints>,
    ) -> io::Result<Self> {
        let mut driver = Driver::with_caches(config, targets, local, engines, hints)?;
        Worker::spawn("printwatch-engine", move |cancel, sink| {
            driver.run(cancel, sink).map_err(|err| format!("the engine's socket failed: {err}"))
        })
    }
}
