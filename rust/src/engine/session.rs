//! One target's poll as a sans-I/O state machine: which request to send next, and what an
//! answer or a timeout means. The driver owns the sockets, the clocks and the request ids.
//!
//! A plan becomes *operations*: GETs of up to `max_get_oids` scalars, and one walk per root.
//! At most `per_target` operations are in flight (and only one until the target has answered
//! once, so an unreachable target costs one request's tries, not one per operation).

use std::sync::Arc;
use std::time::Instant;

use crate::snmp::error_status::{NO_SUCH_NAME, TOO_BIG};
use crate::snmp::v3::V3Message;
use crate::snmp::{encode_into, Message, Oid, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version};

use super::columns::{column_bit, table_column, ColumnError, ColumnWalk, Progress};
use super::config::EngineConfig;
use super::hints::{table_key, Hint, COLUMNS_REFUSED};
use super::outcome::{Failure, FailureKind, Request, TargetResult};
use super::plan::{Target, VersionChoice};
use super::v3::{EngineInfo, Incoming, V3State};

/// What the driver does with an operation after an answer or a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send the operation's next request (it needs a new request id: [`Session::prepare`]).
    Next,
    /// Send the same request again (same request id; the bytes may have changed version).
    Retry,
    /// The operation is finished; see [`Session::start_next`] and [`Session::is_complete`].
    Done,
}

#[derive(Debug)]
enum OpKind {
    /// Indices into `plan.gets`.
    Get { oids: Vec<usize> },
    /// `plan.walks[walk]`, continuing after `last`.
    Walk(Walk),
}

/// A walk in progress, and what it measured for the next walk of its table ([`Hint`]).
#[derive(Debug)]
struct Walk {
    /// Index into the plan's walks.
    index: usize,
    last: OidBuf,
    max_repetitions: u32,
    /// Varbinds under the root so far.
    rows: u32,
    /// Varbinds and message bytes answered so far (past the root included).
    received: u32,
    bytes: u32,
    /// The size of the first request (from the table's hint, or the configured one).
    first: u32,
    /// An agent answered `tooBig`: later requests keep the halved size.
    shrunk: bool,
    /// What was known of the table before this walk.
    hint: Option<Hint>,
    /// The table's columns seen so far ([`Hint::columns`]).
    seen: u64,
    /// An SNMPv1 walk of the hinted columns side by side (else one varbind a request): begun
    /// after the walk's first answer in v1 (the version settled).
    columns: Option<ColumnWalk>,
    /// The agent did not take a side-by-side request: the rest of the walk, and the next
    /// polls' walks of this table, are plain.
    refused: bool,
}

#[derive(Debug)]
pub struct Op {
    kind: OpKind,
    done: bool,
    /// The current request's id (0: none yet).
    pub request_id: i32,
    /// 0 for a request's first try.
    pub attempt: u32,
    /// The current request, encoded.
    pub request: Vec<u8>,
    /// When the current try was sent.
    pub sent_at: Option<Instant>,
    sent_version: Version,
    /// Undecodable datagrams from the target while this request was out.
    malformed: u32,
    /// SNMPv3 discoveries and time resynchronisations this operation asked for.
    resyncs: u32,
}

#[derive(Debug)]
pub struct Session {
    pub target: Target,
    pub result: TargetResult,
    config: EngineConfig,
    ops: Vec<Op>,
    started: usize,
    active: u32,
    finished: usize,
    /// The USM state of a v3 target.
    pub v3: Option<V3State>,
    /// Whether a response PDU arrived (a v3 discovery report does not count: an agent that
    /// answers discovery may still drop every request it cannot decrypt).
    confirmed: bool,
    /// An `auto` target that answered v1 at its last poll: its tries start with v1.
    v1_first: bool,
    /// A v2c try went unanswered (for an `auto` target that then answered v1: remembered).
    v2c_unanswered: bool,
}

impl Session {
    #[must_use]
    pub fn new(index: usize, target: Target, config: &EngineConfig, engine: Option<EngineInfo>) -> Self {
        Self::with_hints(index, target, config, engine, &[], None)
    }

    /// [`Session::new`] with what earlier polls learned of the target (see [`super::hints`]):
    /// each of the plan's tables (`hints[w]` for `plan.walks[w]`; missing or None: nothing
    /// known) sizes its walk's first request; `answered`, the version an `auto` target last
    /// answered in, is tried first.
    #[must_use]
    pub fn with_hints(
        index: usize,
        target: Target,
        config: &EngineConfig,
        engine: Option<EngineInfo>,
        hints: &[Option<Hint>],
        answered: Option<Version>,
    ) -> Self {
        let plan = &target.plan;
        let mut ops = Vec::new();
        let gets: Vec<usize> = (0..plan.gets.len()).collect();
        for chunk in gets.chunks(config.max_get_oids as usize) {
            ops.push(Op::new(OpKind::Get { oids: chunk.to_vec() }));
        }
        let v1_first = target.version == VersionChoice::Auto && answered == Some(Version::V1);
        for (walk, root) in plan.walks.iter().enumerate() {
            let hint = hints.get(walk).copied().flatten();
            let first = hint.map_or(config.max_repetitions, |h| h.first_request(config.max_repetitions));
            let kind = OpKind::Walk(Walk {
                index: walk,
                last: root.clone(),
                max_repetitions: first,
                rows: 0,
                received: 0,
                bytes: 0,
                first,
                shrunk: false,
                hint,
                seen: 0,
                // v1 from the start (no other version tried): side by side at once; `auto`
                // after the first answer in v1 (a late answer to the other version's try must
                // not meet a request of several varbinds).
                columns: hint
                    .filter(|h| target.version == VersionChoice::V1 && h.columns & COLUMNS_REFUSED == 0)
                    .and_then(|h| ColumnWalk::new(root, root, h.columns)),
                refused: false,
            });
            ops.push(Op::new(kind));
        }
        let result = TargetResult::new(index, target.addr, plan.gets.len(), plan.walks.len());
        let v3 = match (&target.v3, target.version) {
            (Some(credentials), VersionChoice::V3) => {
                Some(V3State::new(Arc::clone(credentials), engine, index))
            }
            _ => None,
        };
        Self {
            target,
            result,
            config: *config,
            ops,
            started: 0,
            active: 0,
            finished: 0,
            v3,
            confirmed: false,
            v1_first,
            v2c_unanswered: false,
        }
    }

    #[must_use]
    pub fn op(&self, op: usize) -> &Op {
        &self.ops[op]
    }

    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.finished == self.ops.len()
    }

    /// The next operation to start, if the per-target limit allows one now.
    pub fn start_next(&mut self) -> Option<usize> {
        let limit = if self.confirmed { self.config.per_target } else { 1 };
        if self.active >= limit || self.started >= self.ops.len() {
            return None;
        }
        self.started += 1;
        self.active += 1;
        Some(self.started - 1)
    }

    /// Encodes operation `op`'s next request under a new request id.
    pub fn prepare(&mut self, op: usize, request_id: i32) {
        let version = self.version_for(0);
        let o = &mut self.ops[op];
        o.request_id = request_id;
        o.attempt = 0;
        o.malformed = 0;
        self.encode(op, version);
    }

    /// Records that the current try of `op` went out at `now`.
    pub fn sent(&mut self, op: usize, bytes: usize, now: Instant) {
        self.ops[op].sent_at = Some(now);
        self.result.packets_sent += 1;
        self.result.bytes_sent += bytes as u64;
    }

    /// Counts an undecodable datagram from the target against the request `op` has out.
    pub fn malformed(&mut self, op: usize, bytes: usize) {
        self.ops[op].malformed += 1;
        self.result.packets_received += 1;
        self.result.bytes_received += bytes as u64;
    }

    fn version_for(&self, attempt: u32) -> Version {
        match (self.result.version, self.target.version) {
            (Some(v), _) => v,
            (None, VersionChoice::V2c) => Version::V2C,
            (None, VersionChoice::V3) => Version::V3,
            (None, VersionChoice::Auto) if (attempt + u32::from(self.v1_first)) % 2 == 0 => Version::V2C,
            (None, VersionChoice::V1 | VersionChoice::Auto) => Version::V1,
        }
    }

    fn encode(&mut self, op: usize, version: Version) {
        fn null(oid: Oid<'_>) -> VarBind<'_> {
            VarBind { oid, value: Value::Null }
        }
        let plan = &self.target.plan;
        let o = &mut self.ops[op];
        let cells;
        let (pdu_type, a, b, varbinds) = match &mut o.kind {
            OpKind::Get { oids } => {
                (PduType::Get, 0, 0, oids.iter().map(|&i| null(plan.gets[i].as_oid())).collect())
            }
            OpKind::Walk(w) if version != Version::V1 => {
                (PduType::GetBulk, 0, w.max_repetitions as i32, vec![null(w.last.as_oid())])
            }
            OpKind::Walk(Walk { columns: Some(columns), .. }) => {
                cells = columns.next_request();
                (PduType::GetNext, 0, 0, cells.iter().map(|c| null(c.as_oid())).collect())
            }
            OpKind::Walk(w) => (PduType::GetNext, 0, 0, vec![null(w.last.as_oid())]),
        };
        let pdu =
            StandardPdu { pdu_type, request_id: o.request_id, error_status: a, error_index: b, varbinds };
        o.sent_version = version;
        if let Some(v3) = self.v3.as_mut() {
            o.request.clear();
            // Only Set and negative GETBULK fields fail to encode; none are built here.
            v3.encode(pdu, &mut o.request, Instant::now()).expect("engine requests always encode");
            return;
        }
        let message = Message { version, community: &self.target.community, pdu: Pdu::Standard(pdu) };
        o.request.clear();
        // Only Set and malformed fields fail to encode; none are built here.
        encode_into(&message, &mut o.request).expect("engine requests always encode");
    }

    /// Handles a matched answer (its request id, source and community already checked).
    pub fn on_response(&mut self, op: usize, msg: &Message<'_>, bytes: usize, now: Instant) -> Step {
        self.answered(op, msg.version, bytes, now);
        self.confirmed = true;
        let Pdu::Standard(pdu) = &msg.pdu else {
            return self.fail(op, FailureKind::BadResponse, "a Trap-PDU answered a request");
        };
        self.on_pdu(op, pdu)
    }

    fn answered(&mut self, op: usize, version: Version, bytes: usize, now: Instant) {
        self.result.packets_received += 1;
        self.result.bytes_received += bytes as u64;
        if let OpKind::Walk(w) = &mut self.ops[op].kind {
            w.bytes = w.bytes.saturating_add(u32::try_from(bytes).unwrap_or(u32::MAX));
        }
        if self.result.version.is_none() {
            self.result.version = Some(version);
            self.result.rtt = self.ops[op].sent_at.map(|t| now.saturating_duration_since(t));
        }
    }

    /// Handles an SNMPv3 message whose msgID and source matched `op`'s request: `None` if it
    /// is not acceptable (unauthenticated, wrong digest, another engine; the request stays out).
    pub fn on_v3(&mut self, op: usize, data: &[u8], msg: &V3Message<'_>, now: Instant) -> Option<Step> {
        let resyncs = self.ops[op].resyncs;
        let v3 = self.v3.as_mut()?;
        let mut plain = Vec::new();
        let step = match v3.receive(data, msg, resyncs, &mut plain, now) {
            Incoming::Drop => return None,
            Incoming::Resend => {
                self.answered(op, Version::V3, data.len(), now);
                self.ops[op].resyncs += 1;
                Step::Next
            }
            Incoming::Refused(kind, detail) => {
                self.answered(op, Version::V3, data.len(), now);
                self.fail(op, kind, &detail);
                // The same credentials would be refused for every other request.
                while let Some(next) = self.start_next() {
                    self.fail(next, kind, &detail);
                }
                Step::Done
            }
            Incoming::Response(scoped) => {
                self.answered(op, Version::V3, data.len(), now);
                self.on_pdu(op, &scoped.pdu)
            }
        };
        Some(step)
    }

    fn on_pdu(&mut self, op: usize, pdu: &StandardPdu<'_>) -> Step {
        self.confirmed = true;
        let step = if matches!(self.ops[op].kind, OpKind::Get { .. }) {
            self.get_response(op, pdu)
        } else {
            self.walk_response(op, pdu)
        };
        if step == Step::Done {
            self.finish(op);
        }
        step
    }

    fn get_response(&mut self, op: usize, pdu: &StandardPdu<'_>) -> Step {
        let plan = self.target.plan.clone();
        let OpKind::Get { oids } = &mut self.ops[op].kind else { unreachable!() };
        if pdu.error_status == 0 {
            if pdu.varbinds.len() != oids.len() {
                let detail = format!("{} varbinds answered {} requested", pdu.varbinds.len(), oids.len());
                return self.fail_kind(op, FailureKind::BadResponse, &detail);
            }
            let mut wrong = Vec::new();
            for (vb, &i) in pdu.varbinds.iter().zip(oids.iter()) {
                if vb.oid == plan.gets[i].as_oid() {
                    self.result.gets[i] = Some(self.result.store.push(vb));
                } else {
                    wrong.push(Failure {
                        request: Request::Get(i),
                        kind: FailureKind::BadResponse,
                        detail: format!("answered {} for {}", vb.oid, plan.gets[i]),
                    });
                }
            }
            self.result.failures.extend(wrong);
            return Step::Done;
        }
        if pdu.error_status == TOO_BIG && oids.len() > 1 {
            let tail = oids.split_off(oids.len() / 2);
            self.ops.push(Op::new(OpKind::Get { oids: tail }));
            return Step::Next;
        }
        let kind = FailureKind::from_error_status(pdu.error_status);
        let at = usize::try_from(pdu.error_index).ok().filter(|&i| (1..=oids.len()).contains(&i));
        let Some(at) = at else {
            return self.fail_kind(op, kind, &format!("error-index {}", pdu.error_index));
        };
        let i = oids.remove(at - 1);
        let remaining = !oids.is_empty();
        self.result.failures.push(Failure {
            request: Request::Get(i),
            kind,
            detail: plan.gets[i].to_string(),
        });
        if remaining {
            Step::Next
        } else {
            Step::Done
        }
    }

    fn walk_response(&mut self, op: usize, pdu: &StandardPdu<'_>) -> Step {
        let plan = self.target.plan.clone();
        let bulk = self.ops[op].sent_version != Version::V1;
        let max_rows = self.config.max_rows;
        let default = self.config.max_repetitions;
        let OpKind::Walk(w) = &mut self.ops[op].kind else { unreachable!() };
        let root = plan.walks[w.index].as_oid();
        if bulk {
            w.columns = None; // the agent answered v2c after all: a plain walk
        } else if let Some(columns) = w.columns.as_mut() {
            let progress = match pdu.error_status {
                0 => {
                    w.received =
                        w.received.saturating_add(u32::try_from(pdu.varbinds.len()).unwrap_or(u32::MAX));
                    columns.answer(
                        &pdu.varbinds,
                        root,
                        &mut self.result.store,
                        &mut w.rows,
                        max_rows,
                        &mut w.seen,
                    )
                }
                NO_SUCH_NAME => columns.ended(pdu.error_index),
                TOO_BIG if columns.too_big() => Ok(Progress::More),
                _ => Err(ColumnError::Unsupported),
            };
            return match progress {
                Ok(Progress::More) => Step::Next,
                Ok(Progress::Done) => Step::Done,
                Err(ColumnError::Unsupported) => self.plain_from_here(op),
                Err(ColumnError::Failed(kind, detail)) => self.fail_kind(op, kind, &detail),
            };
        }
        let root_arcs = root.arcs().count();
        match pdu.error_status {
            0 => {}
            TOO_BIG if bulk && w.max_repetitions > 1 => {
                w.max_repetitions /= 2;
                w.shrunk = true;
                return Step::Next;
            }
            // A v1 agent's GETNEXT past its last variable (RFC 1157 4.1.3).
            NO_SUCH_NAME if !bulk => return Step::Done,
            status => {
                let detail = format!("error-index {} after {}", pdu.error_index, w.last);
                return self.fail_kind(op, FailureKind::from_error_status(status), &detail);
            }
        }
        if pdu.varbinds.is_empty() {
            let detail = format!("no varbinds after {}", w.last);
            return self.fail_kind(op, FailureKind::BadResponse, &detail);
        }
        w.received = w.received.saturating_add(u32::try_from(pdu.varbinds.len()).unwrap_or(u32::MAX));
        for vb in &pdu.varbinds {
            if vb.value == Value::EndOfMibView {
                return Step::Done;
            }
            if vb.oid <= w.last.as_oid() {
                let detail = format!("{} after {}", vb.oid, w.last);
                return self.fail_kind(op, FailureKind::Loop, &detail);
            }
            if !vb.oid.starts_with(root) {
                return Step::Done;
            }
            if vb.value.is_exception() {
                let detail = format!("{} for {}", vb.value.type_name(), vb.oid);
                return self.fail_kind(op, FailureKind::BadResponse, &detail);
            }
            if w.rows >= max_rows {
                let detail = format!("more than {max_rows} varbinds under {root}");
                return self.fail_kind(op, FailureKind::RowCap, &detail);
            }
            w.rows += 1;
            w.seen |= column_bit(table_column(vb.oid, root_arcs));
            w.last = vb.oid.to_owned();
            let stored = self.result.store.push(vb);
            self.result.walks[w.index].push(stored);
        }
        if !w.shrunk {
            // The table goes on past what its hint said: the configured size from here (or
            // the size that worked after a tooBig, if smaller).
            let limit = w.hint.map_or(0, |h| u32::from(h.limit));
            w.max_repetitions = if limit > 0 { default.min(limit) } else { default };
        }
        if !bulk && !w.refused && w.columns.is_none() && self.result.version == Some(Version::V1) {
            // SNMPv1, settled: the table's known columns side by side from here.
            let hinted = w.hint.map_or(0, |h| h.columns);
            if hinted & COLUMNS_REFUSED == 0 {
                w.columns = ColumnWalk::new(&plan.walks[w.index], &w.last, hinted);
            }
        }
        Step::Next
    }

    /// The agent did not take a side-by-side request of walk `op` (an answer that does not fit
    /// it, or none): the rows read in order are kept and the walk goes on plain from the last.
    fn plain_from_here(&mut self, op: usize) -> Step {
        let OpKind::Walk(w) = &mut self.ops[op].kind else { unreachable!() };
        let Some(mut columns) = w.columns.take() else { return Step::Next };
        w.refused = true;
        let kept = columns.take_rows();
        if let Some(last) = kept.last().and_then(|s| self.result.store.get(*s)) {
            w.last = last.oid.to_owned();
        }
        let walked = &mut self.result.walks[w.index];
        walked.extend(kept);
        w.rows = u32::try_from(walked.len()).unwrap_or(u32::MAX);
        Step::Next
    }

    /// What this poll's walks learned of their tables, for the next poll of this target: per
    /// walk (index into the plan's walks), its hint, or None to forget the table's (the walk
    /// failed). Nothing for a target that never answered (its tables are as unknown as
    /// before).
    #[must_use]
    pub fn learned(&self) -> Vec<(usize, Option<Hint>)> {
        if !self.confirmed {
            return Vec::new();
        }
        let default = self.config.max_repetitions;
        let mut out = Vec::new();
        for o in &self.ops {
            let OpKind::Walk(w) = &o.kind else { continue };
            if o.sent_at.is_none() {
                continue;
            }
            let failed = self.result.failures.iter().filter(|f| f.request == Request::Walk(w.index));
            let kinds: Vec<FailureKind> = failed.map(|f| f.kind).collect();
            if kinds.contains(&FailureKind::Cancelled) {
                continue; // cut short by us, not the agent: what was known stays
            }
            let refused =
                if w.refused { COLUMNS_REFUSED } else { w.hint.map_or(0, |h| h.columns & COLUMNS_REFUSED) };
            let narrow = |n: u32| u16::try_from(n).unwrap_or(u16::MAX);
            let limit = if w.shrunk { narrow(w.max_repetitions) } else { w.hint.map_or(0, |h| h.limit) };
            let bytes_per_varbind = narrow(w.bytes.div_ceil(w.received.max(1)));
            let hint = if kinds.is_empty() {
                Some(Hint { rows: w.rows, bytes_per_varbind, limit, columns: w.seen | refused })
            } else if kinds.contains(&FailureKind::Timeout) && w.first > default {
                // A larger request than configured went unanswered: not again at this address
                // (the table's size is still the last whole walk's).
                let before = w.hint.unwrap_or(Hint { rows: 0, bytes_per_varbind: 0, limit: 0, columns: 0 });
                let bytes_per_varbind =
                    if w.received > 0 { bytes_per_varbind } else { before.bytes_per_varbind };
                let columns = before.columns | w.seen | refused;
                Some(Hint {
                    rows: before.rows.max(w.rows),
                    bytes_per_varbind,
                    limit: narrow(default),
                    columns,
                })
            } else {
                None
            };
            out.push((w.index, hint));
        }
        out
    }

    /// The version an `auto` target answered in (None: not `auto`, or no answer), and whether
    /// a v2c try of it went unanswered.
    #[must_use]
    pub fn auto_version(&self) -> Option<(Version, bool)> {
        let answered = (self.target.version == VersionChoice::Auto).then_some(self.result.version).flatten();
        answered.map(|v| (v, self.v2c_unanswered))
    }

    /// The keys ([`table_key`]) of the plan's walk roots at this target, in order.
    #[must_use]
    pub fn table_keys(&self) -> Vec<u64> {
        self.target.plan.walks.iter().map(|r| table_key(r.as_oid(), &self.target)).collect()
    }

    /// Handles the end of a try's wait without a matching answer.
    pub fn on_timeout(&mut self, op: usize) -> Step {
        let retries = self.config.retries;
        if self.ops[op].sent_version == Version::V2C {
            self.v2c_unanswered = true;
        }
        let o = &mut self.ops[op];
        if o.attempt >= retries && matches!(&o.kind, OpKind::Walk(Walk { columns: Some(_), .. })) {
            // A side-by-side request the agent may not take (some drop what they cannot
            // answer): the walk goes on plain, from its rows in order.
            return self.plain_from_here(op);
        }
        if o.attempt < retries {
            o.attempt += 1;
            let attempt = o.attempt;
            self.result.retries += 1;
            let version = self.version_for(attempt);
            if version != self.ops[op].sent_version {
                self.encode(op, version);
            }
            return Step::Retry;
        }
        let (kind, detail) = if o.malformed > 0 {
            (FailureKind::Malformed, format!("{} undecodable answers", o.malformed))
        } else if self.v3.as_ref().is_some_and(|v| !v.discovering()) && !self.confirmed {
            let detail = format!(
                "no answer to {} tries, though the agent answered SNMPv3 discovery (agents such as \
                 net-snmp drop requests they cannot decrypt or whose context they do not know: \
                 check the privacy password, the context and the security level)",
                retries + 1
            );
            (FailureKind::Timeout, detail)
        } else {
            (FailureKind::Timeout, format!("no answer to {} tries", retries + 1))
        };
        self.fail(op, kind, &detail);
        if !self.confirmed {
            // Never answered: the other operations would only wait out the same silence.
            while let Some(next) = self.start_next() {
                self.fail(next, kind, "the target did not answer an earlier request");
            }
        }
        Step::Done
    }

    /// The kernel refused to send `op`'s request: it fails (and, for a target that never
    /// answered, so does the rest of its plan).
    pub fn send_failed(&mut self, op: usize, err: &std::io::Error) -> Step {
        self.fail(op, FailureKind::SendError, &err.to_string());
        if !self.confirmed {
            while let Some(next) = self.start_next() {
                self.fail(next, FailureKind::SendError, "an earlier request could not be sent");
            }
        }
        Step::Done
    }

    /// An operation with a request out, if any (to charge an undecodable datagram to).
    #[must_use]
    pub fn in_flight(&self) -> Option<usize> {
        self.ops[..self.started].iter().position(|o| !o.done && o.sent_at.is_some())
    }

    /// Hands over the result (the session is finished with).
    pub fn take_result(&mut self) -> TargetResult {
        let empty = TargetResult::new(self.result.index, self.result.addr, 0, 0);
        std::mem::replace(&mut self.result, empty)
    }

    /// Fails every unfinished operation (the batch was cancelled).
    pub fn cancel(&mut self) {
        for op in 0..self.ops.len() {
            if !self.ops[op].done {
                self.fail(op, FailureKind::Cancelled, "the batch was cancelled");
            }
        }
    }

    fn fail_kind(&mut self, op: usize, kind: FailureKind, detail: &str) -> Step {
        self.record_failure(op, kind, detail);
        Step::Done
    }

    fn fail(&mut self, op: usize, kind: FailureKind, detail: &str) -> Step {
        self.record_failure(op, kind, detail);
        self.finish(op);
        Step::Done
    }

    fn record_failure(&mut self, op: usize, kind: FailureKind, detail: &str) {
        let requests: Vec<Request> = match &self.ops[op].kind {
            OpKind::Get { oids } => oids.iter().map(|&i| Request::Get(i)).collect(),
            OpKind::Walk(w) => vec![Request::Walk(w.index)],
        };
        let failures =
            requests.into_iter().map(|request| Failure { request, kind, detail: detail.to_string() });
        self.result.failures.extend(failures);
    }

    fn finish(&mut self, op: usize) {
        let o = &mut self.ops[op];
        if o.done {
            return;
        }
        o.done = true;
        o.request = Vec::new();
        if let OpKind::Walk(Walk { index, columns: Some(columns), .. }) = &mut o.kind {
            // The cursors' rows in OID order (a walk that failed: those before its first gap).
            self.result.walks[*index].extend(columns.take_rows());
        }
        self.finished += 1;
        if op < self.started {
            self.active -= 1;
        } else {
            // Failed before it started (an unreachable target's queued operations).
            self.started = self.started.max(op + 1);
        }
    }
}

impl Op {
    fn new(kind: OpKind) -> Self {
        Self {
            kind,
            done: false,
            request_id: 0,
            attempt: 0,
            request: Vec::new(),
            sent_at: None,
            sent_version: Version::V2C,
            malformed: 0,
            resyncs: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::*;
    use crate::engine::plan::Plan;

    const ROOT: &str = "1.3.6.1.2.1.43.11.1";

    fn session(hint: Option<Hint>) -> Session {
        let plan = Plan { gets: vec![], walks: vec![OidBuf::parse(ROOT).unwrap()] };
        let target = Target {
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 161),
            community: b"public".to_vec(),
            version: VersionChoice::V2c,
            plan: Arc::new(plan),
            v3: None,
        };
        Session::with_hints(0, target, &EngineConfig::default(), None, &[hint], None)
    }

    /// The max-repetitions of the walk's request now out.
    fn asked(s: &Session) -> u32 {
        let OpKind::Walk(w) = &s.ops[0].kind else { unreachable!() };
        w.max_repetitions
    }

    /// Sends the walk's next request and answers it with `rows` varbinds under the root from
    /// column `from` on (then `past` varbinds after the table), or with `error_status`.
    fn answer(s: &mut Session, rows: std::ops::Range<u32>, past: u32, error_status: i32) -> Step {
        s.prepare(0, 1);
        s.sent(0, 40, Instant::now());
        let oids: Vec<OidBuf> = rows
            .map(|i| OidBuf::parse(&format!("{ROOT}.1.{i}")).unwrap())
            .chain((0..past).map(|i| OidBuf::parse(&format!("1.3.6.1.2.1.43.12.1.1.{i}")).unwrap()))
            .collect();
        let varbinds = if error_status == 0 {
            oids.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Integer(1) }).collect()
        } else {
            vec![]
        };
        let pdu = StandardPdu {
            pdu_type: PduType::Response,
            request_id: 1,
            error_status,
            error_index: 0,
            varbinds,
        };
        let msg = Message { version: Version::V2C, community: b"public", pdu: Pdu::Standard(pdu) };
        s.on_response(0, &msg, 30 * oids.len().max(1), Instant::now())
    }

    #[test]
    fn a_walk_learns_its_tables_size() {
        let mut s = session(None);
        assert_eq!(s.start_next(), Some(0));
        assert_eq!(asked(&s), 25, "nothing known: the configured size");
        assert_eq!(answer(&mut s, 1..26, 0, 0), Step::Next);
        assert_eq!(answer(&mut s, 26..32, 19, 0), Step::Done);
        s.finish(0);
        let learned = s.learned();
        // Columns 1 to 31 of the entry (`ROOT.1.c`) were seen.
        let columns = (1 << 31) - 1;
        assert_eq!(learned, vec![(0, Some(Hint { rows: 31, bytes_per_varbind: 30, limit: 0, columns }))]);
        // The next walk asks for the 31 and the varbind after them, at once.
        let mut next = session(learned[0].1);
        next.start_next();
        assert_eq!(asked(&next), 32);
        assert_eq!(answer(&mut next, 1..32, 1, 0), Step::Done);
    }

    #[test]
    fn a_table_that_grew_is_read_whole() {
        let mut s = session(Some(Hint { rows: 2, bytes_per_varbind: 30, limit: 0, columns: 0 }));
        s.start_next();
        assert_eq!(asked(&s), 3);
        assert_eq!(answer(&mut s, 1..4, 0, 0), Step::Next, "still in the table");
        assert_eq!(asked(&s), 25, "the configured size from there");
        assert_eq!(answer(&mut s, 4..9, 20, 0), Step::Done);
        assert_eq!(s.result.walks[0].len(), 8);
    }

    #[test]
    fn too_big_is_remembered() {
        let mut s = session(Some(Hint { rows: 40, bytes_per_varbind: 20, limit: 0, columns: 0 }));
        s.start_next();
        assert_eq!(asked(&s), 41);
        assert_eq!(answer(&mut s, 0..0, 0, TOO_BIG), Step::Next);
        assert_eq!(asked(&s), 20);
        assert_eq!(answer(&mut s, 1..21, 0, 0), Step::Next);
        assert_eq!(asked(&s), 20, "a shrunk walk keeps its size");
        assert_eq!(answer(&mut s, 21..41, 0, 0), Step::Next);
        assert_eq!(answer(&mut s, 41..41, 1, 0), Step::Done);
        s.finish(0);
        let hint = s.learned()[0].1.unwrap();
        assert_eq!((hint.rows, hint.limit), (40, 20));
        assert_eq!(hint.first_request(25), 20, "not above what the agent could answer");
    }

    #[test]
    fn an_unanswered_larger_request_is_not_asked_again() {
        let mut s = session(Some(Hint { rows: 40, bytes_per_varbind: 20, limit: 0, columns: 0 }));
        s.confirmed = true; // the target answered other requests of this poll
        s.start_next();
        s.prepare(0, 1);
        s.sent(0, 40, Instant::now());
        while s.on_timeout(0) == Step::Retry {}
        let hint = s.learned()[0].1.unwrap();
        assert_eq!(hint.limit, 25);
        assert_eq!(hint.first_request(25), 25);
    }

    #[test]
    fn a_target_that_never_answered_teaches_nothing() {
        let mut s = session(Some(Hint { rows: 3, bytes_per_varbind: 20, limit: 0, columns: 0 }));
        s.start_next();
        s.prepare(0, 1);
        s.sent(0, 40, Instant::now());
        while s.on_timeout(0) == Step::Retry {}
        assert!(s.learned().is_empty());
    }

    #[test]
    fn an_auto_target_is_tried_first_in_the_version_it_answered() {
        let target = |version| Target {
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 161),
            community: b"public".to_vec(),
            version,
            plan: Arc::new(Plan { gets: vec![OidBuf::parse("1.3.6.1.2.1.1.5.0").unwrap()], walks: vec![] }),
            v3: None,
        };
        let config = EngineConfig::default();
        for (choice, answered, tries) in [
            (VersionChoice::Auto, None, [Version::V2C, Version::V1, Version::V2C]),
            (VersionChoice::Auto, Some(Version::V1), [Version::V1, Version::V2C, Version::V1]),
            (VersionChoice::Auto, Some(Version::V2C), [Version::V2C, Version::V1, Version::V2C]),
            (VersionChoice::V2c, Some(Version::V1), [Version::V2C, Version::V2C, Version::V2C]),
        ] {
            let s = Session::with_hints(0, target(choice), &config, None, &[], answered);
            assert_eq!([0, 1, 2].map(|a| s.version_for(a)), tries, "{choice:?} after {answered:?}");
        }
    }

    #[test]
    fn a_failed_walk_forgets_its_hint() {
        let mut s = session(Some(Hint { rows: 3, bytes_per_varbind: 20, limit: 0, columns: 0 }));
        s.start_next();
        assert_eq!(answer(&mut s, 0..0, 0, 5), Step::Done, "genErr");
        assert_eq!(s.learned(), vec![(0, None)]);
    }

    // An agent over a sorted MIB, for whole walks (from helper-40's review).
    use crate::snmp::decode;

    /// How `serve`'s agent answers a GETNEXT past its last OID.
    #[derive(Clone, Copy, PartialEq)]
    enum End {
        /// noSuchName at the varbind's index (RFC 1157).
        NoSuchName,
        /// noSuchName with error-index 0 (a buggy agent).
        NoSuchNameIndexZero,
        /// An endOfMibView varbind at the requested OID, even in v1.
        MibView,
    }

    /// A GETNEXT/GETBULK agent over the sorted `mib` answering `request` (encoded) in `version`;
    /// `multi`: whether it takes a GETNEXT of several varbinds (else it answers genErr).
    fn serve(
        s: &mut Session,
        request: &[u8],
        mib: &[OidBuf],
        version: Version,
        end: End,
        multi: bool,
    ) -> Step {
        let msg = decode(request).unwrap();
        let Pdu::Standard(req) = &msg.pdu else { unreachable!() };
        let next = |o: Oid<'_>| mib.iter().find(|m| m.as_oid() > o);
        let mut varbinds = Vec::new();
        let (mut status, mut index) = (0, 0);
        let asked: Vec<Oid<'_>> = match req.pdu_type {
            PduType::GetNext => req.varbinds.iter().map(|vb| vb.oid).collect(),
            PduType::GetBulk => {
                let mut out = vec![req.varbinds[0].oid];
                for _ in 1..req.error_index {
                    match next(*out.last().unwrap()) {
                        Some(n) => out.push(n.as_oid()),
                        None => break,
                    }
                }
                out
            }
            _ => unreachable!(),
        };
        if !multi && req.pdu_type == PduType::GetNext && asked.len() > 1 {
            (status, index) = (5, 1);
            varbinds = req.varbinds.clone();
        } else {
            for (i, o) in asked.iter().enumerate() {
                match next(*o) {
                    Some(n) => varbinds.push(VarBind { oid: n.as_oid(), value: Value::Integer(1) }),
                    None if end == End::MibView || version != Version::V1 => {
                        varbinds.push(VarBind { oid: *o, value: Value::EndOfMibView });
                    }
                    None => {
                        status = NO_SUCH_NAME;
                        index = if end == End::NoSuchName { i32::try_from(i).unwrap() + 1 } else { 0 };
                        varbinds = req.varbinds.clone();
                        break;
                    }
                }
            }
        }
        let pdu = StandardPdu {
            pdu_type: PduType::Response,
            request_id: req.request_id,
            error_status: status,
            error_index: index,
            varbinds,
        };
        let msg = Message { version, community: b"public", pdu: Pdu::Standard(pdu) };
        s.on_response(0, &msg, 100, Instant::now())
    }

    /// Runs op 0 to its end against `mib`; the requests sent.
    fn run_walk(
        s: &mut Session,
        mut step: Step,
        mib: &[OidBuf],
        version: Version,
        end: End,
        multi: bool,
    ) -> usize {
        for (id, sent) in (100..).zip(0..1000) {
            if step != Step::Next {
                return sent;
            }
            s.prepare(0, id);
            s.sent(0, 40, Instant::now());
            let request = s.ops[0].request.clone();
            step = serve(s, &request, mib, version, end, multi);
        }
        panic!("the walk did not end");
    }

    /// `ROOT.1.c.r` for each column and row, in OID order (then one OID after the table if
    /// `after`, else the end of the MIB).
    fn mib(columns: &[u32], rows: u32, after: bool) -> Vec<OidBuf> {
        let mut out: Vec<OidBuf> = columns
            .iter()
            .flat_map(|c| (1..=rows).map(move |r| OidBuf::parse(&format!("{ROOT}.1.{c}.{r}")).unwrap()))
            .collect();
        if after {
            out.push(OidBuf::parse("1.3.6.1.2.1.43.12.1.1.1").unwrap());
        }
        out
    }

    fn walks_only(version: VersionChoice) -> Target {
        Target {
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 161),
            community: b"public".to_vec(),
            version,
            plan: Arc::new(Plan { gets: vec![], walks: vec![OidBuf::parse(ROOT).unwrap()] }),
            v3: None,
        }
    }

    fn walked(s: &Session) -> Vec<String> {
        s.result.walks[0].iter().map(|st| s.result.store.get(*st).unwrap().oid.to_string()).collect()
    }

    /// A started session of a v1 target's walk of `ROOT`, default settings, with `hint`.
    fn v1_walk(hint: Option<Hint>) -> Session {
        let mut s = Session::with_hints(
            0,
            walks_only(VersionChoice::V1),
            &EngineConfig::default(),
            None,
            &[hint],
            None,
        );
        s.start_next();
        s
    }

    fn names(mib: &[OidBuf]) -> Vec<String> {
        mib.iter().map(ToString::to_string).collect()
    }

    const COLUMNS: Hint = Hint { rows: 6, bytes_per_varbind: 30, limit: 0, columns: 0b111 };

    #[test]
    fn a_v1_walk_reads_the_known_columns_side_by_side() {
        let mib = mib(&[1, 2, 3], 4, true);
        let mut plain = v1_walk(None);
        let one_by_one = run_walk(&mut plain, Step::Next, &mib, Version::V1, End::NoSuchName, true);
        let mut s = v1_walk(Some(COLUMNS));
        let side_by_side = run_walk(&mut s, Step::Next, &mib, Version::V1, End::NoSuchName, true);
        assert_eq!(walked(&s), names(&mib[..12]));
        assert_eq!(walked(&plain), walked(&s));
        assert_eq!((one_by_one, side_by_side), (13, 5), "4 rows side by side, and the step past them");
        s.finish(0);
        assert_eq!(s.learned()[0].1.unwrap().columns, 0b111);
    }

    #[test]
    fn an_auto_target_goes_side_by_side_once_it_answered_v1() {
        let mib = mib(&[1, 2, 3], 4, true);
        let config = EngineConfig::default();
        let target = walks_only(VersionChoice::Auto);
        let mut s = Session::with_hints(0, target, &config, None, &[Some(COLUMNS)], Some(Version::V1));
        s.start_next();
        let sent = run_walk(&mut s, Step::Next, &mib, Version::V1, End::NoSuchName, true);
        assert_eq!(walked(&s), names(&mib[..12]));
        // A plain first request (row 1 of column 1), then the three columns: the first cursor
        // one row ahead of the others.
        assert_eq!(sent, 6);
    }

    #[test]
    fn a_late_v1_answer_after_a_v2c_retry_loses_nothing() {
        let mib = mib(&[1, 2, 3], 2, true);
        let config = EngineConfig::default();
        let target = walks_only(VersionChoice::Auto);
        let mut s = Session::with_hints(0, target, &config, None, &[Some(COLUMNS)], Some(Version::V1));
        s.start_next();
        s.prepare(0, 1);
        s.sent(0, 40, Instant::now());
        let v1_try = s.ops[0].request.clone();
        assert_eq!(s.on_timeout(0), Step::Retry);
        assert_eq!(s.ops[0].sent_version, Version::V2C, "the retry is a v2c GETBULK, same request id");
        s.sent(0, 40, Instant::now());
        // The slow v1 agent's answer to the first try arrives now.
        let step = serve(&mut s, &v1_try, &mib, Version::V1, End::NoSuchName, true);
        run_walk(&mut s, step, &mib, Version::V1, End::NoSuchName, true);
        assert!(s.result.failures.is_empty(), "{:?}", s.result.failures);
        assert_eq!(walked(&s), names(&mib[..6]));
    }

    #[test]
    fn a_v2c_answer_to_a_v1_first_target_reads_the_table_once() {
        let mib = mib(&[1, 2, 3], 2, true);
        let config = EngineConfig { max_rows: 7, ..EngineConfig::default() };
        let target = walks_only(VersionChoice::Auto);
        let mut s = Session::with_hints(0, target, &config, None, &[Some(COLUMNS)], Some(Version::V1));
        s.start_next();
        run_walk(&mut s, Step::Next, &mib, Version::V2C, End::NoSuchName, true);
        assert!(s.result.failures.is_empty(), "{:?}", s.result.failures);
        assert_eq!(walked(&s), names(&mib[..6]));
    }

    #[test]
    fn an_agent_that_refuses_several_varbinds_is_walked_plain() {
        let mib = mib(&[1, 2, 3], 3, true);
        let mut s = v1_walk(Some(COLUMNS));
        run_walk(&mut s, Step::Next, &mib, Version::V1, End::NoSuchName, false);
        assert!(s.result.failures.is_empty(), "{:?}", s.result.failures);
        assert_eq!(walked(&s), names(&mib[..9]));
        s.finish(0);
        let hint = s.learned()[0].1.unwrap();
        assert_eq!(hint.columns & COLUMNS_REFUSED, COLUMNS_REFUSED, "not asked side by side again");
        let mut next = v1_walk(Some(hint));
        assert_eq!(run_walk(&mut next, Step::Next, &mib, Version::V1, End::NoSuchName, false), 10);
        assert_eq!(walked(&next), names(&mib[..9]));
    }

    #[test]
    fn a_side_by_side_request_that_goes_unanswered_is_walked_plain() {
        let mib = mib(&[1, 2, 3], 3, true);
        let mut s = v1_walk(Some(COLUMNS));
        s.prepare(0, 1);
        s.sent(0, 40, Instant::now());
        let first = s.ops[0].request.clone();
        let step = serve(&mut s, &first, &mib, Version::V1, End::NoSuchName, true);
        assert_eq!(step, Step::Next);
        s.prepare(0, 2);
        s.sent(0, 40, Instant::now());
        // The side-by-side request: no answer to any try.
        let step = loop {
            match s.on_timeout(0) {
                Step::Retry => s.sent(0, 40, Instant::now()),
                other => break other,
            }
        };
        assert_eq!(step, Step::Next, "on plain");
        run_walk(&mut s, step, &mib, Version::V1, End::NoSuchName, true);
        assert!(s.result.failures.is_empty(), "{:?}", s.result.failures);
        assert_eq!(walked(&s), names(&mib[..9]));
        s.finish(0);
        assert_eq!(s.learned()[0].1.unwrap().columns & COLUMNS_REFUSED, COLUMNS_REFUSED);
    }

    #[test]
    fn the_end_of_the_mib_ends_a_column_walk_as_it_ends_a_plain_one() {
        let walk = |end: End, hint: Option<Hint>| {
            let mib = mib(&[1, 2], 2, false);
            let mut s = v1_walk(hint);
            run_walk(&mut s, Step::Next, &mib, Version::V1, end, true);
            s
        };
        for end in [End::NoSuchName, End::NoSuchNameIndexZero, End::MibView] {
            let plain = walk(end, None);
            assert!(plain.result.failures.is_empty(), "plain: {:?}", plain.result.failures);
            let columns = walk(end, Some(Hint { rows: 4, bytes_per_varbind: 30, limit: 0, columns: 0b11 }));
            assert_eq!(columns.result.failures, plain.result.failures);
            assert_eq!(walked(&columns), walked(&plain));
        }
    }

    #[test]
    fn a_learned_too_big_limit_holds_past_the_first_request() {
        // The last poll: 25 was tooBig, 12 worked.
        let mut s = session(Some(Hint { rows: 40, bytes_per_varbind: 20, limit: 12, columns: 0 }));
        s.start_next();
        assert_eq!(asked(&s), 12);
        assert_eq!(answer(&mut s, 1..13, 0, 0), Step::Next);
        assert_eq!(asked(&s), 12, "not the configured 25, which was tooBig");
    }

    #[test]
    fn a_cancelled_walk_keeps_what_was_known() {
        let mut s = session(Some(Hint { rows: 40, bytes_per_varbind: 20, limit: 0, columns: 0 }));
        s.start_next();
        assert_eq!(answer(&mut s, 1..3, 0, 0), Step::Next);
        s.cancel();
        assert!(s.learned().is_empty());
    }
}
