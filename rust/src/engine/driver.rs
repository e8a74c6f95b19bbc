//! The engine's I/O loop: one socket, thousands of sessions, timers, pacing and matching.
//!
//! Each turn receives every waiting datagram (in batches), expires the tries whose wait is
//! over, sends what the packets-per-second budget allows (in batches), hands finished targets
//! to the sink, and sleeps until the next datagram, timer or token — never longer than
//! [`TURN`](crate::pacing::TURN), so a cancel is seen within that. While requests wait for
//! the budget, a turn lasts at least [`COALESCE`] and does not wake for each answer: the
//! answers of that stretch are read together, and the budget's packets go out together (a
//! turn per answer cost three times the engine's CPU at 10,000 printers, mostly in context
//! switches and waking the receiver). An answer's time is the kernel's stamp of its arrival,
//! so round-trip times stay exact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use crate::ber::ErrorKind;
use crate::pacing::{TokenBucket, TURN};
use crate::snmp::{decode, v3, Pdu, PduType};
use crate::worker::Publish;

use super::config::EngineConfig;
use super::hints::{community_key, table_key, WalkHints};
use super::outcome::TargetResult;
use super::plan::{Target, VersionChoice};
use super::session::{Session, Step};
use super::socket::{BatchSocket, BATCH};
use super::stats::Stats;
use super::v3::EngineCache;

/// Finished targets are handed over at least this often (and at the end).
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// Receive batches per turn at most, so sending keeps its pace under a flood of answers.
const RECV_BATCHES_PER_TURN: usize = 64;
/// While requests queue for the packets-per-second budget, a turn is at least this long (at
/// the default 10,000 packets/s, 20 requests go out together; the bucket holds 5 ms).
pub const COALESCE: Duration = Duration::from_millis(2);
/// A kernel stamp further back than this (or ahead of the clock) is not believed: the system
/// clock moved, or the process's clock is faked (`faketime`); the turn's time is taken.
const STAMP_TRUSTED: Duration = Duration::from_secs(10);

/// When a datagram arrived, on the monotonic clock: the turn's `now` (read with the system
/// clock's `wall`) moved back by the age of the kernel's stamp, when there is one to believe.
fn arrival(stamp: Option<Duration>, now: Instant, wall: Duration) -> Instant {
    stamp
        .and_then(|at| wall.checked_sub(at))
        .filter(|age| *age <= STAMP_TRUSTED)
        .and_then(|age| now.checked_sub(age))
        .unwrap_or(now)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retired {
    Answered,
    Expired,
}

/// A try's deadline. Stale entries (the op moved on) are skipped when they come up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    session: u32,
    op: u32,
    request_id: i32,
    attempt: u32,
}

/// An operation waiting for its turn to send; `fresh` ones need a new request id.
#[derive(Debug, Clone, Copy)]
struct Queued {
    session: u32,
    op: u32,
    fresh: bool,
}

pub struct Driver {
    config: EngineConfig,
    socket: BatchSocket,
    sessions: Vec<Session>,
    by_address: HashMap<SocketAddrV4, u32>,
    outstanding: HashMap<i32, (u32, u32)>,
    retired: HashMap<i32, Retired>,
    timers: BinaryHeap<Reverse<Timer>>,
    queue: VecDeque<Queued>,
    bucket: TokenBucket,
    next_request_id: i32,
    ready: Vec<TargetResult>,
    /// When the last turn's receive began.
    last_receive: Instant,
    remaining: usize,
    stats: Stats,
    engines: Arc<EngineCache>,
    hints: Arc<WalkHints>,
}

impl Driver {
    /// Binds the socket (on `local`, port 0 for any) and lays out one session per target.
    pub fn new(config: EngineConfig, targets: Vec<Target>, local: SocketAddrV4) -> io::Result<Self> {
        Self::with_engines(config, targets, local, EngineCache::new())
    }

    /// [`Driver::new`] with SNMPv3 engines discovered before (and kept in `engines` after).
    pub fn with_engines(
        config: EngineConfig,
        targets: Vec<Target>,
        local: SocketAddrV4,
        engines: Arc<EngineCache>,
    ) -> io::Result<Self> {
        Self::with_caches(config, targets, local, engines, WalkHints::new())
    }

    /// [`Driver::with_engines`] with what earlier batches learned of the targets' tables (kept
    /// in `hints` after: [`super::hints`]).
    pub fn with_caches(
        config: EngineConfig,
        targets: Vec<Target>,
        local: SocketAddrV4,
        engines: Arc<EngineCache>,
        hints: Arc<WalkHints>,
    ) -> io::Result<Self> {
        config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.0))?;
        let socket = BatchSocket::bind(local)?;
        let sessions: Vec<Session> = targets
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let known = if t.v3.is_some() { engines.get(t.addr) } else { None };
                let roots: Vec<u64> = t.plan.walks.iter().map(|r| table_key(r.as_oid(), &t)).collect();
                let learned = hints.lookup(t.addr, &roots);
                let answered = if t.version == VersionChoice::Auto {
                    hints.version(t.addr, community_key(&t.community))
                } else {
                    None
                };
                Session::with_hints(i, t, &config, known, &learned, answered)
            })
            .collect();
        let mut by_address = HashMap::with_capacity(sessions.len());
        for (i, s) in sessions.iter().enumerate() {
            by_address.entry(s.target.addr).or_insert(i as u32);
        }
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.subsec_nanos());
        Ok(Self {
            bucket: TokenBucket::new(config.max_pps, Instant::now()),
            config,
            socket,
            remaining: sessions.len(),
            stats: Stats { targets: sessions.len() as u64, ..Stats::default() },
            sessions,
            by_address,
            outstanding: HashMap::new(),
            retired: HashMap::new(),
            timers: BinaryHeap::new(),
            queue: VecDeque::new(),
            next_request_id: (seed % 0x4000_0000) as i32 + 1,
            ready: Vec::new(),
            last_receive: Instant::now(),
            engines,
            hints,
        })
    }

    /// Runs until every target is finished or `cancel` is set (then the unfinished targets
    /// fail with `cancelled`). Results reach `sink` in batches as targets finish.
    pub fn run(
        &mut self,
        cancel: &AtomicBool,
        sink: &mut dyn Publish<TargetResult, Stats>,
    ) -> io::Result<Stats> {
        for s in 0..self.sessions.len() {
            self.start_ops(s as u32);
        }
        let mut last_publish = Instant::now();
        loop {
            if cancel.load(Ordering::Relaxed) {
                self.cancel_all();
                break;
            }
            self.stats.turns += 1;
            let now = Instant::now();
            self.receive(now)?;
            self.expire(Instant::now());
            self.send(Instant::now());
            if self.remaining == 0 {
                break;
            }
            if last_publish.elapsed() >= PUBLISH_EVERY && !self.ready.is_empty() {
                sink.publish(std::mem::take(&mut self.ready), &self.stats);
                last_publish = Instant::now();
            }
            let now = Instant::now();
            let wait = self.wait(now);
            if self.queue.is_empty() {
                self.socket.wait_readable(wait)?;
            } else {
                // Paced: answers wait in the socket's buffer for the next turn (see COALESCE).
                std::thread::sleep(wait.max(COALESCE).min(TURN));
            }
        }
        sink.publish(std::mem::take(&mut self.ready), &self.stats);
        Ok(self.stats)
    }

    fn wait(&self, now: Instant) -> Duration {
        let mut wait = TURN;
        if let Some(Reverse(t)) = self.timers.peek() {
            wait = wait.min(t.at.saturating_duration_since(now));
        }
        if !self.queue.is_empty() {
            wait = wait.min(self.bucket.until_next(now).max(Duration::from_micros(200)));
        }
        wait
    }

    fn start_ops(&mut self, s: u32) {
        while let Some(op) = self.sessions[s as usize].start_next() {
            self.queue.push_back(Queued { session: s, op: op as u32, fresh: true });
        }
        if self.sessions[s as usize].is_complete() {
            self.complete(s);
        }
    }

    fn complete(&mut self, s: u32) {
        let session = &self.sessions[s as usize];
        if let Some(state) = session.v3.as_ref().filter(|v| v.learned) {
            if let Some(info) = &state.engine {
                self.engines.put(session.target.addr, info.clone());
            }
        }
        if let Some((version, v2c_unanswered)) = session.auto_version() {
            let community = community_key(&session.target.community);
            self.hints.answered(session.target.addr, community, version, v2c_unanswered);
        }
        let learned = session.learned();
        if !learned.is_empty() {
            let roots = session.table_keys();
            self.hints.put(session.target.addr, learned.into_iter().map(|(w, h)| (roots[w], h)));
        }
        self.ready.push(self.sessions[s as usize].take_result());
        self.remaining -= 1;
        self.stats.targets_done += 1;
    }

    fn after(&mut self, s: u32, op: u32, step: Step) {
        match step {
            Step::Next => self.queue.push_back(Queued { session: s, op, fresh: true }),
            Step::Retry => self.queue.push_back(Queued { session: s, op, fresh: false }),
            Step::Done => self.start_ops(s),
        }
    }

    fn new_request_id(&mut self) -> i32 {
        loop {
            let id = self.next_request_id;
            self.next_request_id = if id == i32::MAX { 1 } else { id + 1 };
            if !self.outstanding.contains_key(&id) && !self.retired.contains_key(&id) {
                return id;
            }
        }
    }

    fn send(&mut self, now: Instant) {
        self.bucket.refill(now);
        while !self.queue.is_empty() {
            let n = self.bucket.available().min(BATCH).min(self.queue.len());
            if n == 0 {
                return;
            }
            let batch: Vec<Queued> = self.queue.drain(..n).collect();
            for q in &batch {
                if q.fresh {
                    let id = self.new_request_id();
                    self.sessions[q.session as usize].prepare(q.op as usize, id);
                    self.outstanding.insert(id, (q.session, q.op));
                }
            }
            let datagrams: Vec<(SocketAddrV4, &[u8])> = batch
                .iter()
                .map(|q| {
                    let s = &self.sessions[q.session as usize];
                    (s.target.addr, s.op(q.op as usize).request.as_slice())
                })
                .collect();
            let result = self.socket.send(&datagrams);
            drop(datagrams);
            let tried = result.count + result.failures.len();
            let mut failures = result.failures.into_iter().peekable();
            for (i, q) in batch[..tried].iter().enumerate() {
                match failures.next_if(|(at, _)| *at == i) {
                    Some((_, err)) => self.send_failed(*q, &err),
                    None => self.sent(*q, now),
                }
            }
            self.bucket.take(tried);
            if result.blocked {
                // The socket's buffer is full: try the rest next turn.
                self.requeue(&batch[tried..]);
                return;
            }
        }
    }

    fn requeue(&mut self, rest: &[Queued]) {
        for q in rest.iter().rev() {
            self.queue.push_front(Queued { fresh: false, ..*q });
        }
    }

    fn sent(&mut self, q: Queued, now: Instant) {
        let session = &mut self.sessions[q.session as usize];
        let op = session.op(q.op as usize);
        let (bytes, request_id, attempt) = (op.request.len(), op.request_id, op.attempt);
        session.sent(q.op as usize, bytes, now);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += bytes as u64;
        if attempt > 0 {
            self.stats.retries += 1;
        }
        let at = now + self.config.timeout_for(attempt);
        self.timers.push(Reverse(Timer { at, session: q.session, op: q.op, request_id, attempt }));
    }

    fn send_failed(&mut self, q: Queued, err: &io::Error) {
        self.stats.send_errors += 1;
        let id = self.sessions[q.session as usize].op(q.op as usize).request_id;
        self.retire(id, Retired::Expired);
        let step = self.sessions[q.session as usize].send_failed(q.op as usize, err);
        self.after(q.session, q.op, step);
    }

    fn retire(&mut self, request_id: i32, how: Retired) {
        self.outstanding.remove(&request_id);
        self.retired.insert(request_id, how);
    }

    fn expire(&mut self, now: Instant) {
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.at > now {
                break;
            }
            self.timers.pop();
            let live = self.outstanding.get(&t.request_id) == Some(&(t.session, t.op))
                && self.sessions[t.session as usize].op(t.op as usize).attempt == t.attempt;
            if !live {
                continue;
            }
            self.stats.timeouts += 1;
            let step = self.sessions[t.session as usize].on_timeout(t.op as usize);
            if step == Step::Done {
                self.retire(t.request_id, Retired::Expired);
            }
            self.after(t.session, t.op, step);
        }
    }

    fn receive(&mut self, now: Instant) -> io::Result<()> {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // Whatever this turn reads came after the last turn's reading began (a stamp put
        // earlier than that by a clock step is off by a turn at most).
        let floor = std::mem::replace(&mut self.last_receive, now);
        for _ in 0..RECV_BATCHES_PER_TURN {
            let n = self.socket.recv()?;
            for i in 0..n {
                let at = arrival(self.socket.datagram(i).received_at, now, wall).max(floor);
                self.datagram(i, at);
            }
            if n < BATCH {
                break;
            }
        }
        Ok(())
    }

    /// Datagram `i` of the last receive, which arrived at `now`.
    fn datagram(&mut self, i: usize, now: Instant) {
        let envelope = self.socket.datagram(i);
        let len = envelope.data.len();
        self.stats.packets_received += 1;
        self.stats.bytes_received += len as u64;
        let decoded = match decode(envelope.data) {
            _ if envelope.truncated => None,
            Ok(msg) => Some(msg),
            Err(e) if e.kind == ErrorKind::UnsupportedVersion(3) => {
                let (data, source) = (envelope.data.to_vec(), envelope.source);
                self.datagram_v3(&data, source, now);
                return;
            }
            Err(_) => None,
        };
        let Some(msg) = decoded else {
            let source = envelope.source;
            self.malformed(source, len);
            return;
        };
        let Pdu::Standard(pdu) = &msg.pdu else {
            self.stats.unexpected += 1;
            return;
        };
        if pdu.pdu_type != PduType::Response {
            self.stats.unexpected += 1;
            return;
        }
        let Some(&(s, op)) = self.outstanding.get(&pdu.request_id) else {
            match self.retired.get(&pdu.request_id) {
                Some(Retired::Answered) => self.stats.duplicate += 1,
                Some(Retired::Expired) => self.stats.late += 1,
                None => self.stats.spoofed += 1,
            }
            return;
        };
        let session = &mut self.sessions[s as usize];
        if envelope.source != session.target.addr || msg.community != session.target.community.as_slice() {
            self.stats.spoofed += 1;
            return;
        }
        self.stats.matched += 1;
        let step = session.on_response(op as usize, &msg, len, now);
        let request_id = pdu.request_id;
        self.retire(request_id, Retired::Answered);
        self.after(s, op, step);
    }

    fn malformed(&mut self, source: SocketAddrV4, len: usize) {
        self.stats.malformed += 1;
        if let Some(&s) = self.by_address.get(&source) {
            let session = &mut self.sessions[s as usize];
            if let Some(op) = session.in_flight() {
                session.malformed(op, len);
            }
        }
    }

    /// An SNMPv3 datagram: matched by msgID (the request id) and source, then authenticated,
    /// decrypted and handled by the target's session.
    fn datagram_v3(&mut self, data: &[u8], source: SocketAddrV4, now: Instant) {
        let Ok(msg) = v3::decode(data) else {
            self.malformed(source, data.len());
            return;
        };
        let id = msg.header.msg_id;
        let Some(&(s, op)) = self.outstanding.get(&id) else {
            match self.retired.get(&id) {
                Some(Retired::Answered) => self.stats.duplicate += 1,
                Some(Retired::Expired) => self.stats.late += 1,
                None => self.stats.spoofed += 1,
            }
            return;
        };
        let session = &mut self.sessions[s as usize];
        if source != session.target.addr {
            self.stats.spoofed += 1;
            return;
        }
        let Some(step) = session.on_v3(op as usize, data, &msg, now) else {
            self.stats.spoofed += 1;
            return;
        };
        self.stats.matched += 1;
        self.retire(id, Retired::Answered);
        self.after(s, op, step);
    }

    fn cancel_all(&mut self) {
        self.queue.clear();
        for s in 0..self.sessions.len() {
            if !self.sessions[s].is_complete() {
                self.sessions[s].cancel();
                self.complete(s as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_timed_by_its_kernel_stamp() {
        let now = Instant::now() + Duration::from_secs(60);
        let wall = Duration::from_secs(1_800_000_000);
        let age = Duration::from_micros(1_700);
        assert_eq!(arrival(wall.checked_sub(age), now, wall), now.checked_sub(age).unwrap());
        assert_eq!(arrival(Some(wall), now, wall), now);
    }

    #[test]
    fn a_stamp_not_to_believe_gives_the_turns_time() {
        let now = Instant::now() + Duration::from_secs(60);
        let wall = Duration::from_secs(1_800_000_000);
        assert_eq!(arrival(None, now, wall), now, "no stamp");
        // Ahead of the clock (the system clock stepped back), or older than STAMP_TRUSTED
        // (stepped forward, or this process's clock is faked while the kernel's is not).
        assert_eq!(arrival(Some(wall + Duration::from_millis(5)), now, wall), now);
        let too_old = wall.checked_sub(STAMP_TRUSTED + Duration::from_millis(1));
        assert_eq!(arrival(too_old, now, wall), now);
        assert_eq!(arrival(Some(Duration::from_secs(1)), now, wall), now, "a faked clock years ahead");
    }
}
