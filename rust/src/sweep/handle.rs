//! A sweep on its own thread: hosts found are collected as replies arrive and taken in batches
//! with [`SweepHandle::wait`]; [`SweepHandle::cancel`] stops the sending within one turn
//! (20 ms) and keeps what was found.

use std::io;
use std::mem;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::udp::IcmpKind;

use super::icmp::{Found, FoundSink, IcmpSweep, SweepConfig, SweepStats};

#[derive(Default)]
struct State {
    ready: Vec<Found>,
    stats: SweepStats,
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
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FoundSink for Arc<Shared> {
    fn publish(&mut self, mut found: Vec<Found>, stats: &SweepStats) {
        let mut guard = self.lock();
        guard.ready.append(&mut found);
        guard.stats = *stats;
        drop(guard);
        self.changed.notify_all();
    }
}

/// A running (or finished) ICMP sweep.
pub struct SweepHandle {
    shared: Arc<Shared>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SweepHandle {
    /// Opens the socket and starts sweeping `targets` on a new thread. Socket and
    /// configuration errors are returned here.
    pub fn start(config: SweepConfig, kind: IcmpKind, targets: Vec<Ipv4Addr>) -> io::Result<Self> {
        let mut sweep = IcmpSweep::new(config, kind, targets)?;
        let shared = Arc::new(Shared::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let (mut sink, stop) = (Arc::clone(&shared), Arc::clone(&cancel));
        let thread = thread::Builder::new().name("printwatch-sweep".into()).spawn(move || {
            let outcome = sweep.run(&stop, &mut sink);
            let mut guard = sink.lock();
            match outcome {
                Ok(totals) => guard.stats = totals,
                Err(err) => guard.error = Some(format!("the sweep's ICMP socket failed: {err}")),
            }
            guard.done = true;
            drop(guard);
            sink.changed.notify_all();
        })?;
        Ok(Self { shared, cancel, thread: Some(thread) })
    }

    /// Waits up to `timeout` for hosts found and takes them; also returns whether the sweep is
    /// over (then nothing more will come).
    pub fn wait(&self, timeout: Duration) -> (Vec<Found>, bool) {
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

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    #[must_use]
    pub fn is_done(&self) -> bool {
        self.shared.lock().done
    }

    /// The counters as of the last hand-over (final once the sweep is done).
    #[must_use]
    pub fn stats(&self) -> SweepStats {
        self.shared.lock().stats
    }

    #[must_use]
    pub fn error(&self) -> Option<String> {
        self.shared.lock().error.clone()
    }
}

impl Drop for SweepHandle {
    fn drop(&mut self) {
        self.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
