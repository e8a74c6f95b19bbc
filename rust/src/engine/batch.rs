//! A batch of targets polled by a [`Driver`] on its own thread. Results are collected as
//! targets finish and taken in batches with [`Batch::wait`]; [`Batch::cancel`] stops the
//! sending within one driver turn (20 ms) and fails the unfinished targets with `cancelled`.

use std::io;
use std::mem;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::EngineConfig;
use super::driver::{Driver, Sink};
use super::outcome::TargetResult;
use super::plan::Target;
use super::stats::Stats;
use super::v3::EngineCache;

#[derive(Default)]
struct State {
    ready: Vec<TargetResult>,
    stats: Stats,
    done: bool,
    error: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the driver thread leaves plain data behind: still readable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sink for Arc<Shared> {
    fn publish(&mut self, mut results: Vec<TargetResult>, stats: &Stats) {
        let mut guard = self.lock();
        guard.ready.append(&mut results);
        guard.stats = *stats;
        drop(guard);
        self.changed.notify_all();
    }
}

/// A running (or finished) batch.
pub struct Batch {
    shared: Arc<Shared>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Batch {
    /// Binds the socket and starts polling `targets` on a new thread. Bind and configuration
    /// errors are returned here; a socket failure later ends the batch (see [`Batch::error`]).
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
        let mut driver = Driver::with_engines(config, targets, local, engines)?;
        let shared = Arc::new(Shared::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let (mut sink, stop) = (Arc::clone(&shared), Arc::clone(&cancel));
        let thread = thread::Builder::new().name("printwatch-engine".into()).spawn(move || {
            let outcome = driver.run(&stop, &mut sink);
            let mut guard = sink.lock();
            match outcome {
                Ok(totals) => guard.stats = totals,
                Err(err) => guard.error = Some(format!("the engine's socket failed: {err}")),
            }
            guard.done = true;
            drop(guard);
            sink.changed.notify_all();
        })?;
        Ok(Self { shared, cancel, thread: Some(thread) })
    }

    /// Waits up to `timeout` for finished targets and takes them; also returns whether the
    /// batch is over (then no more results will come).
    pub fn wait(&self, timeout: Duration) -> (Vec<TargetResult>, bool) {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.ready.is_empty() && !state.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.shared.changed.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        (mem::take(&mut state.ready), state.done)
    }

    /// Stops the batch: no request is sent after the driver's current turn.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    #[must_use]
    pub fn is_done(&self) -> bool {
        self.shared.lock().done
    }

    /// The counters as of the last hand-over (final once the batch is done).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Why the batch ended early, if its socket failed.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        self.shared.lock().error.clone()
    }

    /// Waits for the driver thread to end (after the batch is done or cancelled).
    pub fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A panicking driver has already recorded nothing more to say; the results so far
            // stay readable.
            let _ = thread.join();
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.cancel();
        self.join();
    }
}
