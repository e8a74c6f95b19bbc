//! The Rust core's SNMP codec alone (no Python): decode + encode messages per second.
//!
//! ```text
//! cargo run --release --example codec_rate [-- --seconds S]
//! ```
//!
//! The same two workloads as `bench/codec_ratio.py` (printwatch vs pysnmp):
//!
//! * `supplies-bulk-response`: the real 30-varbind `GetBulk` Response from the Printer-MIB
//!   supplies table, `rust/tests/captures/snmpbulkwalk_supplies_response.bin`.
//! * `get-10-scalars`: a `GetRequest` of 10 scalars (NULL values) and its Response with values
//!   like an HP printer's (2 messages; the bytes are identical to the Python benchmark's).
//!
//! One round trip of a message: [`Encoder::encode`] the [`Message`] into the encoder's reused
//! buffer, then [`decode`] those bytes back into a [`Message`] (which borrows them; the varbinds
//! go into a fresh `Vec`). Each workload is timed in several runs of ~equal length; the median
//! run is reported (and the min..max), plus decode-only and encode-only rates for reference.

#![allow(clippy::cast_precision_loss)] // rates and durations as f64

use std::hint::black_box;
use std::time::Instant;

use printwatch_core::snmp::{
    decode, Encoder, Message, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version,
};

/// Relative to this file, so the path holds however the example is built.
const SUPPLIES_RESPONSE: &[u8] = include_bytes!("../tests/captures/snmpbulkwalk_supplies_response.bin");

const RUNS: usize = 9;
const COMMUNITY: &[u8] = b"public";
const GET_REQUEST_ID: i32 = 0x2C5_A1E7;

/// A scalar's value, in a form that can live in a `const` (an OID value is dotted text).
#[derive(Clone, Copy)]
enum V {
    Str(&'static [u8]),
    Oid(&'static str),
    Ticks(u32),
    Int(i32),
    C32(u32),
}

/// The same scalars and values as `GET_SCALARS` in `bench/codec_ratio.py`.
const GET_SCALARS: [(&str, V); 10] = [
    (
        "1.3.6.1.2.1.1.1.0", // sysDescr.0
        V::Str(
            b"HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM JSI24090012,CIDATE 06/17/2020",
        ),
    ),
    ("1.3.6.1.2.1.1.2.0", V::Oid("1.3.6.1.4.1.11.2.3.9.1")), // sysObjectID.0
    ("1.3.6.1.2.1.1.3.0", V::Ticks(123_456_789)),            // sysUpTime.0
    ("1.3.6.1.2.1.1.5.0", V::Str(b"NPI8A3C21")),             // sysName.0
    ("1.3.6.1.2.1.1.6.0", V::Str(b"Building 2, Floor 3, Copy Room")), // sysLocation.0
    ("1.3.6.1.2.1.25.3.2.1.5.1", V::Int(2)),                 // hrDeviceStatus.1: running
    ("1.3.6.1.2.1.25.3.5.1.1.1", V::Int(3)),                 // hrPrinterStatus.1: idle
    ("1.3.6.1.2.1.25.3.5.1.2.1", V::Str(b"\x00")),           // hrPrinterDetectedErrorState.1
    ("1.3.6.1.2.1.43.5.1.1.17.1", V::Str(b"VNB3R12345")),    // prtGeneralSerialNumber.1
    ("1.3.6.1.2.1.43.10.2.1.4.1.1", V::C32(184_523)),        // prtMarkerLifeCount.1.1
];

/// Encodes the `GetRequest` and its Response once; the workload then works on decoded copies.
fn get_wires() -> (Vec<u8>, Vec<u8>) {
    let oids: Vec<OidBuf> = GET_SCALARS.iter().map(|(o, _)| OidBuf::parse(o).expect("oid")).collect();
    let value_oids: Vec<Option<OidBuf>> = GET_SCALARS
        .iter()
        .map(|(_, v)| match v {
            V::Oid(o) => Some(OidBuf::parse(o).expect("oid value")),
            _ => None,
        })
        .collect();
    let message = |pdu_type, values: bool| {
        let varbinds = GET_SCALARS
            .iter()
            .zip(&oids)
            .zip(&value_oids)
            .map(|(((_, v), oid), value_oid)| VarBind {
                oid: oid.as_oid(),
                value: if values {
                    match *v {
                        V::Str(s) => Value::OctetString(s),
                        V::Oid(_) => Value::ObjectIdentifier(value_oid.as_ref().expect("oid value").as_oid()),
                        V::Ticks(n) => Value::TimeTicks(n),
                        V::Int(i) => Value::Integer(i),
                        V::C32(n) => Value::Counter32(n),
                    }
                } else {
                    Value::Null
                },
            })
            .collect();
        let pdu =
            StandardPdu { pdu_type, request_id: GET_REQUEST_ID, error_status: 0, error_index: 0, varbinds };
        let msg = Message { version: Version::V2C, community: COMMUNITY, pdu: Pdu::Standard(pdu) };
        Encoder::new().encode(&msg).expect("encode").to_vec()
    };
    (message(PduType::Get, false), message(PduType::Response, true))
}

/// Encode then decode one message; returns something that depends on the result.
#[inline(never)]
fn round_trip(enc: &mut Encoder, msg: &Message<'_>) -> usize {
    let wire = enc.encode(black_box(msg)).expect("encode");
    let back = decode(black_box(wire)).expect("decode");
    black_box(&back);
    back.pdu.varbinds().len()
}

#[inline(never)]
fn decode_only(wire: &[u8]) -> usize {
    let msg = decode(black_box(wire)).expect("decode");
    black_box(&msg);
    msg.pdu.varbinds().len()
}

#[inline(never)]
fn encode_only(enc: &mut Encoder, msg: &Message<'_>) -> usize {
    black_box(enc.encode(black_box(msg)).expect("encode")).len()
}

struct Rate {
    msgs_per_s: f64,
    min: f64,
    max: f64,
}

/// Runs `unit` (one unit = `msgs` messages) in RUNS runs of about `run_secs` each.
fn measure(msgs: usize, run_secs: f64, mut unit: impl FnMut() -> usize) -> Rate {
    // Calibrate: double the batch until it takes a quarter of a run.
    let mut n: u64 = 1;
    let per_unit = loop {
        let t0 = Instant::now();
        for _ in 0..n {
            black_box(unit());
        }
        let dt = t0.elapsed().as_secs_f64();
        if dt >= run_secs / 4.0 || n >= 1 << 30 {
            break dt / n as f64;
        }
        n *= 2;
    };
    let iters = ((run_secs / per_unit) as u64).max(1);
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..iters {
                black_box(unit());
            }
            (iters as f64 * msgs as f64) / t0.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    Rate { msgs_per_s: rates[RUNS / 2], min: rates[0], max: rates[RUNS - 1] }
}

fn report(label: &str, r: &Rate) {
    println!(
        "  {label:<14} {:>12.0} msgs/s {:>9.1} ns/msg   (runs: {:.0}..{:.0} msgs/s)",
        r.msgs_per_s,
        1e9 / r.msgs_per_s,
        r.min,
        r.max
    );
}

fn main() {
    let mut seconds = 6.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).expect("--seconds S"),
            other => panic!("unknown argument {other:?} (usage: codec_rate [--seconds S])"),
        }
    }

    let (get_request, get_response) = get_wires();
    let workloads: [(&str, Vec<&[u8]>); 2] = [
        ("supplies-bulk-response", vec![SUPPLIES_RESPONSE]),
        ("get-10-scalars", vec![&get_request, &get_response]),
    ];
    // Three measurements per workload (round trip, decode, encode), RUNS runs each.
    let run_secs = seconds / (workloads.len() as f64 * 3.0 * RUNS as f64);

    println!(
        "printwatch_core SNMP codec, Rust only; median of {RUNS} runs of ~{:.0} ms (build: {})",
        run_secs * 1e3,
        if cfg!(debug_assertions) { "DEBUG, numbers meaningless" } else { "release" }
    );
    let mut enc = Encoder::new();
    for (name, wires) in &workloads {
        let msgs: Vec<Message<'_>> = wires.iter().map(|w| decode(w).expect("decode")).collect();
        // The round trip must be exact before it is timed.
        for (wire, msg) in wires.iter().zip(&msgs) {
            let out = enc.encode(msg).expect("encode").to_vec();
            assert_eq!(&out[..], *wire, "{name}: re-encoding changed the bytes");
            assert_eq!(&decode(&out).expect("decode"), msg, "{name}: decoded message differs");
        }
        let sizes: Vec<String> = wires
            .iter()
            .zip(&msgs)
            .map(|(w, m)| format!("{} B/{} varbinds", w.len(), m.pdu.varbinds().len()))
            .collect();
        println!("{name} ({} message(s): {})", wires.len(), sizes.join(", "));

        let n = msgs.len();
        let rt = measure(n, run_secs, || msgs.iter().map(|m| round_trip(&mut enc, m)).sum());
        report("decode+encode", &rt);
        println!(
            "  {:<14} {:>12.3} µs per workload unit ({n} message(s))",
            "",
            n as f64 * 1e6 / rt.msgs_per_s
        );
        report("decode only", &measure(n, run_secs, || wires.iter().map(|w| decode_only(w)).sum()));
        report("encode only", &measure(n, run_secs, || msgs.iter().map(|m| encode_only(&mut enc, m)).sum()));
    }
}
