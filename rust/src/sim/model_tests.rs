use super::*;
use crate::sim::agent::Agent;
use crate::sim::dynamics::DynamicsConfig;
use crate::snmp::{decode, Encoder, Message, Pdu, PduType, StandardPdu, VarBind, Version};

const RECORDING: &str = "\
1.3.6.1.2.1.1.3.0|67|1000
1.3.6.1.2.1.1.5.0|4|<private>
1.3.6.1.2.1.2.2.1.6.1|4x|3C2AF4BFF51B
1.3.6.1.2.1.2.2.1.6.2|4|
1.3.6.1.2.1.25.3.5.1.2.1|4x|8000
1.3.6.1.2.1.43.5.1.1.17.1|4|VNCRC48198
1.3.6.1.2.1.43.10.2.1.4.1.1|65|15232
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.8.1.2|2|-2
1.3.6.1.2.1.43.11.1.1.9.1.1|2|55
1.3.6.1.2.1.43.11.1.1.9.1.2|2|-3
1.3.6.1.2.1.43.16.5.1.2.1.1|4|READY
1.3.6.1.2.1.43.18.1.1.2.1.7|2|4
1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0|2|15232
1.3.6.1.4.1.367.3.2.1.2.1.4.0|4|VNCRC48198
1.3.6.1.4.1.9.9.9|4x|3C2AF4BFF51B
";

fn model() -> Model {
    Model::new(&Recording::parse(RECORDING.as_bytes()).unwrap())
}

fn role_of(m: &Model, dotted: &str) -> Role {
    let o = OidBuf::parse(dotted).unwrap();
    let i = m.entries().binary_search_by(|e| e.oid().cmp(&o.as_oid())).unwrap();
    m.role(i)
}

#[test]
fn finds_the_roles() {
    let m = model();
    let want = [
        ("1.3.6.1.2.1.1.3.0", Role::Uptime),
        ("1.3.6.1.2.1.1.5.0", Role::SysName),
        ("1.3.6.1.2.1.2.2.1.6.1", Role::Mac),
        ("1.3.6.1.2.1.2.2.1.6.2", Role::Plain),
        ("1.3.6.1.2.1.25.3.5.1.2.1", Role::ErrorState),
        ("1.3.6.1.2.1.43.5.1.1.17.1", Role::Serial),
        ("1.3.6.1.2.1.43.10.2.1.4.1.1", Role::Counter),
        ("1.3.6.1.2.1.43.11.1.1.8.1.1", Role::Plain),
        ("1.3.6.1.2.1.43.11.1.1.9.1.1", Role::Level { index: 1, max: 100 }),
        ("1.3.6.1.2.1.43.11.1.1.9.1.2", Role::Plain),
        ("1.3.6.1.2.1.43.16.5.1.2.1.1", Role::Plain),
        ("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", Role::Counter),
        ("1.3.6.1.4.1.367.3.2.1.2.1.4.0", Role::Serial),
        ("1.3.6.1.4.1.9.9.9", Role::Mac),
        // The synthetic alert rows come after the recorded alert 7.
        ("1.3.6.1.2.1.43.18.1.1.7.1.8", Role::Alert { kind: AlertKind::Jam, column: 7 }),
        ("1.3.6.1.2.1.43.18.1.1.2.1.11", Role::Alert { kind: AlertKind::TonerEmpty, column: 2 }),
    ];
    for (dotted, role) in want {
        assert_eq!(role_of(&m, dotted), role, "{dotted}");
    }
    assert_eq!(m.supplies, [(1, 100)]);
    assert_eq!(m.recorded.serial.as_deref(), Some(&b"VNCRC48198"[..]));
    assert_eq!(m.recorded.mac, Some([0x3c, 0x2a, 0xf4, 0xbf, 0xf5, 0x1b]));
    assert_eq!(m.entries().len(), 16 + 4 * 8);
    assert!(m.entries().windows(2).all(|w| w[0].oid() < w[1].oid()), "walk order");
}

/// A full GetNext walk of `agent` as `view`: (OID, value) pairs.
fn walk(agent: &Agent, view: &View<'_>) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut at = OidBuf::parse("1.3").unwrap();
    let mut out = Vec::new();
    for _ in 0..200 {
        let pdu = StandardPdu {
            pdu_type: PduType::GetNext,
            request_id: 1,
            error_status: 0,
            error_index: 0,
            varbinds: vec![VarBind { oid: at.as_oid(), value: Value::Null }],
        };
        let msg = Message { version: Version::V2C, community: b"public", pdu: Pdu::Standard(pdu) };
        let req = Encoder::new().encode(&msg).unwrap().to_vec();
        agent.respond_as(view, &req, &mut out).unwrap();
        let resp = decode(&out).unwrap();
        let vb = &resp.pdu.varbinds()[0];
        if vb.value == Value::EndOfMibView {
            return rows;
        }
        rows.push((vb.oid.to_string(), format!("{:?}", vb.value)));
        at = vb.oid.to_owned();
    }
    panic!("the walk did not end");
}

#[test]
fn plain_view_answers_the_recording_and_no_alert_rows() {
    let agent = Agent::new(Recording::parse(RECORDING.as_bytes()).unwrap());
    let rows = walk(&agent, &View::plain());
    let recorded: Vec<(String, String)> = agent
        .recording()
        .entries()
        .iter()
        .map(|e| (e.oid().to_string(), format!("{:?}", e.value())))
        .collect();
    assert_eq!(rows, recorded);
}

#[test]
fn identity_overrides_every_copy_consistently() {
    let agent = Agent::new(Recording::parse(RECORDING.as_bytes()).unwrap());
    let view = |address| View { address, seed: 0, identity: true, state: None };
    let a = walk(&agent, &view(0x7f14_0001));
    let b = walk(&agent, &view(0x7f14_0002));
    let value = |rows: &[(String, String)], oid: &str| rows.iter().find(|r| r.0 == oid).unwrap().1.clone();
    for oid in ["1.3.6.1.2.1.43.5.1.1.17.1", "1.3.6.1.2.1.2.2.1.6.1", "1.3.6.1.2.1.1.5.0"] {
        assert_ne!(value(&a, oid), value(&b, oid), "{oid}");
    }
    assert_eq!(value(&a, "1.3.6.1.2.1.43.5.1.1.17.1"), value(&a, "1.3.6.1.4.1.367.3.2.1.2.1.4.0"));
    assert_eq!(value(&a, "1.3.6.1.2.1.2.2.1.6.1"), value(&a, "1.3.6.1.4.1.9.9.9"));
    let id = agent.model().identity(&view(0x7f14_0001));
    assert_eq!(value(&a, "1.3.6.1.2.1.1.5.0"), format!("OctetString({:?})", id.sys_name.unwrap()));
    assert_eq!(a.len(), 16);
}

#[test]
fn alert_rows_appear_in_walk_order_while_active() {
    let agent = Agent::new(Recording::parse(RECORDING.as_bytes()).unwrap());
    let config = DynamicsConfig { jam_rate: 1.0, door_rate: 1.0, ..DynamicsConfig::quiet() };
    // Find a time at which the toner is low or empty too, so all rows of a kind show.
    let state = (0..2000)
        .map(|h| State::at(&config, 0, 0x7f14_0001, f64::from(h) * 3600.0))
        .find(|s| s.level(1, 100).low)
        .expect("the toner runs low within 2000 hours");
    let view = View { address: 0x7f14_0001, seed: 0, identity: false, state: Some(&state) };
    let rows = walk(&agent, &view);
    let alerts: Vec<&(String, String)> =
        rows.iter().filter(|r| r.0.starts_with("1.3.6.1.2.1.43.18.1.1.")).collect();
    // The recorded alert plus 3 active kinds (jam, door, one of toner low/empty) x 8 columns.
    assert_eq!(alerts.len(), 1 + 3 * 8, "{alerts:?}");
    let oids: Vec<OidBuf> = rows.iter().map(|r| OidBuf::parse(&r.0).unwrap()).collect();
    assert!(oids.windows(2).all(|w| w[0].as_oid() < w[1].as_oid()), "walk order");
    let bits = m_value(&rows, "1.3.6.1.2.1.25.3.5.1.2.1");
    let l = state.level(1, 100);
    let want = 0x80 | 0x08 | 0x04 | if l.empty { 0x10 } else { 0x20 };
    assert_eq!(bits, format!("OctetString([{want}, 0])"));
    let counter = m_value(&rows, "1.3.6.1.2.1.43.10.2.1.4.1.1");
    assert_eq!(counter, format!("Counter32({})", 15232 + state.page_offset + state.pages));
    assert_eq!(m_value(&rows, "1.3.6.1.2.1.43.11.1.1.9.1.1"), format!("Integer({})", l.level));
    assert_eq!(m_value(&rows, "1.3.6.1.2.1.43.11.1.1.9.1.2"), "Integer(-3)", "special values stay");
}

fn m_value(rows: &[(String, String)], oid: &str) -> String {
    rows.iter().find(|r| r.0 == oid).unwrap_or_else(|| panic!("{oid} missing")).1.clone()
}

#[test]
fn a_vendor_serial_or_the_sys_descr_serial_when_the_printer_mib_has_none() {
    let brother = "\
1.3.6.1.2.1.1.1.0|4|Brother NC-8300h
1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0|4|000A5J431816
1.3.6.1.4.1.2435.9.9|4|serial 000A5J431816 here
";
    let hp = "\
1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT,SN:AAA0A00000,FN:1G11F33,PID:Color Laser
1.3.6.1.2.1.1.5.0|4|<private>
";
    let at = |text: &str, dotted: &str| {
        let m = Model::new(&Recording::parse(text.as_bytes()).unwrap());
        (role_of(&m, dotted), m)
    };
    let (role, m) = at(brother, "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0");
    assert_eq!(role, Role::Serial);
    assert_eq!(role_of(&m, "1.3.6.1.4.1.2435.9.9"), Role::SerialInside);
    let (role, m) = at(hp, "1.3.6.1.2.1.1.1.0");
    assert_eq!(role, Role::SerialInside);
    let view = |address| View { address, seed: 0, identity: true, state: None };
    let (a, b) = (m.identity(&view(0x7f14_0001)), m.identity(&view(0x7f14_0002)));
    assert_eq!(m.identity(&View::plain()).serial.as_deref(), Some(&b"AAA0A00000"[..]));
    assert!(a.serial.is_some() && a.serial != b.serial, "{a:?} {b:?}");
    // The text answered carries the printer's own serial in place of the recorded one.
    let agent = Agent::new(Recording::parse(hp.as_bytes()).unwrap());
    let descr = m_value(&walk(&agent, &view(0x7f14_0001)), "1.3.6.1.2.1.1.1.0");
    let want = format!("HP ETHERNET MULTI-ENVIRONMENT,SN:{},FN:1G11F33,PID:Color Laser", {
        String::from_utf8(a.serial.unwrap()).unwrap()
    });
    assert_eq!(descr, format!("OctetString({:?})", want.as_bytes()));
}

/// The simulator's list of vendor serial variables is the printer semantics' list: every
/// `field = "serial"` entry of python/printwatch/mib/meters/*.toml.
#[test]
fn vendor_serial_oids_match_the_meter_maps() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/printwatch/mib/meters");
    let mut from_maps = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // An entry is a [[...]] block of `key = value` lines; take the serial ones' oid.
            let text = std::fs::read_to_string(&path).unwrap();
            for block in text.split("[[") {
                if block.lines().any(|l| l.trim() == "field = \"serial\"") {
                    let oid = block.lines().find_map(|l| l.trim().strip_prefix("oid = \"")).unwrap();
                    from_maps.push(oid.trim_end_matches('"').to_owned());
                }
            }
        }
    }
    from_maps.sort();
    let mut ours: Vec<String> =
        crate::sim::oids::VENDOR_SERIAL_OIDS.iter().map(|s| (*s).to_owned()).collect();
    ours.sort();
    assert_eq!(ours, from_maps);
}

const NOTED: &str = "\
1.3.6.1.2.1.43.10.2.1.4.1.1|65|10000
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.8.1.2|2|100
1.3.6.1.2.1.43.11.1.1.8.1.3|2|50000
1.3.6.1.2.1.43.11.1.1.9.1.1|2|80
1.3.6.1.2.1.43.11.1.1.9.1.2|2|80
1.3.6.1.2.1.43.11.1.1.9.1.3|2|40000
1.3.6.1.4.1.9.1|65|7000
1.3.6.1.4.1.9.2|65|3000
1.3.6.1.4.1.9.3|65|6500
1.3.6.1.4.1.9.4|65|3500
1.3.6.1.4.1.9.5|4x|000104000027100101040000222e
";

const NOTES: &str = "share|copy|0.3\nshare|copy_color|0.5\nshare|print_color|0.5\n\
meter|1.3.6.1.4.1.9.1|print\nmeter|1.3.6.1.4.1.9.2|copy\nmeter|1.3.6.1.4.1.9.3|black\n\
meter|1.3.6.1.4.1.9.4|color\nmeter|1.3.6.1.4.1.9.5|total|0\nmeter|1.3.6.1.4.1.9.5|black|1\n\
supply|1|pages|2000|coverage\nsupply|2|color|2000|coverage\nsupply|3|pages|50000|exact\n";

/// The value of `dotted` that `agent` answers a `version` Get with, as printer `view`
/// (`None`: no answer).
fn get(agent: &Agent, view: &View<'_>, version: Version, dotted: &str) -> Option<Value<'static>> {
    let oid = OidBuf::parse(dotted).unwrap();
    let pdu = StandardPdu {
        pdu_type: PduType::Get,
        request_id: 1,
        error_status: 0,
        error_index: 0,
        varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::Null }],
    };
    let msg = Message { version, community: b"public", pdu: Pdu::Standard(pdu) };
    let req = Encoder::new().encode(&msg).unwrap().to_vec();
    let mut out = Vec::new();
    agent.respond_as(view, &req, &mut out)?;
    let resp = decode(&out).unwrap();
    Some(match resp.pdu.varbinds()[0].value {
        Value::Counter32(n) => Value::Counter32(n),
        Value::OctetString(b) => Value::OctetString(b.to_vec().leak()),
        other => panic!("{dotted}: {other:?}"),
    })
}

fn count(agent: &Agent, view: &View<'_>, dotted: &str) -> u64 {
    match get(agent, view, Version::V2C, dotted) {
        Some(Value::Counter32(n)) => u64::from(n),
        other => panic!("{dotted}: {other:?}"),
    }
}

#[test]
fn notes_move_every_meter_together_and_drain_supplies_by_their_pages() {
    let notes = crate::sim::notes::Notes::parse(NOTES).unwrap();
    let agent = Agent::new(Recording::parse(NOTED.as_bytes()).unwrap()).with_notes(Some(notes));
    let m = agent.model();
    assert!(matches!(role_of(m, "1.3.6.1.4.1.9.3"), Role::Meter(crate::sim::meters::Meter::Black)));
    assert!(matches!(role_of(m, "1.3.6.1.4.1.9.5"), Role::Packed { slot: 0 }));
    let config = DynamicsConfig { pages_per_hour: (200.0, 200.0), ..DynamicsConfig::quiet() };
    let mut last: Option<[u64; 5]> = None;
    let mut last_kit: Option<(i32, u64)> = None;
    for day in 0..40 {
        let state = State::at(&config, 3, 0x7f00_0001, f64::from(day) * 86_400.0);
        let view = View { address: 0x7f00_0001, seed: 3, identity: false, state: Some(&state) };
        let [total, print, copy, black, color] = [
            "1.3.6.1.2.1.43.10.2.1.4.1.1",
            "1.3.6.1.4.1.9.1",
            "1.3.6.1.4.1.9.2",
            "1.3.6.1.4.1.9.3",
            "1.3.6.1.4.1.9.4",
        ]
        .map(|o| count(&agent, &view, o));
        assert_eq!((print + copy, black + color), (total, total), "day {day}");
        let now = [total, print, copy, black, color];
        if let Some(before) = last {
            assert!(now.iter().zip(before).all(|(n, b)| *n >= b), "day {day}: {before:?} -> {now:?}");
        }
        last = Some(now);
        // Brother's records: total and black grown with the others, record 2 as recorded.
        let Some(Value::OctetString(records)) = get(&agent, &view, Version::V2C, "1.3.6.1.4.1.9.5") else {
            panic!("no records")
        };
        let record = |at: usize| u64::from(u32::from_be_bytes(records[at + 3..at + 7].try_into().unwrap()));
        assert_eq!((record(0), record(7) - 8_750, records.len()), (total, black - 6_500, 14));
        // The maintenance kit falls by exactly one per page between replacements.
        let kit = m.level(3, 50_000, &state);
        if let Some((level, at)) = last_kit.filter(|(level, _)| kit.level <= *level && kit.level > 0) {
            assert_eq!(u64::try_from(level - kit.level).unwrap(), state.pages - at, "day {day}");
        }
        last_kit = Some((kit.level, state.pages));
    }
    // Colour toner drains with the colour pages only.
    let state = State::at(&config, 3, 0x7f00_0001, 3.0 * 86_400.0);
    let split = m.split(&state, state.pages);
    assert!(split.color() > 0 && split.color() < split.total);
}

#[test]
fn a_v1_only_printer_drops_v2c() {
    let notes = crate::sim::notes::Notes::parse("versions|1\n").unwrap();
    let agent = Agent::new(Recording::parse(NOTED.as_bytes()).unwrap()).with_notes(Some(notes));
    let plain = View::plain();
    assert!(get(&agent, &plain, Version::V2C, "1.3.6.1.4.1.9.1").is_none());
    assert_eq!(get(&agent, &plain, Version::V1, "1.3.6.1.4.1.9.1"), Some(Value::Counter32(7000)));
}

#[test]
fn with_notes_and_dynamics_the_recorded_supply_alerts_give_way_to_the_levels() {
    let recording = "\
1.3.6.1.2.1.25.3.2.1.5.1|2|3
1.3.6.1.2.1.43.10.2.1.4.1.1|65|10000
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|8
1.3.6.1.2.1.43.18.1.1.2.1.1|2|4
1.3.6.1.2.1.43.18.1.1.4.1.1|2|11
1.3.6.1.2.1.43.18.1.1.7.1.1|2|1104
";
    let notes = crate::sim::notes::Notes::parse("supply|1|pages|3000|coverage\n").unwrap();
    let agent = Agent::new(Recording::parse(recording.as_bytes()).unwrap()).with_notes(Some(notes));
    let m = agent.model();
    assert_eq!(role_of(m, "1.3.6.1.2.1.43.18.1.1.7.1.1"), Role::RecordedSupplyAlert);
    assert_eq!(role_of(m, "1.3.6.1.2.1.25.3.2.1.5.1"), Role::DeviceStatus);
    // As recorded without dynamics: the low-toner row and the warning.
    let plain = walk(&agent, &View::plain());
    assert!(plain.iter().any(|(o, v)| o == "1.3.6.1.2.1.43.18.1.1.7.1.1" && v.contains("1104")));
    assert!(m_value(&plain, "1.3.6.1.2.1.25.3.2.1.5.1").contains('3'));
    let config = DynamicsConfig { pages_per_hour: (300.0, 300.0), ..DynamicsConfig::quiet() };
    let (mut running, mut warning) = (0, 0);
    for hour in 0..200 {
        let state = State::at(&config, 1, 0x7f00_0002, f64::from(hour) * 3600.0);
        let view = View { address: 0x7f00_0002, seed: 1, identity: false, state: Some(&state) };
        let rows = walk(&agent, &view);
        assert!(!rows.iter().any(|(o, _)| o.starts_with("1.3.6.1.2.1.43.18.1.1.7.1.1")), "recorded row gone");
        let low = m.level(1, 100, &state).low;
        let codes: Vec<&String> =
            rows.iter().filter(|(o, _)| o.starts_with("1.3.6.1.2.1.43.18.1.1.7.")).map(|(_, v)| v).collect();
        let status = m_value(&rows, "1.3.6.1.2.1.25.3.2.1.5.1");
        assert_eq!(codes.is_empty(), !low, "hour {hour}: an alert row while low, none after");
        if low {
            assert!(status.contains('3') || status.contains('5'), "{status}");
            warning += 1;
        } else {
            assert!(status.contains('2'), "hour {hour}: {status}");
            running += 1;
        }
    }
    assert!(running > 50 && warning > 0, "{running} {warning}");
}

/// An HP print server: the serial inside sysDescr too, a host-like sysName; and a serial longer
/// than the answers' stack buffer.
const HP_RECORDING: &str = "\
1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT,SN:JPBCK19044,FN:2E71F0A,PID:HP M577 JPBCK19044
1.3.6.1.2.1.1.5.0|4|printer-floor2-west
1.3.6.1.2.1.2.2.1.6.2|4x|A0B3CC010203
1.3.6.1.2.1.43.5.1.1.17.1|4|JPBCK19044
";
const LONG_SERIAL_RECORDING: &str = "\
1.3.6.1.2.1.1.5.0|4|NPI8A41C2
1.3.6.1.2.1.43.5.1.1.17.1|4|SN-0123456789-ABCDEFGHIJ-0123456789-ABCDEFGHIJ-0123456789-ABCDEFGHIJ-xyz
";

/// The identity answered through the model's kept keys (a fresh agent per seed), and through
/// keys made per answer (one agent answering every seed after its first), is byte for byte
/// what `identity`'s per-answer functions give.
#[test]
fn answers_with_kept_keys_are_the_per_answer_bytes() {
    let octets = |v: &[u8]| format!("OctetString({v:?})");
    for text in [RECORDING, HP_RECORDING, LONG_SERIAL_RECORDING] {
        let shared = Agent::new(Recording::parse(text.as_bytes()).unwrap());
        for seed in [0, 1, 2, 7, 1000, u64::MAX] {
            let fresh = Agent::new(Recording::parse(text.as_bytes()).unwrap());
            for address in [0x7f14_0001, 0x7f14_0002, 0x0a01_0203, u32::MAX] {
                let view = View { address, seed, identity: true, state: None };
                let rows = walk(&fresh, &view);
                assert_eq!(rows, walk(&shared, &view), "{seed} {address:#x}");
                let recorded = &fresh.model().recorded;
                let serial = crate::sim::identity::serial(recorded.serial.as_ref().unwrap(), address, seed);
                assert_eq!(m_value(&rows, "1.3.6.1.2.1.43.5.1.1.17.1"), octets(&serial));
                let mac = recorded.mac.map(|m| crate::sim::identity::mac(m, address, seed));
                if let Some(m) = mac {
                    let at = rows.iter().find(|r| r.0.starts_with("1.3.6.1.2.1.2.2.1.6.")).unwrap();
                    assert_eq!(at.1, octets(&m));
                }
                let name = recorded.sys_name.as_ref().unwrap();
                let name = crate::sim::identity::sys_name(name, mac, address, seed);
                assert_eq!(m_value(&rows, "1.3.6.1.2.1.1.5.0"), octets(&name));
                let id = fresh.model().identity(&view);
                assert_eq!(
                    (id.serial.as_ref(), id.mac, id.sys_name.as_ref()),
                    (Some(&serial), mac, Some(&name))
                );
                if text == HP_RECORDING {
                    let s = String::from_utf8(serial).unwrap();
                    let want = format!("HP ETHERNET MULTI-ENVIRONMENT,SN:{s},FN:2E71F0A,PID:HP M577 {s}");
                    assert_eq!(m_value(&rows, "1.3.6.1.2.1.1.1.0"), octets(want.as_bytes()));
                }
            }
        }
    }
}
