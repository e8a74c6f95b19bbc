//! Set-up shared by the engine's loopback tests (`engine_udp`, `engine_v3`): the recordings, a
//! simulated fleet served on a thread for the length of a test, and a batch drained to its end.
//!
//! Recordings: `$PRINTWATCH_RECORDINGS`, or `$CARGO_MANIFEST_DIR/../shared/recordings/librenms/snmprec`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use printwatch_core::engine::{Batch, TargetResult};
use printwatch_core::sim::server::{Server, ServerConfig};
use printwatch_core::sim::{loader, Fleet, Recording};

/// Every recording of the recordings directory.
///
/// Error handling: panics naming the directory's problem and `PRINTWATCH_RECORDINGS`.
pub fn recordings() -> Vec<Recording> {
    let dir = std::env::var_os("PRINTWATCH_RECORDINGS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/recordings/librenms/snmprec")),
        PathBuf::from,
    );
    let loaded = loader::load(&[dir]).unwrap_or_else(|e| panic!("{e}; set PRINTWATCH_RECORDINGS"));
    loaded.into_iter().map(|l| l.recording).collect()
}

/// A fleet server running on its own thread; dropping it stops and joins the thread.
pub struct Fleetd {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Drop for Fleetd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// Serves `fleet` as `count` agents from `base` on one ephemeral port (for 60 s at the most).
pub fn serve(base: Ipv4Addr, count: u32, fleet: Fleet) -> Fleetd {
    let config = ServerConfig { base, count, stride: 1, port: 0, duration: Some(Duration::from_secs(60)) };
    let server = Server::bind(config).expect("bind the fleet server");
    let port = server.port().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || {
        server.run(&fleet, &flag).expect("serve");
    });
    Fleetd { port, stop, handle: Some(handle) }
}

/// The batch's results until it is done or `limit` has passed, sorted by target index.
pub fn drain(batch: &Batch, limit: Duration) -> Vec<TargetResult> {
    let mut results = Vec::new();
    let deadline = Instant::now() + limit;
    loop {
        let (mut got, done) = batch.wait(Duration::from_millis(100));
        results.append(&mut got);
        if done || Instant::now() > deadline {
            break;
        }
    }
    results.sort_by_key(|r| r.index);
    results
}
