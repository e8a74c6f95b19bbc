//! One job on its own named thread, handing its items over in batches: the poll engine's
//! [`Batch`](crate::engine::Batch) and the ICMP sweep's [`SweepHandle`](crate::sweep::SweepHandle)
//! are both a [`Worker`].
//!
//! The job gets a cancel flag and a [`Publish`] sink. It publishes items (and its counters so
//! far) as they come; [`Worker::wait`] takes them. When the job returns, its final counters (or
//! its error) are recorded and the worker is done. [`Worker::cancel`] only sets the flag: the
//! job looks at it once a turn (the engine and the sweep: every 20 ms at the latest).
//!
//! Error handling: a job that fails ends the worker with [`Worker::error`] set (the items
//! published before stay to be taken). A job that panics leaves plain data behind: the lock is
//! recovered (`PoisonError::into_inner`) and what was published stays readable, but the worker
//! never becomes done; [`Worker::join`] returns once the thread has ended either way.

use std::io;
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Where a job's items go: called with each batch of them and the counters so far.
pub trait Publish<T, S> {
    fn publish(&mut self, items: Vec<T>, stats: &S);
}

struct State<T, S> {
    ready: Vec<T>,
    stats: S,
    done: bool,
    error: Option<String>,
}

struct Shared<T, S> {
    state: Mutex<State<T, S>>,
    changed: Condvar,
}

impl<T, S> Shared<T, S> {
    fn lock(&self) -> MutexGuard<'_, State<T, S>> {
        // A panic on the worker thread leaves plain data behind: still readable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The job's side of a [`Worker`]: what it publishes is handed to [`Worker::wait`].
pub struct Publisher<T, S> {
    shared: Arc<Shared<T, S>>,
}

impl<T, S: Clone> Publish<T, S> for Publisher<T, S> {
    fn publish(&mut self, mut items: Vec<T>, stats: &S) {
        let mut guard = self.shared.lock();
        guard.ready.append(&mut items);
        guard.stats = stats.clone();
        drop(guard);
        self.shared.changed.notify_all();
    }
}

/// A job running (or finished) on its own thread; dropping it cancels the job and joins it.
pub struct Worker<T, S> {
    shared: Arc<Shared<T, S>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static, S: Clone + Default + Send + 'static> Worker<T, S> {
    /// Runs `job` on a new thread named `name`. The job returns its final counters, or an
    /// error message that [`Worker::error`] will give.
    ///
    /// Error handling: only the thread's creation can fail here (`io::Error`).
    pub fn spawn<F>(name: &str, job: F) -> io::Result<Self>
    where
        F: FnOnce(&AtomicBool, &mut Publisher<T, S>) -> Result<S, String> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { ready: Vec::new(), stats: S::default(), done: false, error: None }),
            changed: Condvar::new(),
        });
        let cancel = Arc::new(AtomicBool::new(false));
        let mut publisher = Publisher { shared: Arc::clone(&shared) };
        let stop = Arc::clone(&cancel);
        let thread = thread::Builder::new().name(name.into()).spawn(move || {
            let outcome = job(&stop, &mut publisher);
            let mut guard = publisher.shared.lock();
            match outcome {
                Ok(totals) => guard.stats = totals,
                Err(err) => guard.error = Some(err),
            }
            guard.done = true;
            drop(guard);
            publisher.shared.changed.notify_all();
        })?;
        Ok(Self { shared, cancel, thread: Some(thread) })
    }
}

impl<T, S> Worker<T, S> {
    /// Waits up to `timeout` for items and takes them; also returns whether the job is over
    /// (then nothing more will come).
    pub fn wait(&self, timeout: Duration) -> (Vec<T>, bool) {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.shared.lock();
        while state.ready.is_empty() && !state.done {
            let left = deadline.map_or(timeout, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                break;
            }
            state = self.shared.changed.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        (mem::take(&mut state.ready), state.done)
    }

    /// Asks the job to stop: it sees the flag at its next look (once a turn).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the job is over (items may still be waiting to be taken).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.shared.lock().done
    }

    /// Why the job ended early, if it failed.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        self.shared.lock().error.clone()
    }

    /// Waits for the thread to end (after the job is done or cancelled).
    pub fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A panicking job has nothing more to say; what it published stays readable.
            let _ = thread.join();
        }
    }
}

impl<T, S: Clone> Worker<T, S> {
    /// The counters as of the last hand-over (final once the job is done).
    #[must_use]
    pub fn stats(&self) -> S {
        self.shared.lock().stats.clone()
    }
}

impl<T, S> Drop for Worker<T, S> {
    fn drop(&mut self) {
        self.cancel();
        self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny job: publishes `0..count` in batches of `per_batch`, a pause between batches,
    /// until cancelled; fails with "broken" when asked to.
    fn counting(
        count: u32,
        per_batch: u32,
        pause: Duration,
        fail: bool,
    ) -> impl FnOnce(&AtomicBool, &mut Publisher<u32, u32>) -> Result<u32, String> + Send + 'static {
        move |cancel, sink| {
            let mut sent = 0;
            while sent < count {
                if cancel.load(Ordering::Relaxed) {
                    return Ok(sent + 1000);
                }
                let batch: Vec<u32> = (sent..count.min(sent + per_batch)).collect();
                sent += batch.len() as u32;
                sink.publish(batch, &sent);
                thread::sleep(pause);
            }
            if fail {
                Err("broken".into())
            } else {
                Ok(sent)
            }
        }
    }

    fn take_all(worker: &Worker<u32, u32>) -> (Vec<u32>, usize) {
        let (mut all, mut batches) = (Vec::new(), 0);
        for _ in 0..1000 {
            let (items, done) = worker.wait(Duration::from_secs(5));
            if !items.is_empty() {
                batches += 1;
            }
            all.extend(items);
            if done {
                break;
            }
        }
        (all, batches)
    }

    #[test]
    fn items_are_handed_over_in_batches_in_order_and_the_worker_ends_done() {
        let mut worker =
            Worker::spawn("test-worker", counting(30, 10, Duration::from_millis(30), false)).expect("spawn");
        let (all, batches) = take_all(&worker);
        assert_eq!(all, (0..30).collect::<Vec<_>>());
        assert!(batches >= 2, "30 items published 10 at a time, 30 ms apart, came in {batches} batch(es)");
        assert!(worker.is_done());
        assert_eq!(worker.stats(), 30);
        assert_eq!(worker.error(), None);
        // Done and everything taken: an empty batch at once.
        let started = Instant::now();
        assert_eq!(worker.wait(Duration::from_secs(5)), (Vec::new(), true));
        assert!(started.elapsed() < Duration::from_secs(1));
        worker.join();
        worker.join();
    }

    #[test]
    fn wait_times_out_with_nothing_ready() {
        let worker = Worker::spawn("test-worker", |cancel: &AtomicBool, _: &mut Publisher<u32, u32>| {
            while !cancel.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(5));
            }
            Ok(7)
        })
        .expect("spawn");
        let started = Instant::now();
        assert_eq!(worker.wait(Duration::from_millis(60)), (Vec::new(), false));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(60), "returned after {waited:?}");
        assert_eq!(worker.wait(Duration::ZERO), (Vec::new(), false));
        assert!(!worker.is_done());
        assert_eq!(worker.stats(), 0);
        worker.cancel();
        assert_eq!(worker.wait(Duration::from_secs(5)), (Vec::new(), true));
        assert_eq!(worker.stats(), 7);
    }

    #[test]
    fn cancel_stops_the_job_and_keeps_what_was_published() {
        let worker = Worker::spawn("test-worker", counting(1_000_000, 1, Duration::from_millis(2), false))
            .expect("spawn");
        let (first, done) = worker.wait(Duration::from_secs(5));
        assert!(!first.is_empty() && !done);
        worker.cancel();
        let started = Instant::now();
        let (rest, batches) = take_all(&worker);
        assert!(started.elapsed() < Duration::from_secs(2), "cancel took {:?}", started.elapsed());
        assert!(batches <= 2, "{batches}");
        let got: Vec<u32> = first.into_iter().chain(rest).collect();
        assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
        assert!(worker.is_done());
        // The job's own final counters: it saw the cancel.
        assert_eq!(worker.stats(), got.len() as u32 + 1000);
        assert_eq!(worker.error(), None);
    }

    #[test]
    fn an_error_ends_the_worker_after_its_items() {
        let worker = Worker::spawn("test-worker", counting(5, 5, Duration::ZERO, true)).expect("spawn");
        let (all, _) = take_all(&worker);
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert!(worker.is_done());
        assert_eq!(worker.error().as_deref(), Some("broken"));
        // The counters of the last hand-over stay.
        assert_eq!(worker.stats(), 5);
    }

    #[test]
    fn a_panicking_job_leaves_its_items_readable() {
        let mut worker = Worker::spawn("test-worker", |_: &AtomicBool, sink: &mut Publisher<u32, u32>| {
            sink.publish(vec![1, 2], &2);
            // Poison the lock the way a panic inside a hand-over would.
            let shared = Arc::clone(&sink.shared);
            let _ = thread::spawn(move || {
                let _guard = shared.lock();
                panic!("worker test: a panic while holding the lock");
            })
            .join();
            panic!("worker test: the job panics");
        })
        .expect("spawn");
        worker.join();
        assert!(worker.shared.state.is_poisoned());
        assert_eq!(worker.wait(Duration::ZERO), (vec![1, 2], false));
        assert_eq!(worker.stats(), 2);
        assert!(!worker.is_done());
        assert_eq!(worker.error(), None);
    }

    #[test]
    fn drop_cancels_and_joins() {
        let stopped = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&stopped);
        let worker = Worker::spawn("test-worker", move |cancel: &AtomicBool, _: &mut Publisher<u32, u32>| {
            while !cancel.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(2));
            }
            seen.store(true, Ordering::Relaxed);
            Ok(0)
        })
        .expect("spawn");
        drop(worker);
        assert!(stopped.load(Ordering::Relaxed));
    }

    #[test]
    fn the_thread_has_its_name() {
        let worker = Worker::spawn("test-named", |_: &AtomicBool, sink: &mut Publisher<String, u32>| {
            sink.publish(vec![thread::current().name().unwrap_or_default().to_owned()], &1);
            Ok(1)
        })
        .expect("spawn");
        assert_eq!(worker.wait(Duration::from_secs(5)).0, vec!["test-named".to_owned()]);
    }
}
