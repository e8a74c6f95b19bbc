//! The values a [`Model`] answers for one printer: recorded, or computed from its identity and
//! its dynamic state.

use super::dynamics::State;
use super::identity::{self, Keys};
use super::meters::{Meter, Split};
use super::model::{error_bits, AlertKind, Model, Role, View};
use super::response::{Response, Val};
use super::snmprec::Entry;
use crate::ber::{tag, Writer};
use crate::snmp::Value;

/// Serial numbers and sysNames up to this long are made on the stack.
const SMALL: usize = 64;

/// The identity a printer answers with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub serial: Option<Vec<u8>>,
    pub mac: Option<[u8; 6]>,
    pub sys_name: Option<Vec<u8>>,
}

impl Identity {
    /// The MAC address as `aa:bb:cc:dd:ee:ff`.
    #[must_use]
    pub fn mac_string(&self) -> Option<String> {
        self.mac.map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
    }
}

impl Model {
    /// The serial number, first MAC address and sysName printer `view` answers with.
    #[must_use]
    pub fn identity(&self, view: &View<'_>) -> Identity {
        let r = &self.recorded;
        if !view.identity {
            return Identity { serial: r.serial.clone(), mac: r.mac, sys_name: r.sys_name.clone() };
        }
        let keys = self.keys(view.seed);
        let mac = r.mac.map(|m| self.plan.mac(m, view.address, &keys));
        Identity {
            serial: r.serial.as_ref().map(|s| {
                let mut out = s.clone();
                self.plan.serial_into(s, view.address, &keys, &mut out);
                out
            }),
            mac,
            sys_name: r.sys_name.as_ref().map(|n| {
                let mut out = n.clone();
                out.resize(n.len().max(identity::NPI_LEN), 0);
                let len = self.plan.sys_name_into(n, mac, view.address, &keys, &mut out);
                out.truncate(len);
                out
            }),
        }
    }

    /// The identity plan's keys for `seed`: kept for the first seed asked (a fleet's), made
    /// afresh for any other.
    fn keys(&self, seed: u64) -> Keys {
        let kept = *self.keys.get_or_init(|| self.plan.keys(seed));
        if kept.seed == seed {
            kept
        } else {
            self.plan.keys(seed)
        }
    }

    /// The value of variable `i` for printer `view` (computed values go to `resp`'s arena).
    pub(super) fn value<'r>(&'r self, i: usize, view: &View<'_>, resp: &mut Response<'r>) -> Val<'r> {
        let e = &self.entries[i];
        let recorded = Val::Ref(e.value_tlv());
        // Most variables: no need to decode the value.
        if self.roles[i] == Role::Plain {
            return recorded;
        }
        let octets =
            |resp: &mut Response<'r>, v: &[u8]| resp.computed(|o| Writer::new(o).bytes(tag::OCTET_STRING, v));
        match (self.roles[i], e.value()) {
            // A Serial variable holds the recorded serial number (see `identity_roles`), the
            // value the plan was made with.
            (Role::Serial, Value::OctetString(s)) if view.identity => {
                let keys = self.keys(view.seed);
                // On the stack (a serial is short); a long one allocates.
                let mut buf = [0u8; SMALL];
                let mut long = Vec::new();
                let out = scratch(&mut buf, &mut long, s.len());
                out.copy_from_slice(s);
                self.plan.serial_into(s, view.address, &keys, out);
                octets(resp, out)
            }
            (Role::SerialInside, Value::OctetString(text)) if view.identity => match &self.recorded.serial {
                Some(s) => {
                    let keys = self.keys(view.seed);
                    let mut buf = [0u8; SMALL];
                    let mut long = Vec::new();
                    let serial = scratch(&mut buf, &mut long, s.len());
                    serial.copy_from_slice(s);
                    self.plan.serial_into(s, view.address, &keys, serial);
                    resp.computed(|o| {
                        Writer::new(o).bytes(tag::OCTET_STRING, text);
                        // The serial keeps its length: replace it in place, in what was written.
                        let at = o.len() - text.len();
                        replace_in_place(&mut o[at..], s, serial);
                    })
                }
                None => recorded,
            },
            (Role::Mac, Value::OctetString(m)) if view.identity => match <[u8; 6]>::try_from(m) {
                Ok(m) => octets(resp, &self.plan.mac(m, view.address, &self.keys(view.seed))),
                Err(_) => recorded,
            },
            // A SysName variable holds the recorded sysName, the value the plan was made with.
            (Role::SysName, Value::OctetString(recorded_name)) if view.identity => {
                let keys = self.keys(view.seed);
                let mac = self.recorded.mac.map(|m| self.plan.mac(m, view.address, &keys));
                let mut buf = [0u8; SMALL];
                let mut long = Vec::new();
                let size = recorded_name.len().max(identity::NPI_LEN);
                let out = scratch(&mut buf, &mut long, size);
                out[..recorded_name.len()].copy_from_slice(recorded_name);
                let len = self.plan.sys_name_into(recorded_name, mac, view.address, &keys, out);
                octets(resp, &out[..len])
            }
            (role, _) => match view.state {
                Some(state) => self.dynamic(role, e, state, resp).unwrap_or(recorded),
                None => recorded,
            },
        }
    }

    fn dynamic<'r>(
        &'r self,
        role: Role,
        entry: &Entry,
        state: &State,
        resp: &mut Response<'r>,
    ) -> Option<Val<'r>> {
        let ticks = |t_s: f64| (t_s * 100.0) as u64;
        let val = match (role, entry.value()) {
            (Role::Uptime, Value::TimeTicks(t0)) => {
                let now = (u64::from(t0) + ticks(state.t_s)) as u32;
                resp.computed(|o| Writer::new(o).unsigned(tag::TIMETICKS, u64::from(now)))
            }
            (Role::Counter, recorded) => {
                let grown = counter(recorded, state.page_offset + state.pages)?;
                resp.computed(|o| write_value(o, grown))
            }
            (Role::Meter(meter), recorded) => {
                let pages = self.split(state, state.page_offset + state.pages).get(meter);
                let grown = counter(recorded, pages)?;
                resp.computed(|o| write_value(o, grown))
            }
            (Role::Packed { slot }, Value::OctetString(records)) => {
                let split = self.split(state, state.page_offset + state.pages);
                let grown = grow_records(records, &self.packed[usize::from(slot)], &split);
                resp.computed(|o| Writer::new(o).bytes(tag::OCTET_STRING, &grown))
            }
            (Role::Level { index, max }, Value::Integer(_)) => {
                let level = self.level(index, max, state).level;
                resp.computed(|o| Writer::new(o).signed(tag::INTEGER, i64::from(level)))
            }
            (Role::Tray { index, max }, Value::Integer(_)) => {
                let level = self.tray_level(index, max, state).level;
                resp.computed(|o| Writer::new(o).signed(tag::INTEGER, i64::from(level)))
            }
            (Role::ErrorState, Value::OctetString(recorded)) => {
                let mut bits = recorded.to_vec();
                let mut simulated =
                    error_bits::LOW_TONER | error_bits::NO_TONER | error_bits::DOOR_OPEN | error_bits::JAMMED;
                if !self.trays.is_empty() {
                    simulated |= error_bits::LOW_PAPER | error_bits::NO_PAPER;
                }
                bits[0] = (bits[0] & !simulated) | self.error_bits(state);
                resp.computed(|o| Writer::new(o).bytes(tag::OCTET_STRING, &bits))
            }
            (Role::DeviceStatus, Value::Integer(_)) => {
                // running(2); warning(3) with any alert; down(5) with a critical one.
                let (any, critical) = self.other_alerts;
                let active: Vec<AlertKind> =
                    AlertKind::ALL.into_iter().filter(|k| self.alert(*k, state).is_some()).collect();
                let critical = critical || active.iter().any(|k| k.critical());
                let status = if critical {
                    5
                } else if any || !active.is_empty() {
                    3
                } else {
                    2
                };
                resp.computed(|o| Writer::new(o).signed(tag::INTEGER, status))
            }
            (Role::Alert { kind, column: 5 }, _) => {
                let (_, group_index) = self.alert(kind, state)?;
                resp.computed(|o| Writer::new(o).signed(tag::INTEGER, i64::from(group_index)))
            }
            (Role::Alert { kind, column: 9 }, _) => {
                let (since, _) = self.alert(kind, state)?;
                let at = (u64::from(self.uptime0()) + ticks(since)) as u32;
                resp.computed(|o| Writer::new(o).unsigned(tag::TIMETICKS, u64::from(at)))
            }
            _ => return None,
        };
        Some(val)
    }

    /// The first octet's simulated bits of hrPrinterDetectedErrorState for `s`.
    #[must_use]
    pub fn error_bits(&self, s: &State) -> u8 {
        let mut bits = 0;
        for (kind, bit) in [
            (AlertKind::TonerLow, error_bits::LOW_TONER),
            (AlertKind::TonerEmpty, error_bits::NO_TONER),
            (AlertKind::DoorOpen, error_bits::DOOR_OPEN),
            (AlertKind::Jam, error_bits::JAMMED),
            (AlertKind::PaperLow, error_bits::LOW_PAPER),
            (AlertKind::PaperEmpty, error_bits::NO_PAPER),
        ] {
            if self.alert(kind, s).is_some() {
                bits |= bit;
            }
        }
        bits
    }
}

/// Brother's record list (7-byte records: code, 1, 4 and a big-endian u32 count) with the count of
/// every record that `records` maps to a meter grown by that meter's pages (wrapping as a
/// Counter32); other records and trailing bytes as recorded.
fn grow_records(recorded: &[u8], records: &[(u8, Meter)], split: &Split) -> Vec<u8> {
    let mut out = recorded.to_vec();
    let mut at = 0;
    while let Some(record) = out.get_mut(at..at + 7) {
        if record[2] == 4 {
            if let Some(&(_, meter)) = records.iter().find(|(code, _)| *code == record[0]) {
                let count = u32::from_be_bytes([record[3], record[4], record[5], record[6]]);
                let grown = (u64::from(count) + split.get(meter)) as u32;
                record[3..7].copy_from_slice(&grown.to_be_bytes());
            }
        }
        at += 7;
    }
    out
}

/// A page counter grown by `pages`, in its recorded type: Counter32 and Counter64 wrap as
/// counters do, Integer and Gauge32 stop at their maximum.
fn counter(recorded: Value<'_>, pages: u64) -> Option<Value<'static>> {
    Some(match recorded {
        Value::Integer(n) => {
            Value::Integer(i32::try_from(i64::from(n).saturating_add_unsigned(pages)).unwrap_or(i32::MAX))
        }
        Value::Counter32(n) => Value::Counter32((u64::from(n) + pages) as u32),
        Value::Gauge32(n) => Value::Gauge32(u32::try_from(u64::from(n) + pages).unwrap_or(u32::MAX)),
        Value::Counter64(n) => Value::Counter64(n.wrapping_add(pages)),
        _ => return None,
    })
}

fn write_value(out: &mut Vec<u8>, v: Value<'_>) {
    let mut w = Writer::new(out);
    match v {
        Value::Integer(n) => w.signed(tag::INTEGER, i64::from(n)),
        Value::Counter32(n) => w.unsigned(tag::COUNTER32, u64::from(n)),
        Value::Gauge32(n) => w.unsigned(tag::GAUGE32, u64::from(n)),
        Value::Counter64(n) => w.unsigned(tag::COUNTER64, n),
        // Only the counter types above are ever written here.
        _ => w.bytes(tag::NULL, &[]),
    }
}

/// `len` bytes of `buf` (on the stack), or of `long` when `buf` is too short.
fn scratch<'a>(buf: &'a mut [u8; SMALL], long: &'a mut Vec<u8>, len: usize) -> &'a mut [u8] {
    if len <= SMALL {
        &mut buf[..len]
    } else {
        long.resize(len, 0);
        long
    }
}

/// `text` with every occurrence of `from` replaced by `to` (as long as `from`), left to right
/// and without overlaps.
fn replace_in_place(text: &mut [u8], from: &[u8], to: &[u8]) {
    let Some(&first) = from.first() else { return };
    let mut at = 0;
    while at + from.len() <= text.len() {
        if text[at] == first && &text[at..at + from.len()] == from {
            text[at..at + from.len()].copy_from_slice(to);
            at += from.len();
        } else {
            at += 1;
        }
    }
}
