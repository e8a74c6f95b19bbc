use super::*;
use crate::snmp::{Encoder, OidBuf, Value, VarBind};

const RECORDING: &str = "\
1.3.6.1.2.1.1.3.0|67|100
1.3.6.1.2.1.1.1.0|4|Test printer
1.3.6.1.2.1.2.2.1.10.1|65|5
1.3.6.1.2.1.2.2.1.10.2|65|6
1.3.6.1.2.1.31.1.1.1.6.1|70|123456789012
1.3.6.1.2.1.43.5.1.1.17.1|4|SERIAL
";

fn agent() -> Agent {
    Agent::new(Recording::parse(RECORDING.as_bytes()).unwrap())
}

fn oid(s: &str) -> OidBuf {
    OidBuf::parse(s).unwrap()
}

/// Encodes a request; for GetBulk, `a` and `b` are non-repeaters and max-repetitions.
fn request(
    version: Version,
    community: &[u8],
    pdu_type: PduType,
    (a, b): (i32, i32),
    oids: &[&str],
) -> Vec<u8> {
    let bufs: Vec<OidBuf> = oids.iter().map(|s| oid(s)).collect();
    let varbinds = bufs.iter().map(|o| VarBind { oid: o.as_oid(), value: Value::Null }).collect();
    let pdu = StandardPdu { pdu_type, request_id: 4242, error_status: a, error_index: b, varbinds };
    let msg = Message { version, community, pdu: Pdu::Standard(pdu) };
    Encoder::new().encode(&msg).unwrap().to_vec()
}

/// The response's (error-status, error-index, varbinds as (dotted OID, value)) to `req`.
fn ask(agent: &Agent, req: &[u8]) -> (i32, i32, Vec<(String, String)>) {
    let mut out = Vec::new();
    let reply = agent.respond(req, &mut out).expect("a response");
    assert!(out.len() <= agent.max_message_size, "{} bytes", out.len());
    let msg = decode(&out).expect("the response decodes");
    assert_eq!(msg.community, b"public");
    let Pdu::Standard(pdu) = msg.pdu else { panic!("standard PDU") };
    assert_eq!((pdu.pdu_type, pdu.request_id), (PduType::Response, 4242));
    assert_eq!(
        (reply.error_status, reply.error_index, reply.varbinds),
        (pdu.error_status, pdu.error_index, pdu.varbinds.len())
    );
    let vbs = pdu.varbinds.iter().map(|vb| (vb.oid.to_string(), format!("{:?}", vb.value))).collect();
    (pdu.error_status, pdu.error_index, vbs)
}

fn v2(pdu_type: PduType, oids: &[&str]) -> Vec<u8> {
    request(Version::V2C, b"public", pdu_type, (0, 0), oids)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|&(o, v)| (o.to_owned(), v.to_owned())).collect()
}

#[test]
fn v2c_get_answers_values_and_exceptions() {
    let req = v2(
        PduType::Get,
        &["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.1.5", "1.3.6.1.2.1.1.2.0", "1.3", "1.3.6.1.2.1.1.1"],
    );
    let (status, index, vbs) = ask(&agent(), &req);
    assert_eq!((status, index), (0, 0));
    let want = pairs(&[
        ("1.3.6.1.2.1.1.1.0", "OctetString([84, 101, 115, 116, 32, 112, 114, 105, 110, 116, 101, 114])"),
        ("1.3.6.1.2.1.1.1.5", "NoSuchInstance"),
        ("1.3.6.1.2.1.1.2.0", "NoSuchObject"),
        ("1.3", "NoSuchObject"),
        ("1.3.6.1.2.1.1.1", "NoSuchInstance"),
    ]);
    assert_eq!(vbs, want);
}

#[test]
fn v2c_getnext_walks_and_ends() {
    let req = v2(
        PduType::GetNext,
        &["1.3.6", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.2.2.1.10.2", "1.3.6.1.2.1.43.5.1.1.17.1"],
    );
    let (status, _, vbs) = ask(&agent(), &req);
    assert_eq!(status, 0);
    let want = pairs(&[
        ("1.3.6.1.2.1.1.1.0", "OctetString([84, 101, 115, 116, 32, 112, 114, 105, 110, 116, 101, 114])"),
        ("1.3.6.1.2.1.1.3.0", "TimeTicks(100)"),
        ("1.3.6.1.2.1.31.1.1.1.6.1", "Counter64(123456789012)"),
        ("1.3.6.1.2.1.43.5.1.1.17.1", "EndOfMibView"),
    ]);
    assert_eq!(vbs, want);
}

#[test]
fn v1_missing_is_no_such_name_with_varbinds_echoed() {
    let oids = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.9.0"];
    let (status, index, vbs) = ask(&agent(), &request(Version::V1, b"public", PduType::Get, (0, 0), &oids));
    assert_eq!((status, index), (error_status::NO_SUCH_NAME, 2));
    assert_eq!(vbs, oids.iter().map(|o| ((*o).to_owned(), "Null".to_owned())).collect::<Vec<_>>());

    let past_end =
        request(Version::V1, b"public", PduType::GetNext, (0, 0), &["1.3.6", "1.3.6.1.2.1.43.5.1.1.17.1"]);
    let (status, index, vbs) = ask(&agent(), &past_end);
    assert_eq!((status, index, vbs.len()), (error_status::NO_SUCH_NAME, 2, 2));

    let ok = request(Version::V1, b"public", PduType::Get, (0, 0), &["1.3.6.1.2.1.1.3.0"]);
    assert_eq!(ask(&agent(), &ok), (0, 0, pairs(&[("1.3.6.1.2.1.1.3.0", "TimeTicks(100)")])));
}

#[test]
fn v1_does_not_see_counter64() {
    let get = request(Version::V1, b"public", PduType::Get, (0, 0), &["1.3.6.1.2.1.31.1.1.1.6.1"]);
    assert_eq!(ask(&agent(), &get).0, error_status::NO_SUCH_NAME);
    let next = request(Version::V1, b"public", PduType::GetNext, (0, 0), &["1.3.6.1.2.1.2.2.1.10.2"]);
    let (status, _, vbs) = ask(&agent(), &next);
    assert_eq!(status, 0);
    assert_eq!(vbs[0].0, "1.3.6.1.2.1.43.5.1.1.17.1");
}

#[test]
fn getbulk_rows_and_end_of_mib_view() {
    let oids = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.31"];
    let req = request(Version::V2C, b"public", PduType::GetBulk, (1, 8), &oids);
    let (status, _, vbs) = ask(&agent(), &req);
    assert_eq!(status, 0);
    let (end, last) = ("EndOfMibView", "1.3.6.1.2.1.43.5.1.1.17.1");
    let got: Vec<(&str, bool)> = vbs.iter().map(|(o, v)| (o.as_str(), v == end)).collect();
    // Row 3 ends the second repeater (which keeps its last OID), row 5 the first; no row 6.
    let want = [
        ("1.3.6.1.2.1.1.3.0", false),
        ("1.3.6.1.2.1.2.2.1.10.1", false),
        ("1.3.6.1.2.1.31.1.1.1.6.1", false),
        ("1.3.6.1.2.1.2.2.1.10.2", false),
        (last, false),
        ("1.3.6.1.2.1.31.1.1.1.6.1", false),
        (last, true),
        (last, false),
        (last, true),
        (last, true),
        (last, true),
    ];
    assert_eq!(got, want);
}

#[test]
fn getbulk_edge_fields() {
    let a = agent();
    // Non-repeaters above the varbind count: all are non-repeaters.
    let req = request(Version::V2C, b"public", PduType::GetBulk, (9, 3), &["1.3.6"]);
    assert_eq!(ask(&a, &req).2.len(), 1);
    // max-repetitions zero: only the non-repeaters.
    let req = request(Version::V2C, b"public", PduType::GetBulk, (1, 0), &["1.3.6", "1.3.6"]);
    assert_eq!(ask(&a, &req).2.len(), 1);
    // A huge max-repetitions with no size limit stops after the end of the MIB.
    let big = agent().with_max_message_size(usize::MAX);
    let req = request(Version::V2C, b"public", PduType::GetBulk, (0, i32::MAX), &["1.3.6"]);
    let vbs = ask(&big, &req).2;
    assert_eq!(vbs.len(), big.recording().len() + 1);
    assert_eq!(vbs.last().unwrap().1, "EndOfMibView");
}

#[test]
fn getbulk_drops_trailing_varbinds_to_fit() {
    let req = request(Version::V2C, b"public", PduType::GetBulk, (0, 10), &["1.3.6"]);
    let full = ask(&agent().with_max_message_size(usize::MAX), &req).2;
    let mut out = Vec::new();
    agent().respond(&req, &mut out).unwrap();
    let full_len = out.len();
    for max in (full_len - 60..full_len).step_by(7) {
        let (status, _, vbs) = ask(&agent().with_max_message_size(max), &req);
        assert_eq!(status, 0);
        assert!(!vbs.is_empty() && vbs.len() < full.len(), "max {max}: {} varbinds", vbs.len());
        assert_eq!(vbs[..], full[..vbs.len()]);
    }
}

#[test]
fn too_big() {
    let tiny = agent().with_max_message_size(40);
    let bulk = request(Version::V2C, b"public", PduType::GetBulk, (0, 10), &["1.3.6"]);
    assert_eq!(ask(&tiny, &bulk), (error_status::TOO_BIG, 0, vec![]));
    let bulk_nr = request(Version::V2C, b"public", PduType::GetBulk, (1, 0), &["1.3.6"]);
    assert_eq!(ask(&tiny, &bulk_nr), (error_status::TOO_BIG, 0, vec![]));
    let get = v2(PduType::Get, &["1.3.6.1.2.1.1.1.0"]);
    assert_eq!(ask(&tiny, &get), (error_status::TOO_BIG, 0, vec![]));
    let v1 = request(Version::V1, b"public", PduType::GetNext, (0, 0), &["1.3.6"]);
    let mut out = Vec::new();
    let reply = tiny.respond(&v1, &mut out).unwrap();
    assert_eq!((reply.error_status, reply.error_index, reply.varbinds), (error_status::TOO_BIG, 0, 1));
    assert_eq!(decode(&out).unwrap().pdu.varbinds()[0].oid.to_string(), "1.3.6");
}

#[test]
fn drops_what_it_should_not_answer() {
    let a = agent();
    let mut out = vec![1, 2, 3];
    assert_eq!(
        a.respond(&request(Version::V2C, b"private", PduType::Get, (0, 0), &["1.3.6"]), &mut out),
        None
    );
    assert!(out.is_empty());
    assert_eq!(a.respond(&v2(PduType::Response, &["1.3.6"]), &mut out), None);
    assert_eq!(a.respond(&v2(PduType::Report, &["1.3.6"]), &mut out), None);
    // A SetRequest: the encoder refuses to write one, so patch a Get's PDU tag.
    let mut set = v2(PduType::Get, &["1.3.6.1.2.1.1.1.0"]);
    let at = set.iter().position(|&b| b == PduType::Get.tag()).unwrap();
    set[at] = PduType::Set.tag();
    assert_eq!(a.respond(&set, &mut out), None);
    assert_eq!(a.respond(b"", &mut out), None);
    assert_eq!(a.respond(b"\x30\x03\x02\x01\x01", &mut out), None);
    let other = agent().with_community("s3cret");
    assert!(other
        .respond(&request(Version::V2C, b"s3cret", PduType::Get, (0, 0), &["1.3.6"]), &mut out)
        .is_some());
    assert_eq!(other.respond(&v2(PduType::Get, &["1.3.6"]), &mut out), None);
}

#[test]
fn mutated_requests_never_panic() {
    let a = agent().with_max_message_size(200);
    let mut out = Vec::new();
    let seeds = [
        request(Version::V2C, b"public", PduType::GetBulk, (1, 4), &["1.3.6", "1.3.6.1.2.1.2"]),
        request(Version::V1, b"public", PduType::GetNext, (0, 0), &["1.3.6.1.2.1.1.1.0"]),
    ];
    for seed in &seeds {
        for len in 0..seed.len() {
            let _ = a.respond(&seed[..len], &mut out);
        }
        for i in 0..seed.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0x81, 0xff, seed[i] ^ 1] {
                let mut m = seed.clone();
                m[i] = v;
                if a.respond(&m, &mut out).is_some() {
                    assert!(decode(&out).is_ok());
                }
            }
        }
    }
}

#[test]
fn parent_strips_one_arc() {
    let p = |s: &str| parent(oid(s).as_oid()).map(|o| o.to_string());
    assert_eq!(p("1.3.6.1.2.1.1.1.0").as_deref(), Some("1.3.6.1.2.1.1.1"));
    assert_eq!(p("1.3.6.300000").as_deref(), Some("1.3.6"));
    assert_eq!(p("1.3.6").as_deref(), Some("1.3"));
    assert_eq!(p("1.3"), None);
}
