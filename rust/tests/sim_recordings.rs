//! The simulated agent against the LibreNMS printer recordings.
//!
//! Reads every `*.snmprec` in `$PRINTWATCH_RECORDINGS`, or by default in
//! `$CARGO_MANIFEST_DIR/../shared/recordings/librenms/snmprec`. The expected walks are worked out
//! here from the recording text, independently of the parser: the first line for each OID wins,
//! in arc order, and each value is compared with its recorded text.

use std::fmt::Write as _;
use std::path::PathBuf;

use printwatch_core::sim::{error_status, Agent, Recording};
use printwatch_core::snmp::{
    decode, Encoder, Message, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version,
};

fn recordings() -> Vec<(String, Vec<u8>)> {
    let dir = std::env::var_os("PRINTWATCH_RECORDINGS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/recordings/librenms/snmprec")),
        PathBuf::from,
    );
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("recordings directory {} is missing ({e}); set PRINTWATCH_RECORDINGS", dir.display())
    });
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "snmprec"))
        .map(|path| {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_name().unwrap_or_default().to_string_lossy().into_owned(), data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .snmprec files in {}", dir.display());
    files
}

/// Lines of the LibreNMS recordings whose value is corrupted (`65|6git3159`): the agent skips
/// them, as snmpsim fails only when such a variable is asked for.
const KNOWN_BAD_LINES: &[(&str, usize)] = &[("okilan_9450g.snmprec", 23)];

fn known_bad(name: &str) -> Vec<usize> {
    KNOWN_BAD_LINES.iter().filter(|(file, _)| *file == name).map(|&(_, line)| line).collect()
}

/// The recording as an agent, with exactly the known bad lines skipped.
fn load(name: &str, data: &[u8]) -> Recording {
    let (rec, errors) = Recording::parse_lenient(data);
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, known_bad(name), "{name}: {errors:?}");
    if errors.is_empty() {
        assert_eq!(Recording::parse(data).as_ref(), Ok(&rec), "{name}");
    }
    rec
}

/// (OID, tag, value text) for each distinct OID after `1.3.6`, first line winning, in walk order.
fn expected(name: &str, data: &[u8]) -> Vec<(OidBuf, String, Vec<u8>)> {
    let start = OidBuf::parse("1.3.6").unwrap();
    let skip = known_bad(name);
    let mut rows: Vec<(OidBuf, String, Vec<u8>)> = Vec::new();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) || skip.contains(&(i + 1)) {
            continue;
        }
        let mut fields = line.splitn(3, |&b| b == b'|');
        let oid = OidBuf::parse(std::str::from_utf8(fields.next().unwrap()).unwrap()).unwrap();
        let tag = String::from_utf8(fields.next().unwrap().to_vec()).unwrap();
        rows.push((oid, tag, fields.next().unwrap().to_vec()));
    }
    rows.sort_by(|a, b| a.0.as_oid().cmp(&b.0.as_oid()));
    rows.dedup_by(|later, first| later.0 == first.0);
    rows.retain(|r| r.0.as_oid() > start.as_oid());
    rows
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `value` is what the recording's `tag|text` says.
fn matches(tag: &str, text: &[u8], value: &Value<'_>) -> bool {
    let s = String::from_utf8_lossy(text);
    let t = s.trim();
    match (tag, *value) {
        ("2", Value::Integer(i)) => t.parse() == Ok(i),
        ("4", Value::OctetString(v)) | ("68", Value::Opaque(v)) => v == text,
        ("4x", Value::OctetString(v)) | ("68x", Value::Opaque(v)) => hex(v).eq_ignore_ascii_case(t),
        ("5", Value::Null) => true,
        ("6", Value::ObjectIdentifier(o)) => o.to_string() == t.trim_start_matches('.'),
        ("64", Value::IpAddress(a)) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]) == t,
        ("64x", Value::IpAddress(a)) => hex(&a).eq_ignore_ascii_case(t),
        ("65", Value::Counter32(n)) | ("66", Value::Gauge32(n)) | ("67", Value::TimeTicks(n)) => {
            t.parse() == Ok(n)
        }
        ("70", Value::Counter64(n)) => t.parse() == Ok(n),
        _ => false,
    }
}

fn request(
    version: Version,
    community: &[u8],
    pdu_type: PduType,
    bulk: (i32, i32),
    oids: &[OidBuf],
) -> Vec<u8> {
    let varbinds = oids.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Null }).collect();
    let pdu = StandardPdu { pdu_type, request_id: 77, error_status: bulk.0, error_index: bulk.1, varbinds };
    let msg = Message { version, community, pdu: Pdu::Standard(pdu) };
    Encoder::new().encode(&msg).expect("request encodes").to_vec()
}

/// Walks from `1.3.6` with GetNext (v1 or v2c) or GetBulk and checks every answer against `want`.
fn walk(name: &str, agent: &Agent, version: Version, pdu_type: PduType, want: &[(OidBuf, String, Vec<u8>)]) {
    let mut cursor = OidBuf::parse("1.3.6").unwrap();
    let mut seen = 0;
    let mut out = Vec::new();
    for _ in 0..=want.len() + 1 {
        let req = request(version, b"public", pdu_type, (0, 20), std::slice::from_ref(&cursor));
        let reply = agent.respond(&req, &mut out).unwrap_or_else(|| panic!("{name}: no response"));
        let msg = decode(&out).unwrap_or_else(|e| panic!("{name}: response does not decode: {e:?}"));
        let Pdu::Standard(pdu) = &msg.pdu else { panic!("{name}: not a standard PDU") };
        assert_eq!(
            (pdu.pdu_type, pdu.request_id, reply.varbinds),
            (PduType::Response, 77, pdu.varbinds.len())
        );
        if version == Version::V1 && pdu.error_status == error_status::NO_SUCH_NAME {
            break;
        }
        assert_eq!(pdu.error_status, 0, "{name}: error-status");
        assert!(!pdu.varbinds.is_empty(), "{name}: empty response");
        for vb in &pdu.varbinds {
            if vb.value == Value::EndOfMibView {
                assert_eq!(seen, want.len(), "{name}: {pdu_type:?} ended early at {cursor}");
                return;
            }
            let (oid, tag, text) = want.get(seen).unwrap_or_else(|| panic!("{name}: walk went past the end"));
            assert_eq!(vb.oid, oid.as_oid(), "{name}: OID #{seen}");
            assert!(
                matches(tag, text, &vb.value),
                "{name}: {oid} is {:?}, recorded {tag}|{}",
                vb.value,
                String::from_utf8_lossy(text)
            );
            cursor = vb.oid.to_owned();
            seen += 1;
        }
    }
    assert_eq!(seen, want.len(), "{name}: {pdu_type:?} walk");
}

#[test]
fn every_recording_parses() {
    for (name, data) in recordings() {
        let rec = load(&name, &data);
        assert!(
            rec.entries().windows(2).all(|w| w[0].oid() < w[1].oid()),
            "{name}: not sorted or not distinct"
        );
    }
}

#[test]
fn getnext_and_getbulk_walks_return_the_recording() {
    let mut total = 0;
    for (name, data) in recordings() {
        let agent = Agent::new(load(&name, &data));
        let want = expected(&name, &data);
        walk(&name, &agent, Version::V2C, PduType::GetNext, &want);
        walk(&name, &agent, Version::V2C, PduType::GetBulk, &want);
        let v1_want: Vec<_> = want.iter().filter(|(_, tag, _)| tag != "70").cloned().collect();
        walk(&name, &agent, Version::V1, PduType::GetNext, &v1_want);
        total += want.len();
    }
    assert!(total > 1000, "only {total} variables walked");
}

#[test]
fn recordings_out_of_order_walk_in_order() {
    for (name, data) in recordings() {
        if !known_bad(&name).is_empty() {
            continue;
        }
        // The lines backwards: the agent must sort them (and keep the first of repeated OIDs).
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        lines.reverse();
        let reversed = lines.join(&b'\n');
        let agent = Agent::new(load(&name, &reversed));
        walk(&name, &agent, Version::V2C, PduType::GetNext, &expected(&name, &reversed));
    }
}

/// The biggest recording (by lines), as an agent, with its first and last OIDs.
fn big_agent() -> (Agent, OidBuf, OidBuf) {
    let (name, data) = recordings().into_iter().max_by_key(|(_, d)| d.len()).expect("a recording");
    let rec = load(&name, &data);
    let first = rec.entries().first().expect("not empty").oid().to_owned();
    let last = rec.entries().last().expect("not empty").oid().to_owned();
    (Agent::new(rec), first, last)
}

fn ask(agent: &Agent, req: &[u8]) -> (i32, i32, Vec<String>) {
    let mut out = Vec::new();
    agent.respond(req, &mut out).expect("a response");
    let msg = decode(&out).expect("decodes");
    let Pdu::Standard(pdu) = msg.pdu else { panic!("standard PDU") };
    let values = pdu.varbinds.iter().map(|vb| format!("{} {:?}", vb.oid, vb.value)).collect();
    (pdu.error_status, pdu.error_index, values)
}

#[test]
fn exceptions_and_errors() {
    let (agent, first, last) = big_agent();
    let instance = OidBuf::parse(&format!("{first}.999999")).unwrap();
    let object = OidBuf::parse("1.3.6.1.4.1.99999999.1.0").unwrap();
    let get = request(
        Version::V2C,
        b"public",
        PduType::Get,
        (0, 0),
        &[first.clone(), instance.clone(), object.clone()],
    );
    let (status, _, values) = ask(&agent, &get);
    assert_eq!(status, 0);
    assert!(!values[0].contains("NoSuch"), "{}", values[0]);
    assert_eq!(values[1], format!("{instance} NoSuchInstance"));
    assert_eq!(values[2], format!("{object} NoSuchObject"));

    let next = request(Version::V2C, b"public", PduType::GetNext, (0, 0), std::slice::from_ref(&last));
    assert_eq!(ask(&agent, &next).2, [format!("{last} EndOfMibView")]);

    let v1_get = request(Version::V1, b"public", PduType::Get, (0, 0), &[first.clone(), object.clone()]);
    assert_eq!(
        ask(&agent, &v1_get),
        (error_status::NO_SUCH_NAME, 2, vec![format!("{first} Null"), format!("{object} Null")])
    );
    let v1_next = request(Version::V1, b"public", PduType::GetNext, (0, 0), std::slice::from_ref(&last));
    assert_eq!(ask(&agent, &v1_next), (error_status::NO_SUCH_NAME, 1, vec![format!("{last} Null")]));
}

#[test]
fn drops_wrong_community_and_garbage() {
    let (agent, first, _) = big_agent();
    let mut out = Vec::new();
    let wrong = request(Version::V2C, b"private", PduType::Get, (0, 0), std::slice::from_ref(&first));
    assert!(agent.respond(&wrong, &mut out).is_none());
    for garbage in [&b""[..], b"\x00", b"\x30\x80", b"hello, printer", &[0xff; 64]] {
        assert!(agent.respond(garbage, &mut out).is_none());
    }
    let good = request(Version::V2C, b"public", PduType::GetBulk, (0, 50), std::slice::from_ref(&first));
    for len in 0..good.len() {
        assert!(agent.respond(&good[..len], &mut out).is_none(), "truncated to {len}");
    }
    assert!(agent.respond(&good, &mut out).is_some());
}

#[test]
fn too_big_with_a_tiny_max_size() {
    let (agent, first, _) = big_agent();
    let tiny = agent.clone().with_max_message_size(30);
    for pdu_type in [PduType::Get, PduType::GetNext, PduType::GetBulk] {
        let req = request(Version::V2C, b"public", pdu_type, (0, 10), std::slice::from_ref(&first));
        assert_eq!(ask(&tiny, &req), (error_status::TOO_BIG, 0, vec![]), "{pdu_type:?}");
    }
    // A bulk of 200 rows never exceeds the limit: trailing varbinds are dropped instead.
    let req = request(Version::V2C, b"public", PduType::GetBulk, (0, 200), std::slice::from_ref(&first));
    for max in [200, 484, 1400] {
        let mut out = Vec::new();
        let reply = agent.clone().with_max_message_size(max).respond(&req, &mut out).expect("response");
        assert!(out.len() <= max && reply.varbinds > 0 && reply.error_status == 0, "max {max}: {reply:?}");
    }
}
