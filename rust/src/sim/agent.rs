//! A simulated SNMP agent answering from a [`Recording`], sans-I/O: datagram in, datagram out.
//!
//! Semantics (RFC 3416 for v2c, RFC 1157 for v1):
//! * requests whose community differs from the agent's, that do not decode, or whose PDU is not
//!   Get, GetNext or GetBulk are dropped silently (no response), as real agents do;
//! * v2c Get: the recorded value, else `noSuchInstance` when some recorded OID lies under the
//!   requested OID's parent (the requested OID minus its last arc), else `noSuchObject`;
//! * v2c GetNext: the first recorded OID strictly greater than the requested one, else
//!   `endOfMibView` (with the requested OID);
//! * v2c GetBulk (RFC 3416 4.2.3): non-repeaters answered as GetNext, then up to max-repetitions
//!   rows for the repeaters, each row continuing from the previous one; a repeater past the end
//!   keeps answering `endOfMibView`, and the rows stop once every repeater is past the end;
//! * versions: a printer whose notes say it answers only v1 (or only v2c) drops the others;
//! * v1: a Get of a missing OID, or a GetNext past the end, answers `noSuchName` (2) with the
//!   1-based error-index of the first failing varbind and the request's varbinds echoed.
//!   Counter64 variables are invisible to v1, which cannot carry them (RFC 2576 4.1.2.1);
//! * size: a response larger than the agent's maximum message size is answered with `tooBig`
//!   (v2c: empty varbinds; v1: the request's varbinds echoed). GetBulk instead drops trailing
//!   varbinds to fit, and answers `tooBig` only if the non-repeaters do not fit, or repetitions
//!   were asked for and not even one repetition varbind fits.

use crate::snmp::{decode, encode_into, Message, Oid, Pdu, PduType, StandardPdu, Version};

use super::model::{Model, View};
use super::notes::Notes;
use super::response::{Head, Response, Row, END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT};
use super::snmprec::Recording;

/// The community an [`Agent`] answers unless told otherwise.
pub const DEFAULT_COMMUNITY: &[u8] = b"public";
/// The largest response an [`Agent`] sends unless told otherwise (what printers commonly allow).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1400;

/// The error-status values (RFC 3416 section 3) the agent sends.
pub use crate::snmp::error_status;

/// What the agent answered (the datagram itself is in the caller's buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The PDU type of the request answered.
    pub request: PduType,
    /// The request-id of the request (and the response).
    pub request_id: i32,
    pub error_status: i32,
    pub error_index: i32,
    /// The number of varbinds in the response.
    pub varbinds: usize,
}

/// A simulated agent serving one recording.
#[derive(Debug, Clone)]
pub struct Agent {
    recording: Recording,
    model: Model,
    community: Vec<u8>,
    max_message_size: usize,
}

impl Agent {
    /// An agent for `recording`, community `public`, maximum message size 1400 bytes.
    #[must_use]
    pub fn new(recording: Recording) -> Self {
        let model = Model::new(&recording);
        Self {
            recording,
            model,
            community: DEFAULT_COMMUNITY.to_vec(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The agent with what the recording's notes say (see [`super::notes`]): its counters'
    /// meters and supplies' feeds for the dynamics, and the SNMP versions it answers.
    #[must_use]
    pub fn with_notes(mut self, notes: Option<Notes>) -> Self {
        self.model = Model::with_notes(&self.recording, notes);
        self
    }

    #[must_use]
    pub fn with_community(mut self, community: impl Into<Vec<u8>>) -> Self {
        self.community = community.into();
        self
    }

    #[must_use]
    pub fn with_max_message_size(mut self, max_message_size: usize) -> Self {
        self.max_message_size = max_message_size;
        self
    }

    /// The community the agent answers.
    #[must_use]
    pub fn community(&self) -> &[u8] {
        &self.community
    }

    #[must_use]
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The recording with its roles and synthetic rows.
    #[must_use]
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Answers one request datagram exactly from the recording: `out` is cleared and, unless the
    /// request is dropped (`None`), receives the response datagram. Never panics, whatever the
    /// input.
    pub fn respond(&self, request: &[u8], out: &mut Vec<u8>) -> Option<Reply> {
        self.respond_as(&View::plain(), request, out)
    }

    /// Like [`Agent::respond`], answering as the printer `view` describes (its identity and
    /// dynamic state).
    pub fn respond_as(&self, view: &View<'_>, request: &[u8], out: &mut Vec<u8>) -> Option<Reply> {
        out.clear();
        let msg = decode(request).ok()?;
        let versions = self.model.versions();
        let spoken = if msg.version == Version::V1 { versions.v1 } else { versions.v2c };
        // A version the firmware does not speak is dropped unanswered (RFC 3584 5.2: counted as
        // snmpInBadVersions), as old v1-only print servers do.
        if msg.community != self.community.as_slice() || !spoken {
            return None;
        }
        let Pdu::Standard(pdu) = &msg.pdu else { return None };
        let head = Head { version: msg.version.0, community: msg.community, request_id: pdu.request_id };
        let reply = match pdu.pdu_type {
            PduType::Get | PduType::GetNext if msg.version == Version::V1 => self.v1(view, head, pdu, out),
            PduType::Get => self.single(head, pdu, out, |vb, resp| self.get(view, vb, resp)),
            PduType::GetNext => self.single(head, pdu, out, |vb, resp| self.next(view, vb, resp)),
            PduType::GetBulk => self.bulk(view, head, pdu, out),
            _ => return None,
        };
        // Only an echo that failed to encode leaves `out` empty: drop rather than send nothing.
        (!out.is_empty()).then_some(Reply { request: pdu.pdu_type, request_id: pdu.request_id, ..reply })
    }

    /// v2c Get and GetNext: one response varbind per request varbind.
    fn single<'r>(
        &'r self,
        head: Head<'r>,
        pdu: &StandardPdu<'r>,
        out: &mut Vec<u8>,
        answer: impl Fn(Oid<'r>, &mut Response<'r>) -> Row<'r>,
    ) -> Reply {
        let mut resp = Response::new(head, pdu.varbinds.len());
        for vb in &pdu.varbinds {
            let row = answer(vb.oid, &mut resp);
            resp.push(row);
        }
        if resp.len(0, 0) > self.max_message_size {
            return too_big(&resp, out);
        }
        resp.write(error_status::NO_ERROR, 0, true, out);
        reply(error_status::NO_ERROR, 0, resp.rows())
    }

    fn get<'r>(&'r self, view: &View<'_>, oid: Oid<'r>, resp: &mut Response<'r>) -> Row<'r> {
        if let Some(i) = self.model.get(oid, view) {
            return (oid.as_ber(), self.model.value(i, view, resp));
        }
        let under_parent = parent(oid).is_some_and(|p| self.model.has_under(p, view));
        (oid.as_ber(), if under_parent { NO_SUCH_INSTANCE } else { NO_SUCH_OBJECT })
    }

    fn next<'r>(&'r self, view: &View<'_>, oid: Oid<'r>, resp: &mut Response<'r>) -> Row<'r> {
        match self.model.next(oid, view, |_| true) {
            Some(i) => (self.model.entries()[i].oid().as_ber(), self.model.value(i, view, resp)),
            None => (oid.as_ber(), END_OF_MIB_VIEW),
        }
    }

    fn bulk<'r>(
        &'r self,
        view: &View<'_>,
        head: Head<'r>,
        pdu: &StandardPdu<'r>,
        out: &mut Vec<u8>,
    ) -> Reply {
        let max = self.max_message_size;
        let non_repeaters = usize::try_from(pdu.non_repeaters()).unwrap_or(0).min(pdu.varbinds.len());
        let repetitions = usize::try_from(pdu.max_repetitions()).unwrap_or(0);
        let (singles, repeaters) = pdu.varbinds.split_at(non_repeaters);
        let mut resp = Response::new(head, singles.len() + repeaters.len() * repetitions.min(32));
        for vb in singles {
            let row = self.next(view, vb.oid, &mut resp);
            if !resp.try_push(row, max) {
                return too_big(&resp, out);
            }
        }
        let mut cursors: Vec<Oid<'r>> = repeaters.iter().map(|vb| vb.oid).collect();
        'rows: for _ in 0..repetitions {
            let mut all_ended = true;
            for cursor in &mut cursors {
                let found = self.model.next(*cursor, view, |_| true);
                let row = match found {
                    Some(i) => (self.model.entries()[i].oid().as_ber(), self.model.value(i, view, &mut resp)),
                    None => (cursor.as_ber(), END_OF_MIB_VIEW),
                };
                if !resp.try_push(row, max) {
                    if resp.rows() == non_repeaters {
                        return too_big(&resp, out);
                    }
                    break 'rows;
                }
                if let Some(i) = found {
                    all_ended = false;
                    *cursor = self.model.entries()[i].oid();
                }
            }
            if all_ended {
                break;
            }
        }
        resp.write(error_status::NO_ERROR, 0, true, out);
        reply(error_status::NO_ERROR, 0, resp.rows())
    }

    /// SNMPv1 Get and GetNext: the first missing variable fails the whole request.
    fn v1<'r>(&'r self, view: &View<'_>, head: Head<'r>, pdu: &StandardPdu<'r>, out: &mut Vec<u8>) -> Reply {
        let mut resp = Response::new(head, pdu.varbinds.len());
        let entries = self.model.entries();
        for (k, vb) in pdu.varbinds.iter().enumerate() {
            let found = if pdu.pdu_type == PduType::Get {
                self.model.get(vb.oid, view).filter(|&i| !entries[i].is_counter64())
            } else {
                self.model.next(vb.oid, view, |e| !e.is_counter64())
            };
            let Some(i) = found else {
                let index = i32::try_from(k + 1).unwrap_or(i32::MAX);
                return echo(head, pdu, error_status::NO_SUCH_NAME, index, out);
            };
            let name = if pdu.pdu_type == PduType::Get { vb.oid } else { entries[i].oid() };
            let value = self.model.value(i, view, &mut resp);
            resp.push((name.as_ber(), value));
        }
        if resp.len(0, 0) > self.max_message_size {
            return echo(head, pdu, error_status::TOO_BIG, 0, out);
        }
        resp.write(error_status::NO_ERROR, 0, true, out);
        reply(error_status::NO_ERROR, 0, resp.rows())
    }
}

fn reply(error_status: i32, error_index: i32, varbinds: usize) -> Reply {
    Reply { request: PduType::Get, request_id: 0, error_status, error_index, varbinds }
}

/// A v2c tooBig response: error-index zero and no varbinds (RFC 3416 4.2.1).
fn too_big(resp: &Response<'_>, out: &mut Vec<u8>) -> Reply {
    resp.write(error_status::TOO_BIG, 0, false, out);
    reply(error_status::TOO_BIG, 0, 0)
}

/// A v1 error response: the request's varbinds echoed (RFC 1157 4.1.2 and 4.1.3).
fn echo(
    head: Head<'_>,
    pdu: &StandardPdu<'_>,
    error_status: i32,
    error_index: i32,
    out: &mut Vec<u8>,
) -> Reply {
    let response = StandardPdu {
        pdu_type: PduType::Response,
        request_id: head.request_id,
        error_status,
        error_index,
        varbinds: pdu.varbinds.clone(),
    };
    let message =
        Message { version: Version(head.version), community: head.community, pdu: Pdu::Standard(response) };
    out.clear();
    // A Response in v1 with varbinds that decoded from a v1 message always encodes.
    if encode_into(&message, out).is_err() {
        out.clear();
    }
    reply(error_status, error_index, pdu.varbinds.len())
}

/// The OID minus its last arc; `None` when that would leave fewer than two arcs.
fn parent(oid: Oid<'_>) -> Option<Oid<'_>> {
    let ber = oid.as_ber();
    let (_, body) = ber.split_last()?;
    // The last sub-identifier starts after the last octet without the continuation bit.
    let start = body.iter().rposition(|&b| b & 0x80 == 0)? + 1;
    Oid::from_ber(&ber[..start], 0).ok()
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
