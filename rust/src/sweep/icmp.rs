//! The ICMP echo sweep's I/O loop: one ICMP socket (raw or datagram), requests paced by the
//! token bucket the poll engine also uses (`crate::pacing`) and sent in batches (`crate::udp`), replies matched by source address,
//! identifier and cookie, timeouts and retries, a total time limit and a cancel flag.
//!
//! Each turn receives every waiting reply, expires the probes whose wait is over, sends what
//! the packets-per-second budget allows, hands the hosts found to the sink, and sleeps until
//! the next reply, timer or token — never longer than [`TURN`].

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::mix::mix;
use crate::pacing::{TokenBucket, TURN};
use crate::udp::{self, IcmpKind, Outgoing, RecvBatch, SendBatch};
use crate::worker::Publish;

use super::echo::{self, Reply};

/// Datagrams per system call.
const BATCH: usize = 64;
/// Receive slot per datagram: an echo reply with its IP header (options included) fits.
const SLOT: usize = 1024;
/// Hosts found are handed over at least this often (and at the end).
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// IPv4 header without options: added to each request for the wire byte count.
pub const IP_HEADER: u64 = 20;

/// How a sweep paces, waits and gives up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepConfig {
    /// How long to wait for a probe's reply.
    pub timeout: Duration,
    /// Probes sent again to an address that did not answer (0: one probe per address).
    pub retries: u32,
    /// The most probes a second.
    pub max_pps: u32,
    /// The whole sweep stops after this long (what was found is kept).
    pub limit: Option<Duration>,
}

impl SweepConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.timeout < Duration::from_millis(1) || self.timeout > Duration::from_secs(60) {
            return Err(format!("timeout must be between 1 ms and 60 s, not {:?}", self.timeout));
        }
        if self.retries > 10 {
            return Err(format!("retries must be at most 10, not {}", self.retries));
        }
        if self.max_pps == 0 {
            return Err("max_pps must be at least 1".into());
        }
        Ok(())
    }
}

/// A host that answered: its position in the sweep's address list, address and round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub rtt: Duration,
}

/// What a sweep did. Every datagram received is one of `replies`, `other` or `malformed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    pub targets: u64,
    /// Addresses sent at least one probe.
    pub probed: u64,
    /// Addresses whose fate is known (answered, or silent after every try).
    pub finished: u64,
    pub alive: u64,
    pub packets_sent: u64,
    /// ICMP bytes sent (the IP header is [`IP_HEADER`] more per packet).
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Echo replies to this sweep's requests (a second reply to one address included).
    pub replies: u64,
    /// ICMP packets that are not ours (other programs, our own requests seen on a raw socket).
    pub other: u64,
    pub malformed: u64,
    pub timeouts: u64,
    pub retries: u64,
    pub send_errors: u64,
    /// The time limit ended the sweep before every address was finished.
    pub limited: bool,
    /// A cancel ended the sweep before every address was finished.
    pub cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    InFlight { attempt: u8, at: Instant },
    Alive,
    Silent,
}

pub struct IcmpSweep {
    config: SweepConfig,
    socket: OwnedFd,
    kind: IcmpKind,
    identifier: u16,
    cookie: u32,
    targets: Vec<Ipv4Addr>,
    states: Vec<State>,
    next: usize,
    retry: VecDeque<u32>,
    timers: VecDeque<(Instant, u32, u8)>,
    bucket: TokenBucket,
    rx: RecvBatch,
    tx: SendBatch,
    ready: Vec<Found>,
    stats: SweepStats,
}

impl IcmpSweep {
    /// Opens the ICMP socket of `kind`. `PermissionDenied` if the system does not allow it.
    pub fn new(config: SweepConfig, kind: IcmpKind, targets: Vec<Ipv4Addr>) -> io::Result<Self> {
        config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if u32::try_from(targets.len()).is_err() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many addresses"));
        }
        let socket = udp::open_icmp(kind)?;
        // Best effort: a smaller buffer still works, with less room for a burst of replies.
        let _ = udp::set_buffers(socket.as_raw_fd(), 4 << 20);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos());
        let seed = mix(nanos as u64 ^ u64::from(std::process::id()));
        Ok(Self {
            config,
            socket,
            kind,
            identifier: seed as u16,
            cookie: (seed >> 32) as u32,
            states: vec![State::Waiting; targets.len()],
            stats: SweepStats { targets: targets.len() as u64, ..SweepStats::default() },
            targets,
            next: 0,
            retry: VecDeque::new(),
            timers: VecDeque::new(),
            bucket: TokenBucket::new(config.max_pps, Instant::now()),
            rx: RecvBatch::new(BATCH, SLOT),
            tx: SendBatch::default(),
            ready: Vec::new(),
        })
    }

    /// Runs until every address is finished, the time limit passes or `cancel` is set; the
    /// hosts found reach `sink` in batches. Returns the final counters.
    pub fn run(
        &mut self,
        cancel: &AtomicBool,
        sink: &mut dyn Publish<Found, SweepStats>,
    ) -> io::Result<SweepStats> {
        let started = Instant::now();
        let deadline = self.config.limit.map(|l| started + l);
        let mut last_publish = started;
        loop {
            if cancel.load(Ordering::Relaxed) {
                self.stats.cancelled = self.stats.finished < self.stats.targets;
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.stats.limited = self.stats.finished < self.stats.targets;
                break;
            }
            self.receive(Instant::now())?;
            self.expire(Instant::now());
            self.send(Instant::now());
            if self.stats.finished == self.stats.targets {
                break;
            }
            if last_publish.elapsed() >= PUBLISH_EVERY && !self.ready.is_empty() {
                sink.publish(std::mem::take(&mut self.ready), &self.stats);
                last_publish = Instant::now();
            }
            let mut wait = self.wait(Instant::now());
            if let Some(d) = deadline {
                wait = wait.min(d.saturating_duration_since(Instant::now()));
            }
            udp::wait_readable(self.socket.as_raw_fd(), wait)?;
        }
        // Replies already queued still count.
        self.receive(Instant::now())?;
        sink.publish(std::mem::take(&mut self.ready), &self.stats);
        Ok(self.stats)
    }

    fn wait(&self, now: Instant) -> Duration {
        let mut wait = TURN;
        if let Some(&(at, _, _)) = self.timers.front() {
            wait = wait.min(at.saturating_duration_since(now));
        }
        if !self.retry.is_empty() || self.next < self.targets.len() {
            wait = wait.min(self.bucket.until_next(now).max(Duration::from_micros(200)));
        }
        wait
    }

    fn send(&mut self, now: Instant) {
        self.bucket.refill(now);
        loop {
            let n = self.bucket.available().min(BATCH);
            let mut picked: Vec<u32> = Vec::with_capacity(n);
            while picked.len() < n {
                if let Some(i) = self.retry.pop_front() {
                    picked.push(i);
                } else if self.next < self.targets.len() {
                    picked.push(self.next as u32);
                    self.next += 1;
                } else {
                    break;
                }
            }
            if picked.is_empty() {
                return;
            }
            let packets: Vec<[u8; echo::REQUEST_LEN]> =
                picked.iter().map(|&i| echo::request(self.identifier, i, self.cookie)).collect();
            let msgs: Vec<Outgoing<'_>> = picked
                .iter()
                .zip(&packets)
                .map(|(&i, p)| Outgoing {
                    data: p,
                    from: None,
                    to: SocketAddrV4::new(self.targets[i as usize], 0),
                })
                .collect();
            let result = udp::send_batch(self.socket.as_raw_fd(), &msgs, &mut self.tx);
            drop(msgs);
            let tried = result.count + result.failures.len();
            let mut failures = result.failures.into_iter().map(|(at, _)| at).peekable();
            for (k, &i) in picked[..tried].iter().enumerate() {
                if failures.next_if_eq(&k).is_some() {
                    self.stats.send_errors += 1;
                    self.finish_silent(i);
                } else {
                    self.sent(i, now);
                }
            }
            self.bucket.take(tried);
            if result.blocked {
                // The socket's buffer is full: the rest go first next turn.
                for &i in picked[tried..].iter().rev() {
                    self.retry.push_front(i);
                }
                return;
            }
        }
    }

    fn sent(&mut self, i: u32, now: Instant) {
        let attempt = match self.states[i as usize] {
            State::InFlight { attempt, .. } => attempt + 1,
            _ => 0,
        };
        if attempt == 0 {
            self.stats.probed += 1;
        } else {
            self.stats.retries += 1;
        }
        self.states[i as usize] = State::InFlight { attempt, at: now };
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += echo::REQUEST_LEN as u64;
        self.timers.push_back((now + self.config.timeout, i, attempt));
    }

    fn finish_silent(&mut self, i: u32) {
        self.states[i as usize] = State::Silent;
        self.stats.finished += 1;
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, i, attempt)) = self.timers.front() {
            if at > now {
                break;
            }
            self.timers.pop_front();
            if !matches!(self.states[i as usize], State::InFlight { attempt: a, .. } if a == attempt) {
                continue;
            }
            self.stats.timeouts += 1;
            if u32::from(attempt) < self.config.retries {
                self.retry.push_back(i);
            } else {
                self.finish_silent(i);
            }
        }
    }

    fn receive(&mut self, now: Instant) -> io::Result<()> {
        let raw = self.kind == IcmpKind::Raw;
        let identifier = raw.then_some(self.identifier);
        for _ in 0..64 {
            let n = match udp::recv_batch(self.socket.as_raw_fd(), &mut self.rx) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => 0,
                Err(e) => return Err(e),
            };
            for k in 0..n {
                let got = self.rx.get(k);
                self.stats.packets_received += 1;
                self.stats.bytes_received += got.data.len() as u64;
                let reply = if got.truncated {
                    Reply::Malformed
                } else {
                    echo::parse(got.data, raw, identifier, self.cookie)
                };
                let source = *got.source.ip();
                match reply {
                    Reply::Malformed => self.stats.malformed += 1,
                    Reply::Other => self.stats.other += 1,
                    Reply::Ours(i) if self.targets.get(i as usize) != Some(&source) => self.stats.other += 1,
                    Reply::Ours(i) => self.answered(i, now),
                }
            }
            if n < BATCH {
                break;
            }
        }
        Ok(())
    }

    fn answered(&mut self, i: u32, now: Instant) {
        self.stats.replies += 1;
        let state = self.states[i as usize];
        let rtt = match state {
            State::InFlight { at, .. } => {
                self.stats.finished += 1;
                now.saturating_duration_since(at)
            }
            // A reply after the last try timed out: the host is alive all the same.
            State::Silent => self.config.timeout,
            State::Alive | State::Waiting => return,
        };
        self.states[i as usize] = State::Alive;
        self.stats.alive += 1;
        self.ready.push(Found { index: i, addr: self.targets[i as usize], rtt });
    }
}

/// Which ICMP sockets this process may open, in the order a sweep prefers them.
#[must_use]
pub fn available_kinds() -> Vec<IcmpKind> {
    [IcmpKind::Raw, IcmpKind::Datagram].into_iter().filter(|&k| udp::open_icmp(k).is_ok()).collect()
}
