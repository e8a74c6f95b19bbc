//! A UDP server answering for a fleet of simulated printers on consecutive loopback addresses.
//!
//! One socket is bound to the wildcard address with `IP_PKTINFO` enabled, so each datagram's
//! destination address is known: printer `i` is `base + i` (`i < count`), anything else is
//! dropped. The reply is sent with `IP_PKTINFO` naming that destination as its source, so it
//! comes *from* the printer's address, as a client matching replies by address expects.
//! Linux only (all of `127.0.0.0/8` is local there). Only loopback fleets are accepted.
//!
//! Datagrams are received and sent in batches (`recvmmsg`/`sendmmsg`, up to [`BATCH`] a call,
//! see [`crate::udp`]). Replies a slow printer holds back wait in a timer queue, so they delay
//! nobody else.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::fleet::{Fleet, Outcome};
use crate::udp::{self as sys, Outgoing, RecvBatch, SendBatch};

/// How often an idle server looks at the stop flag and the deadline.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The socket buffers asked for (each way; the kernel caps them at net.core.rmem_max/wmem_max).
const SOCKET_BUFFER: usize = 4 << 20;
/// Datagrams per `recvmmsg`/`sendmmsg` call.
pub const BATCH: usize = 64;
/// The largest request answered; a larger datagram is cut by the kernel, counted and dropped
/// (SNMP requests are a few hundred bytes).
pub const MAX_REQUEST: usize = 8192;

/// Where the fleet lives and how long to serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// The first printer's address (must be in `127.0.0.0/8`).
    pub base: Ipv4Addr,
    /// The number of printers, all within `127.0.0.0/8`.
    pub count: u32,
    /// Printer `i` is at `base + i * stride` (1: consecutive addresses; more scatters the fleet
    /// among addresses where nothing answers).
    pub stride: u32,
    /// The UDP port every printer answers on (0: any free port, see [`Server::port`]).
    pub port: u16,
    /// Stop by itself after this long (`None`: only when the stop flag is set).
    pub duration: Option<Duration>,
}

impl ServerConfig {
    /// The printer index of `addr`, if it is one of the fleet's addresses.
    #[must_use]
    pub fn index_of(&self, addr: Ipv4Addr) -> Option<usize> {
        let offset = u32::from(addr).wrapping_sub(u32::from(self.base));
        let stride = self.stride.max(1);
        (offset % stride == 0 && offset / stride < self.count).then_some((offset / stride) as usize)
    }

    /// The address of printer `index`, if it is in the fleet.
    #[must_use]
    pub fn address(&self, index: u32) -> Option<Ipv4Addr> {
        (index < self.count).then(|| Ipv4Addr::from(u32::from(self.base) + index * self.stride.max(1)))
    }

    /// Checks that the fleet is non-empty and lies entirely within `127.0.0.0/8`.
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_string()));
        if self.count == 0 {
            return invalid("the fleet has no printers (count 0)");
        }
        if self.stride == 0 {
            return invalid("the stride between printers must be at least 1");
        }
        let Some(last) =
            (self.count - 1).checked_mul(self.stride).and_then(|d| u32::from(self.base).checked_add(d))
        else {
            return invalid("the fleet's addresses overflow");
        };
        if !self.base.is_loopback() || !Ipv4Addr::from(last).is_loopback() {
            return invalid("the fleet's addresses must all be within 127.0.0.0/8");
        }
        Ok(())
    }
}

/// What a server did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams received (for any address).
    pub received: u64,
    /// Replies sent.
    pub answered: u64,
    /// Datagrams not answered: outside the fleet, truncated, or dropped by the agent.
    pub dropped: u64,
    /// Replies the kernel refused to send (also counted in `dropped`).
    pub send_errors: u64,
    /// UDP payload bytes received (every datagram, answered or not).
    pub bytes_received: u64,
    /// UDP payload bytes of the replies sent.
    pub bytes_sent: u64,
    /// Requests the dynamics made go unanswered: offline printers, lost packets (also in
    /// `dropped`).
    pub lost: u64,
    /// Replies held back by slow printers (counted in `answered` once sent).
    pub delayed: u64,
}

/// [`ServerStats`] that another thread can read while the server runs.
#[derive(Debug, Default)]
pub struct SharedStats {
    received: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
    send_errors: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    lost: AtomicU64,
    delayed: AtomicU64,
}

impl SharedStats {
    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> ServerStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            received: get(&self.received),
            answered: get(&self.answered),
            dropped: get(&self.dropped),
            send_errors: get(&self.send_errors),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
            lost: get(&self.lost),
            delayed: get(&self.delayed),
        }
    }

    /// Adds a batch of counts.
    pub fn add(&self, delta: &ServerStats) {
        let add = |a: &AtomicU64, n: u64| {
            if n != 0 {
                a.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.received, delta.received);
        add(&self.answered, delta.answered);
        add(&self.dropped, delta.dropped);
        add(&self.send_errors, delta.send_errors);
        add(&self.bytes_received, delta.bytes_received);
        add(&self.bytes_sent, delta.bytes_sent);
        add(&self.lost, delta.lost);
        add(&self.delayed, delta.delayed);
    }
}

/// A bound fleet server: bind first (learning the port), then [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    config: ServerConfig,
}

impl Server {
    /// Binds the wildcard address on `config.port` with `IP_PKTINFO` enabled.
    pub fn bind(config: ServerConfig) -> io::Result<Self> {
        config.validate()?;
        let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, config.port))?;
        sys::enable_pktinfo(socket.as_raw_fd())?;
        sys::set_buffers(socket.as_raw_fd(), SOCKET_BUFFER)?;
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        Ok(Self { socket, config })
    }

    /// The UDP port the printers answer on.
    pub fn port(&self) -> io::Result<u16> {
        Ok(self.socket.local_addr()?.port())
    }

    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Serves until `stop` is set or the configured duration has passed (checked at least every
    /// 50 ms), then returns what it did.
    pub fn run(&self, fleet: &Fleet, stop: &AtomicBool) -> io::Result<ServerStats> {
        let stats = SharedStats::default();
        self.run_with(fleet, stop, &stats)?;
        Ok(stats.snapshot())
    }

    /// Like [`Server::run`], counting into `stats` as it goes (readable from other threads).
    pub fn run_with(&self, fleet: &Fleet, stop: &AtomicBool, stats: &SharedStats) -> io::Result<()> {
        if fleet.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the fleet has no agents"));
        }
        let deadline = self.config.duration.map(|d| Instant::now() + d);
        let mut loop_state = Loop::new(self.socket.as_raw_fd());
        let mut timeout = POLL_INTERVAL;
        while !stop.load(Ordering::Relaxed) && deadline.map_or(true, |d| Instant::now() < d) {
            let now = Instant::now();
            loop_state.send_due(now, stats);
            let wait = loop_state.next_due().map_or(POLL_INTERVAL, |due| {
                due.saturating_duration_since(now).clamp(Duration::from_millis(1), POLL_INTERVAL)
            });
            if wait != timeout {
                self.socket.set_read_timeout(Some(wait))?;
                timeout = wait;
            }
            match sys::recv_batch(loop_state.fd, &mut loop_state.rx) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
            loop_state.answer(&self.config, fleet, stats);
        }
        // Replies still held back when the server stops are never sent.
        stats.add(&ServerStats { dropped: loop_state.delayed.len() as u64, ..ServerStats::default() });
        Ok(())
    }
}

/// A reply a slow printer holds back until `due`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    due: Instant,
    seq: u64,
    data: Vec<u8>,
    from: Ipv4Addr,
    to: SocketAddrV4,
}

/// The buffers and queues of one serving loop.
struct Loop {
    fd: RawFd,
    rx: RecvBatch,
    tx: SendBatch,
    outs: Vec<Vec<u8>>,
    delayed: BinaryHeap<Reverse<Held>>,
    seq: u64,
}

impl Loop {
    fn new(fd: RawFd) -> Self {
        Self {
            fd,
            rx: RecvBatch::new(BATCH, MAX_REQUEST),
            tx: SendBatch::default(),
            outs: (0..BATCH).map(|_| Vec::with_capacity(1500)).collect(),
            delayed: BinaryHeap::new(),
            seq: 0,
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.delayed.peek().map(|Reverse(h)| h.due)
    }

    /// Answers the datagrams of the last receive: replies now in one batch, or later.
    fn answer(&mut self, config: &ServerConfig, fleet: &Fleet, stats: &SharedStats) {
        let now = Instant::now();
        let mut delta = ServerStats::default();
        let mut ready: Vec<(usize, Ipv4Addr, SocketAddrV4)> = Vec::with_capacity(self.rx.filled());
        for k in 0..self.rx.filled() {
            let r = self.rx.get(k);
            delta.received += 1;
            delta.bytes_received += r.data.len() as u64;
            self.seq += 1;
            let target = r.destination.filter(|_| !r.truncated).and_then(|d| Some((d, config.index_of(d)?)));
            let Some((dst, index)) = target else {
                delta.dropped += 1;
                continue;
            };
            match fleet.respond(index, dst, now, self.seq, r.data, &mut self.outs[k]) {
                Outcome::Dropped => delta.dropped += 1,
                Outcome::Lost => {
                    delta.dropped += 1;
                    delta.lost += 1;
                }
                Outcome::Reply { delay } if delay.is_zero() => ready.push((k, dst, r.source)),
                Outcome::Reply { delay } => {
                    delta.delayed += 1;
                    let data = self.outs[k].clone();
                    let held = Held { due: now + delay, seq: self.seq, data, from: dst, to: r.source };
                    self.delayed.push(Reverse(held));
                }
            }
        }
        let msgs: Vec<Outgoing<'_>> = ready
            .iter()
            .map(|&(k, from, to)| Outgoing { data: &self.outs[k], from: Some(from), to })
            .collect();
        count_sent(&sys::send_batch(self.fd, &msgs, &mut self.tx), &mut delta);
        stats.add(&delta);
    }

    /// Sends the held-back replies that are due.
    fn send_due(&mut self, now: Instant, stats: &SharedStats) {
        let mut due = Vec::new();
        while self.next_due().is_some_and(|d| d <= now) {
            if let Some(Reverse(h)) = self.delayed.pop() {
                due.push(h);
            }
        }
        if due.is_empty() {
            return;
        }
        let msgs: Vec<Outgoing<'_>> =
            due.iter().map(|h| Outgoing { data: &h.data, from: Some(h.from), to: h.to }).collect();
        let mut delta = ServerStats::default();
        count_sent(&sys::send_batch(self.fd, &msgs, &mut self.tx), &mut delta);
        stats.add(&delta);
    }
}

fn count_sent(sent: &sys::Sent, delta: &mut ServerStats) {
    delta.answered += sent.count as u64;
    delta.bytes_sent += sent.bytes;
    delta.send_errors += sent.failures.len() as u64;
    delta.dropped += sent.failures.len() as u64;
}

/// Binds and runs a server in one call (see [`Server::bind`] and [`Server::run`]).
pub fn serve(fleet: &Fleet, config: &ServerConfig, stop: &AtomicBool) -> io::Result<ServerStats> {
    Server::bind(*config)?.run(fleet, stop)
}
