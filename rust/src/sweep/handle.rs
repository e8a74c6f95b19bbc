//! A sweep on its own thread (a [`Worker`]): hosts found are collected as replies arrive and
//! taken in batches with [`Worker::wait`]; [`Worker::cancel`] stops the sending within one turn
//! (20 ms) and keeps what was found.

use std::io;
use std::net::Ipv4Addr;

use crate::udp::IcmpKind;
use crate::worker::Worker;

use super::icmp::{Found, IcmpSweep, SweepConfig, SweepStats};

/// A running (or finished) ICMP sweep.
pub type SweepHandle = Worker<Found, SweepStats>;

impl SweepHandle {
    /// Opens the socket and starts sweeping `targets` on a new thread. Socket and
    /// configuration errors are returned here.
    pub fn start(config: SweepConfig, kind: IcmpKind, targets: Vec<Ipv4Addr>) -> io::Result<Self> {
        let mut sweep = IcmpSweep::new(config, kind, targets)?;
        Worker::spawn("printwatch-sweep", move |cancel, sink| {
            sweep.run(cancel, sink).map_err(|err| format!("the sweep's ICMP socket failed: {err}"))
        })
    }
}
