//! A recording prepared for per-printer answers: each variable's role (plain, serial number,
//! MAC address, page counter, supply level...), and the alert rows a printer may raise, all in
//! one walk-ordered table shared by every printer that answers from the recording.
//!
//! Roles are found once, when the recording is loaded; values that depend on the printer are
//! computed at answer time from a [`View`] (the printer's address, the seed, its dynamic state).
// Page counts are far below 2^52: f64 holds them exactly.
#![allow(clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use super::dynamics::{Level, State};
use super::identity::{Keys, Plan};
use super::meters::{Meter, Split, WHOLE};
use super::notes::{Feed, Notes, Versions};
use super::oids::{
    HR_DEVICE_STATUS, HR_PRINTER_DETECTED_ERROR_STATE, HR_SYSTEM_UPTIME, IF_PHYS_ADDRESS, PRINTER_MIB,
    PRT_ALERT_ENTRY, PRT_GENERAL_SERIAL_NUMBER, PRT_INPUT_ENTRY, PRT_MARKER_LIFE_COUNT, PRT_SUPPLIES_LEVEL,
    PRT_SUPPLIES_MAX_CAPACITY, SYS_DESCR, SYS_NAME, SYS_UPTIME, VENDOR_SERIAL_OIDS,
};
use super::snmprec::{Entry, Recording};
use crate::ber::{tag, Writer};
use crate::snmp::{Oid, OidBuf, Value};

/// The hrPrinterDetectedErrorState bits the dynamics drive (first octet; RFC 3805 / 2790).
pub mod error_bits {
    pub const LOW_PAPER: u8 = 0x80;
    pub const NO_PAPER: u8 = 0x40;
    pub const LOW_TONER: u8 = 0x20;
    pub const NO_TONER: u8 = 0x10;
    pub const DOOR_OPEN: u8 = 0x08;
    pub const JAMMED: u8 = 0x04;
}

/// The alerts a simulated printer raises, each one synthetic prtAlertTable row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Jam,
    DoorOpen,
    TonerLow,
    TonerEmpty,
    PaperLow,
    PaperEmpty,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] =
        [Self::Jam, Self::DoorOpen, Self::TonerLow, Self::TonerEmpty, Self::PaperLow, Self::PaperEmpty];

    /// (severity, training level, group, location, code, description) — Printer-MIB values:
    /// severity critical(3)/warning(4); training untrained(3)/trained(4); group mediaPath(13),
    /// cover(6), markerSupplies(11); location -2 (unknown); codes jam(8), doorOpen(501),
    /// markerTonerAlmostEmpty(1104), markerTonerEmpty(1101); input(8) inputMediaSupplyLow(807),
    /// inputMediaSupplyEmpty(808), both warnings (another tray or the manual feed goes on).
    /// True if the alert is critical (severity critical(3)): the printer is down.
    #[must_use]
    pub fn critical(self) -> bool {
        self.columns().0 == 3
    }

    fn columns(self) -> (i32, i32, i32, i32, i32, &'static str) {
        match self {
            Self::Jam => (3, 3, 13, -2, 8, "Paper jam"),
            Self::DoorOpen => (3, 3, 6, -2, 501, "Door open"),
            Self::TonerLow => (4, 4, 11, -2, 1104, "Toner low"),
            Self::TonerEmpty => (3, 4, 11, -2, 1101, "Toner empty"),
            Self::PaperLow => (4, 3, 8, -2, 807, "Paper low"),
            Self::PaperEmpty => (4, 3, 8, -2, 808, "Paper tray empty"),
        }
    }
}

/// What a variable's value depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The recorded value, always.
    Plain,
    /// With identity: a serial number (prtGeneralSerialNumber or a vendor copy of it).
    Serial,
    /// With identity: a text that contains the serial number (HP's sysDescr `...,SN:XXXX,...`).
    SerialInside,
    /// With identity: a MAC address (ifPhysAddress or a vendor copy of one).
    Mac,
    /// With identity: sysName.0.
    SysName,
    /// With dynamics: sysUpTime / hrSystemUptime, growing with simulated time.
    Uptime,
    /// With dynamics: a page counter, growing with the printer's pages.
    Counter,
    /// With dynamics and notes: a counter of one meter, growing with its share of the pages.
    Meter(Meter),
    /// With dynamics and notes: Brother's record list; `slot` indexes [`Model`]'s record maps.
    Packed { slot: u16 },
    /// With dynamics: a supply level (supply `index` of capacity `max`).
    Level { index: u32, max: i32 },
    /// With dynamics and notes: an input tray's current level (tray `index` holding `max`).
    Tray { index: u32, max: i32 },
    /// With dynamics: hrPrinterDetectedErrorState.
    ErrorState,
    /// With dynamics: a synthetic prtAlertTable cell, present only while the alert is active.
    Alert { kind: AlertKind, column: u8 },
    /// With notes: a cell of a recorded markerSupplies (or input) alert row; gone under dynamics,
    /// where the levels move and the synthetic supply (and paper) alerts say what is low now.
    RecordedSupplyAlert,
    /// With notes and dynamics: hrDeviceStatus, from the alerts active now.
    DeviceStatus,
}

/// Which printer is answering, and how.
#[derive(Debug, Clone, Copy)]
pub struct View<'s> {
    pub address: u32,
    pub seed: u64,
    pub identity: bool,
    pub state: Option<&'s State>,
}

impl View<'_> {
    /// A view that answers every variable exactly as recorded.
    #[must_use]
    pub fn plain() -> Self {
        Self { address: 0, seed: 0, identity: false, state: None }
    }
}

/// A recording with its roles and synthetic rows, in walk order.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub(super) entries: Vec<Entry>,
    pub(super) roles: Vec<Role>,
    /// The dynamic supplies: (index, max capacity).
    pub(super) supplies: Vec<(u32, i32)>,
    /// The dynamic input trays (with notes; not the manual feeds): (index, max capacity).
    pub(super) trays: Vec<(u32, i32)>,
    /// The recorded identity: serial number, first MAC address, sysName.
    pub(super) recorded: Recorded,
    /// The recorded identity prepared for per-printer answers.
    pub(super) plan: Plan,
    /// The plan's keys for the first seed answered with (a fleet has one); other seeds' keys are
    /// computed per answer.
    pub(super) keys: OnceLock<Keys>,
    /// The recorded sysUpTime (alert times are counted from it).
    uptime0: u32,
    /// What the recording's notes say (see [`super::notes`]), if it has any.
    pub(super) notes: Option<Notes>,
    /// Per [`Role::Packed`] variable: which record code counts which meter.
    pub(super) packed: Vec<Vec<(u8, Meter)>>,
    /// The recorded alerts other than the supplies' (which notes make dynamic): (any, any
    /// critical).
    pub(super) other_alerts: (bool, bool),
    /// Each variable's index by its OID's BER content (canonical: the decoder takes minimal
    /// sub-identifiers only), so a Get finds it without comparing OIDs.
    index: HashMap<Box<[u8]>, u32, BuildHasherDefault<OidHasher>>,
}

/// A fast hash of OID bytes for [`Model`]'s index (FxHash's step; the simulator serves
/// loopback, where hash flooding is no concern).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct OidHasher(u64);

impl Hasher for OidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The identity a recording was made with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub serial: Option<Vec<u8>>,
    pub mac: Option<[u8; 6]>,
    pub sys_name: Option<Vec<u8>>,
}

fn oid(dotted: &str) -> OidBuf {
    // Only called with the constants of `oids`, which parse.
    OidBuf::parse(dotted).expect("the constant OIDs of `sim::oids` parse")
}

fn under<'r>(rec: &'r Recording, prefix: &OidBuf) -> impl Iterator<Item = (usize, &'r Entry)> {
    let start = rec.next_index(prefix.as_oid());
    let prefix = prefix.clone();
    rec.entries()[start..]
        .iter()
        .enumerate()
        .take_while(move |(_, e)| e.oid().starts_with(prefix.as_oid()))
        .map(move |(k, e)| (start + k, e))
}

fn as_u64(v: &Value<'_>) -> Option<u64> {
    match *v {
        Value::Integer(n) => u64::try_from(n).ok(),
        Value::Counter32(n) | Value::Gauge32(n) => Some(u64::from(n)),
        Value::Counter64(n) => Some(n),
        _ => None,
    }
}

fn octets<'v>(v: &Value<'v>) -> Option<&'v [u8]> {
    if let Value::OctetString(s) = *v {
        Some(s)
    } else {
        None
    }
}

impl Model {
    /// Finds the roles in `rec` and adds the synthetic alert rows.
    #[must_use]
    pub fn new(rec: &Recording) -> Self {
        Self::with_notes(rec, None)
    }

    /// Like [`Model::new`], with what the recording's notes say its counters count, how its
    /// supplies drain and which versions it answers.
    #[must_use]
    pub fn with_notes(rec: &Recording, notes: Option<Notes>) -> Self {
        let mut roles = vec![Role::Plain; rec.len()];
        let recorded = identity_roles(rec, &mut roles);
        let supplies = dynamic_roles(rec, &mut roles, notes.is_none());
        let packed = notes.as_ref().map(|n| meter_roles(rec, n, &mut roles)).unwrap_or_default();
        let other_alerts = if notes.is_some() { status_roles(rec, &mut roles) } else { (false, false) };
        let trays = if notes.is_some() { tray_roles(rec, &mut roles) } else { Vec::new() };
        let uptime0 = rec.get(oid(SYS_UPTIME).as_oid()).and_then(|e| as_u64(&e.value())).unwrap_or(0) as u32;
        let mut rows: Vec<(Entry, Role)> = rec.entries().iter().cloned().zip(roles).collect();
        if rec.has_under(oid(PRINTER_MIB).as_oid()) {
            rows.extend(alert_rows(rec, &supplies, &trays));
        }
        rows.sort_by(|a, b| a.0.oid().cmp(&b.0.oid()));
        let (entries, roles): (Vec<Entry>, Vec<Role>) = rows.into_iter().unzip();
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (Box::from(e.oid().as_ber()), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let plan = Plan::new(recorded.serial.as_deref(), recorded.sys_name.as_deref());
        Self {
            entries,
            roles,
            supplies,
            trays,
            recorded,
            plan,
            keys: OnceLock::new(),
            uptime0,
            notes,
            packed,
            other_alerts,
            index,
        }
    }

    /// The SNMP versions this printer answers.
    #[must_use]
    pub fn versions(&self) -> Versions {
        self.notes.as_ref().map(|n| n.versions).unwrap_or_default()
    }

    /// `pages` split into the meters as printer `state` prints (its own habits).
    #[must_use]
    pub fn split(&self, state: &State, pages: u64) -> Split {
        let shares = self.notes.as_ref().map(|n| n.shares).unwrap_or_default();
        let (copying, colour, scanning) = state.habits();
        Split::of(pages, &shares.habits(copying, colour, scanning))
    }

    /// The level of supply `index` (capacity `max`) on printer `state`: with notes, drained by
    /// the pages that feed it (all, or the colour ones) over what a full one lasts at the
    /// printer's coverage; else over a cartridge drawn from the dynamics' range.
    #[must_use]
    pub fn level(&self, index: u32, max: i32, state: &State) -> Level {
        let Some(note) = self.notes.as_ref().and_then(|n| n.supply(index)) else {
            return state.level(index, max);
        };
        let split = self.split(state, state.pages);
        let fed = match note.feed {
            Feed::Pages => split.total,
            Feed::Color => split.color(),
        };
        let cartridge = if note.exact { note.pages } else { note.pages / state.coverage() };
        // Fed pages per second: the printer's rate times the share of its pages that feed it.
        let share = if split.total == 0 { 1.0 } else { fed as f64 / split.total as f64 };
        state.level_fed(index, max, fed, cartridge, state.pages_per_s * share)
    }

    /// The sheets in input tray `index` (holding `max`) on printer `state`: the printer's sheets
    /// (its pages less the duplex sheets' second sides) shared among its trays (each tray its
    /// own share, drawn per printer), as [`State::tray`] takes them.
    #[must_use]
    pub fn tray_level(&self, index: u32, max: i32, state: &State) -> Level {
        // Sheets as the counters count them (from the printer's offset), so that a tray loses
        // exactly the pages less the duplex sheets its counters gained.
        let sheets_at = |pages: u64| {
            let split = self.split(state, pages);
            split.total.saturating_sub(split.duplex)
        };
        let sheets = sheets_at(state.page_offset + state.pages) - sheets_at(state.page_offset);
        let (mut rest, mut fed) = (sheets, sheets);
        // A chain of splits, each part monotonic in the sheets: the first tray takes what the
        // others leave; each later one a share of what is left after the ones before it.
        for (k, &(tray, _)) in self.trays.iter().enumerate() {
            let share = if k + 1 == self.trays.len() { WHOLE } else { tray_share(state, tray) };
            let taken = rest * share / WHOLE;
            if tray == index {
                fed = taken;
                break;
            }
            rest -= taken;
        }
        let rate = if state.pages == 0 {
            state.pages_per_s
        } else {
            state.pages_per_s * fed as f64 / state.pages as f64
        };
        state.tray(index, max, fed, rate)
    }

    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    #[must_use]
    pub fn uptime0(&self) -> u32 {
        self.uptime0
    }

    #[must_use]
    pub fn role(&self, i: usize) -> Role {
        self.roles[i]
    }

    /// True if variable `i` exists for this printer now (synthetic alert rows come and go).
    #[must_use]
    pub fn present(&self, i: usize, view: &View<'_>) -> bool {
        match self.roles[i] {
            Role::Alert { kind, .. } => view.state.is_some_and(|s| self.alert(kind, s).is_some()),
            Role::RecordedSupplyAlert => view.state.is_none(),
            _ => true,
        }
    }

    /// The variable with exactly this OID, if present for this printer.
    #[must_use]
    pub fn get(&self, oid: Oid<'_>, view: &View<'_>) -> Option<usize> {
        let i = *self.index.get(oid.as_ber())? as usize;
        self.present(i, view).then_some(i)
    }

    /// The first present variable after `oid` that `accept` takes (GetNext).
    #[must_use]
    pub fn next(&self, oid: Oid<'_>, view: &View<'_>, accept: impl Fn(&Entry) -> bool) -> Option<usize> {
        let from = self.entries.partition_point(|e| e.oid() <= oid);
        (from..self.entries.len()).find(|&i| self.present(i, view) && accept(&self.entries[i]))
    }

    /// True if a present variable's OID is `prefix` or lies under it.
    #[must_use]
    pub fn has_under(&self, prefix: Oid<'_>, view: &View<'_>) -> bool {
        let from = self.entries.partition_point(|e| e.oid() < prefix);
        (from..self.entries.len())
            .take_while(|&i| self.entries[i].oid().starts_with(prefix))
            .any(|i| self.present(i, view))
    }

    /// Whether `kind` is active in `state`: since when (simulated seconds) and its group index.
    #[must_use]
    pub fn alert(&self, kind: AlertKind, state: &State) -> Option<(f64, i32)> {
        let supply = |want_empty: bool| {
            self.supplies.iter().find_map(|&(index, max)| {
                let l = self.level(index, max, state);
                let since = if want_empty { l.empty_since } else { l.low_since.filter(|_| !l.empty) };
                since.map(|t| (t, index as i32))
            })
        };
        match kind {
            AlertKind::Jam => state.jam_since.map(|t| (t, 1)),
            AlertKind::DoorOpen => state.door_since.map(|t| (t, 1)),
            AlertKind::TonerLow => supply(false),
            AlertKind::TonerEmpty => supply(true),
            AlertKind::PaperLow | AlertKind::PaperEmpty => {
                let want_empty = kind == AlertKind::PaperEmpty;
                self.trays.iter().find_map(|&(index, max)| {
                    let l = self.tray_level(index, max, state);
                    let since = if want_empty { l.empty_since } else { l.low_since.filter(|_| !l.empty) };
                    since.map(|t| (t, index as i32))
                })
            }
        }
    }
}

/// Tray `index`'s share (parts per million) of the sheets left to it and the trays after it
/// (see [`Model::tray_level`]): 0.4 to 0.9, a per-printer trait.
fn tray_share(state: &State, index: u32) -> u64 {
    WHOLE * 4 / 10 + (state.tray_draw(index) * 0.5 * WHOLE as f64) as u64
}

/// A serial this short is not looked for inside other texts (it could match by chance).
const MIN_SERIAL_INSIDE: usize = 6;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The recording's serial number: prtGeneralSerialNumber, else a vendor's serial variable, else
/// the `SN:` field of sysDescr (HP's print servers).
fn recorded_serial(rec: &Recording) -> Option<Vec<u8>> {
    let non_empty = |e: &Entry| octets(&e.value()).filter(|s| !s.is_empty()).map(<[u8]>::to_vec);
    under(rec, &oid(PRT_GENERAL_SERIAL_NUMBER))
        .find_map(|(_, e)| non_empty(e))
        .or_else(|| VENDOR_SERIAL_OIDS.iter().find_map(|o| rec.get(oid(o).as_oid()).and_then(non_empty)))
        .or_else(|| {
            let descr = rec.get(oid(SYS_DESCR).as_oid()).and_then(|e| octets(&e.value()))?;
            let at = descr.windows(3).position(|w| w == b"SN:")? + 3;
            let len = descr[at..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
            (len >= MIN_SERIAL_INSIDE).then(|| descr[at..at + len].to_vec())
        })
}

/// Serial numbers, MAC addresses and sysName, wherever the recording repeats them.
fn identity_roles(rec: &Recording, roles: &mut [Role]) -> Recorded {
    let serial = recorded_serial(rec);
    let macs: Vec<Vec<u8>> = under(rec, &oid(IF_PHYS_ADDRESS))
        .filter_map(|(_, e)| octets(&e.value()).filter(|m| m.len() == 6 && *m != [0; 6]).map(<[u8]>::to_vec))
        .collect();
    let sys_name = oid(SYS_NAME);
    for (i, e) in rec.entries().iter().enumerate() {
        let Some(value) = octets(&e.value()) else { continue };
        if e.oid() == sys_name.as_oid() {
            roles[i] = Role::SysName;
        } else if serial.as_deref() == Some(value) {
            roles[i] = Role::Serial;
        } else if serial.as_deref().is_some_and(|s| s.len() >= MIN_SERIAL_INSIDE && contains(value, s)) {
            roles[i] = Role::SerialInside;
        } else if macs.iter().any(|m| m == value) {
            roles[i] = Role::Mac;
        }
    }
    let sys_name = rec.get(sys_name.as_oid()).and_then(|e| octets(&e.value()).map(<[u8]>::to_vec));
    let mac = macs.first().and_then(|m| <[u8; 6]>::try_from(m.as_slice()).ok());
    Recorded { serial, mac, sys_name }
}

/// Uptimes, page counters, supply levels and error states; returns the dynamic supplies. Without
/// notes (`guess`), numbers equal to the life count are taken for vendor copies of it.
fn dynamic_roles(rec: &Recording, roles: &mut [Role], guess: bool) -> Vec<(u32, i32)> {
    for dotted in [SYS_UPTIME, HR_SYSTEM_UPTIME] {
        if let Ok(i) = rec.entries().binary_search_by(|e| e.oid().cmp(&oid(dotted).as_oid())) {
            roles[i] = Role::Uptime;
        }
    }
    let counters: Vec<(usize, u64)> =
        under(rec, &oid(PRT_MARKER_LIFE_COUNT)).filter_map(|(i, e)| Some((i, as_u64(&e.value())?))).collect();
    for &(i, _) in &counters {
        roles[i] = Role::Counter;
    }
    // Vendor page counters: other numbers equal to the first marker's (a large enough count not
    // to match by chance).
    if let Some(&(_, total)) = counters.first().filter(|(_, n)| guess && *n >= 100) {
        for (i, e) in rec.entries().iter().enumerate() {
            if roles[i] == Role::Plain && as_u64(&e.value()) == Some(total) {
                roles[i] = Role::Counter;
            }
        }
    }
    let mut supplies = Vec::new();
    let capacity = oid(PRT_SUPPLIES_MAX_CAPACITY);
    let level = oid(PRT_SUPPLIES_LEVEL);
    for (i, e) in under(rec, &level) {
        let suffix: Vec<u32> = e.oid().arcs().skip(level.as_oid().arcs().count()).collect();
        let mut max_oid: Vec<u32> = capacity.as_oid().arcs().collect();
        max_oid.extend(&suffix);
        let max = OidBuf::from_arcs(&max_oid).ok().and_then(|o| rec.get(o.as_oid()).map(Entry::value));
        if let (Value::Integer(now), Some(Value::Integer(max)), Some(&index)) =
            (e.value(), max, suffix.last())
        {
            if now >= 0 && max > 0 {
                roles[i] = Role::Level { index, max };
                supplies.push((index, max));
            }
        }
    }
    for (i, e) in under(rec, &oid(HR_PRINTER_DETECTED_ERROR_STATE)) {
        if octets(&e.value()).is_some_and(|s| !s.is_empty()) {
            roles[i] = Role::ErrorState;
        }
    }
    supplies
}

/// With notes: the input trays that hold paper to drain (prtInputCurrentLevel at or above 0,
/// prtInputMaxCapacity above 0, not a manual feed), each level a [`Role::Tray`].
fn tray_roles(rec: &Recording, roles: &mut [Role]) -> Vec<(u32, i32)> {
    const MANUAL: i32 = 5;
    let input = oid(PRT_INPUT_ENTRY);
    let width = input.as_oid().arcs().count();
    let cell = |column: u32, key: &[u32]| {
        let mut arcs: Vec<u32> = input.as_oid().arcs().collect();
        arcs.push(column);
        arcs.extend(key);
        let name = OidBuf::from_arcs(&arcs).ok()?;
        match rec.get(name.as_oid())?.value() {
            Value::Integer(n) => Some(n),
            _ => None,
        }
    };
    let mut trays = Vec::new();
    for (i, e) in under(rec, &input) {
        let arcs: Vec<u32> = e.oid().arcs().skip(width).collect();
        let Some((&10, key)) = arcs.split_first() else { continue };
        let (Some(level), Some(max), Some(&index)) = (cell(10, key), cell(9, key), key.last()) else {
            continue;
        };
        if level >= 0 && max > 0 && cell(2, key) != Some(MANUAL) {
            roles[i] = Role::Tray { index, max };
            trays.push((index, max));
        }
    }
    trays
}

/// The meters the notes name: [`Role::Meter`] on integer counters, [`Role::Packed`] on Brother's
/// record lists; returns the record maps of the packed ones.
fn meter_roles(rec: &Recording, notes: &Notes, roles: &mut [Role]) -> Vec<Vec<(u8, Meter)>> {
    let mut packed: Vec<(usize, Vec<(u8, Meter)>)> = Vec::new();
    for note in &notes.meters {
        let Ok(i) = rec.entries().binary_search_by(|e| e.oid().cmp(&note.oid.as_oid())) else { continue };
        match (note.code, rec.entries()[i].value()) {
            (None, v) if as_u64(&v).is_some() => roles[i] = Role::Meter(note.meter),
            (Some(code), Value::OctetString(_)) => match packed.iter_mut().find(|(at, _)| *at == i) {
                Some((_, records)) => records.push((code, note.meter)),
                None => packed.push((i, vec![(code, note.meter)])),
            },
            _ => {}
        }
    }
    packed
        .into_iter()
        .enumerate()
        .map(|(slot, (i, records))| {
            roles[i] = Role::Packed { slot: u16::try_from(slot).unwrap_or(u16::MAX) };
            records
        })
        .collect()
}

/// With notes: the recorded supply alert rows (prtAlertGroup markerSupplies(11)) and hrDeviceStatus
/// get their dynamic roles; returns whether other alerts are recorded, and whether one of them
/// is critical (prtAlertSeverityLevel critical(3)).
fn status_roles(rec: &Recording, roles: &mut [Role]) -> (bool, bool) {
    const SEVERITY: u32 = 2;
    const GROUP: u32 = 4;
    const MARKER_SUPPLIES: i32 = 11;
    const INPUT: i32 = 8;
    let table = oid(PRT_ALERT_ENTRY);
    let width = table.as_oid().arcs().count();
    // Each row, by its (device, index) arcs: its group and severity.
    let mut rows: Vec<(Vec<u32>, Option<i32>, Option<i32>)> = Vec::new();
    for (_, e) in under(rec, &table) {
        let arcs: Vec<u32> = e.oid().arcs().skip(width).collect();
        let Some((&column, key)) = arcs.split_first() else { continue };
        let value = if let Value::Integer(n) = e.value() { Some(n) } else { None };
        let at = rows.iter().position(|r| r.0 == key).unwrap_or_else(|| {
            rows.push((key.to_vec(), None, None));
            rows.len() - 1
        });
        let row = &mut rows[at];
        match column {
            GROUP => row.1 = value,
            SEVERITY => row.2 = value,
            _ => {}
        }
    }
    for (i, e) in under(rec, &table) {
        let key: Vec<u32> = e.oid().arcs().skip(width + 1).collect();
        if rows.iter().any(|r| r.0 == key && matches!(r.1, Some(MARKER_SUPPLIES | INPUT))) {
            roles[i] = Role::RecordedSupplyAlert;
        }
    }
    for (i, _) in under(rec, &oid(HR_DEVICE_STATUS)) {
        roles[i] = Role::DeviceStatus;
    }
    let others: Vec<_> = rows.iter().filter(|r| !matches!(r.1, Some(MARKER_SUPPLIES | INPUT))).collect();
    (!others.is_empty(), others.iter().any(|r| r.2 == Some(3)))
}

/// One synthetic prtAlertTable row (columns 2..=9) per [`AlertKind`], indexed after the
/// recorded alerts, under the device of the recorded supplies (or device 1).
fn alert_rows(rec: &Recording, supplies: &[(u32, i32)], trays: &[(u32, i32)]) -> Vec<(Entry, Role)> {
    let level = oid(PRT_SUPPLIES_LEVEL);
    let device =
        under(rec, &level).find_map(|(_, e)| e.oid().arcs().nth(level.as_oid().arcs().count())).unwrap_or(1);
    let table = oid(PRT_ALERT_ENTRY);
    let base: Vec<u32> = table.as_oid().arcs().collect();
    let last_index =
        under(rec, &table).filter_map(|(_, e)| e.oid().arcs().last()).max().unwrap_or(0).min(u32::MAX - 8);
    let mut rows = Vec::new();
    for (k, kind) in AlertKind::ALL.into_iter().enumerate() {
        if matches!(kind, AlertKind::TonerLow | AlertKind::TonerEmpty) && supplies.is_empty() {
            continue;
        }
        if matches!(kind, AlertKind::PaperLow | AlertKind::PaperEmpty) && trays.is_empty() {
            continue;
        }
        let (severity, training, group, location, code, text) = kind.columns();
        for column in 2u8..=9 {
            let mut arcs = base.clone();
            arcs.extend([u32::from(column), device, last_index + 1 + k as u32]);
            let Ok(name) = OidBuf::from_arcs(&arcs) else { continue };
            let mut tlv = Vec::new();
            let mut w = Writer::new(&mut tlv);
            match column {
                2 => w.signed(tag::INTEGER, i64::from(severity)),
                3 => w.signed(tag::INTEGER, i64::from(training)),
                4 => w.signed(tag::INTEGER, i64::from(group)),
                6 => w.signed(tag::INTEGER, i64::from(location)),
                7 => w.signed(tag::INTEGER, i64::from(code)),
                8 => w.bytes(tag::OCTET_STRING, text.as_bytes()),
                // Group index (5) and time (9) are computed at answer time.
                5 => w.signed(tag::INTEGER, 1),
                _ => w.unsigned(tag::TIMETICKS, 0),
            }
            rows.push((Entry::new(name, tlv), Role::Alert { kind, column }));
        }
    }
    rows
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
