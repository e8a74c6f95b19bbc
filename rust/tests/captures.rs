//! Codec tests on captured packets.
//!
//! `getbulk_supplies_response.bin` and friends under `rust/tests/captures/` were recorded by
//! `tests/real/test_snmpd_relay.py`-style relays between net-snmp's command-line tools and
//! `snmpd` (net-snmp 5.9) on loopback, and between snmpbulkwalk and snmpsim serving the LibreNMS
//! `xerox` recording; see `rust/tests/captures/README.md` for how each was made.

use printwatch_core::snmp::{decode, Encoder, Pdu, PduType, Value};

fn roundtrip(bytes: &[u8]) {
    let msg = decode(bytes).expect("capture decodes");
    let mut enc = Encoder::new();
    assert_eq!(enc.encode(&msg).expect("re-encodes"), bytes, "re-encoding is byte-identical");
}

#[test]
fn every_capture_round_trips() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rust/tests/captures");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("captures directory") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            roundtrip(&std::fs::read(&path).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 4, "expected the committed captures, found {seen}");
}

#[test]
fn snmpget_request_fields() {
    let bytes = include_bytes!("captures/snmpget_request.bin");
    let msg = decode(bytes).unwrap();
    assert_eq!(msg.community, b"public");
    let Pdu::Standard(pdu) = &msg.pdu else { panic!("standard PDU") };
    assert_eq!(pdu.pdu_type, PduType::Get);
    assert_eq!(pdu.varbinds.len(), 2);
    assert_eq!(pdu.varbinds[0].oid.to_string(), "1.3.6.1.2.1.1.1.0");
    assert_eq!(pdu.varbinds[0].value, Value::Null);
}

#[test]
fn bulk_response_values() {
    let bytes = include_bytes!("captures/snmpbulkwalk_supplies_response.bin");
    let msg = decode(bytes).unwrap();
    let Pdu::Standard(pdu) = &msg.pdu else { panic!("standard PDU") };
    assert_eq!(pdu.pdu_type, PduType::Response);
    assert!(pdu.varbinds.len() >= 10);
    assert!(pdu.varbinds.iter().all(|vb| vb.oid.to_string().starts_with("1.3.6.1.2.1.43.11.1.1.")));
}
