//! The poll engine against the simulated fleet on loopback (`127.78.0.0/16`): every target's
//! values and walks equal its recording (with walks sized by what the last poll found, right or
//! wrong), silent targets time out without slowing the others,
//! the pps cap holds, a paced batch's turns are coalesced, a datagram carries the kernel's time
//! of its arrival, and a cancel stops the batch at once.
//!
//! Recordings: `$PRINTWATCH_RECORDINGS`, or `$CARGO_MANIFEST_DIR/../shared/recordings/librenms/snmprec`.
#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use printwatch_core::engine::hints::table_key;
use printwatch_core::engine::{
    Batch, EngineCache, EngineConfig, FailureKind, Hint, Plan, Target, TargetResult, VersionChoice, WalkHints,
};
use printwatch_core::sim::{Agent, Fleet, Recording};
use printwatch_core::snmp::{OidBuf, Version};

mod common;
use common::{drain, recordings, serve};

const SCALARS: [&str; 5] = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.43.5.1.1.17.1",
];
const TABLES: [&str; 3] = ["1.3.6.1.2.1.43.11.1", "1.3.6.1.2.1.43.10.2", "1.3.6.1.2.1.43.18.1"];

fn plan() -> Arc<Plan> {
    let parse = |s: &&str| OidBuf::parse(s).unwrap();
    Arc::new(Plan { gets: SCALARS.iter().map(parse).collect(), walks: TABLES.iter().map(parse).collect() })
}

fn targets(base: Ipv4Addr, count: u32, port: u16, plan: &Arc<Plan>) -> Vec<Target> {
    (0..count)
        .map(|i| Target {
            addr: SocketAddrV4::new(Ipv4Addr::from(u32::from(base) + i), port),
            community: b"public".to_vec(),
            version: VersionChoice::Auto,
            plan: Arc::clone(plan),
            v3: None,
        })
        .collect()
}

fn run(config: EngineConfig, targets: Vec<Target>) -> Vec<TargetResult> {
    run_with(config, &WalkHints::new(), targets)
}

/// [`run`] with what earlier batches learned of the targets (kept in `hints` after).
fn run_with(config: EngineConfig, hints: &Arc<WalkHints>, targets: Vec<Target>) -> Vec<TargetResult> {
    let n = targets.len();
    let local = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
    let batch = Batch::start_with_caches(config, targets, local, EngineCache::new(), Arc::clone(hints))
        .expect("start");
    let results = drain(&batch, Duration::from_secs(60));
    assert!(batch.error().is_none(), "{:?}", batch.error());
    assert_eq!(results.len(), n, "every target reports");
    results
}

/// An agent of `recording` that speaks SNMPv1 only.
fn v1_only(recording: &Recording) -> Agent {
    use printwatch_core::sim::notes::Notes;
    Agent::new(recording.clone()).with_notes(Some(Notes::parse("versions|1\n").unwrap()))
}

/// Each target's walks as (OID, value TLV) rows.
fn walked(r: &TargetResult) -> Vec<Vec<(String, Vec<u8>)>> {
    let row = |s: &printwatch_core::engine::Stored| {
        let vb = r.store.get(*s).unwrap();
        (vb.oid.to_string(), tlv(&vb))
    };
    r.walks.iter().map(|w| w.iter().map(row).collect()).collect()
}

/// The recording's variables under `root`, as (dotted OID, value TLV) pairs.
fn expected_walk(rec: &Recording, root: &OidBuf) -> Vec<(String, Vec<u8>)> {
    rec.entries()
        .iter()
        .filter(|e| e.oid().starts_with(root.as_oid()) && e.oid() != root.as_oid())
        .map(|e| (e.oid().to_string(), e.value_tlv().to_vec()))
        .collect()
}

fn tlv(v: &printwatch_core::snmp::VarBind<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    printwatch_core::snmp::encode_varbind(v, &mut out);
    // The varbind is SEQUENCE { OID, value }: the value TLV is what follows the OID TLV.
    let oid_len = v.oid.as_ber().len();
    let header = if out[1] & 0x80 == 0 { 2 } else { 2 + usize::from(out[1] & 0x7f) };
    out[header + 2 + oid_len..].to_vec()
}

/// Asserts that every target's GETs and walks are its recording's.
fn assert_recorded(results: &[TargetResult], recs: &[Recording], plan: &Plan) {
    for r in results {
        let rec = &recs[r.index % recs.len()];
        assert!(r.reachable(), "target {} answered", r.index);
        assert!(r.failures.iter().all(|f| f.kind != FailureKind::Timeout), "{:?}", r.failures);
        for (i, oid) in plan.gets.iter().enumerate() {
            let got = r.gets[i].and_then(|s| r.store.get(s));
            match rec.get(oid.as_oid()) {
                Some(e) => assert_eq!(tlv(&got.expect("value read")), e.value_tlv(), "{oid} of {}", r.index),
                None => assert!(!got.is_some_and(|v| !v.value.is_exception()), "{oid} is not recorded"),
            }
        }
        for (rows, root) in walked(r).iter().zip(&plan.walks) {
            assert_eq!(*rows, expected_walk(rec, root), "walk {root} of target {}", r.index);
        }
    }
}

#[test]
fn every_target_reads_its_recording() {
    let recs = recordings();
    let count = 3 * recs.len() as u32;
    let base = Ipv4Addr::new(127, 78, 0, 1);
    let fleet = Fleet::new(recs.iter().cloned().map(Agent::new));
    let server = serve(base, count, fleet);
    let plan = plan();
    let results = run(EngineConfig::default(), targets(base, count, server.port, &plan));
    assert_recorded(&results, &recs, &plan);
}

#[test]
fn walks_sized_by_the_last_poll_read_the_same_with_fewer_requests() {
    let recs = recordings();
    let count = recs.len() as u32;
    let base = Ipv4Addr::new(127, 78, 80, 1);
    let server = serve(base, count, Fleet::new(recs.iter().cloned().map(Agent::new)));
    let plan = plan();
    let hints = WalkHints::new();
    let first = run_with(EngineConfig::default(), &hints, targets(base, count, server.port, &plan));
    assert_recorded(&first, &recs, &plan);
    assert_eq!(hints.len(), recs.len() * TABLES.len(), "every table of every target learned");
    let second = run_with(EngineConfig::default(), &hints, targets(base, count, server.port, &plan));
    assert_recorded(&second, &recs, &plan);
    let sum = |rs: &[TargetResult], f: fn(&TargetResult) -> u64| rs.iter().map(f).sum::<u64>();
    for (a, b) in first.iter().zip(&second) {
        assert!(
            b.packets_sent <= a.packets_sent,
            "target {}: {} then {}",
            a.index,
            a.packets_sent,
            b.packets_sent
        );
    }
    let (bytes_a, bytes_b) = (sum(&first, |r| r.bytes_received), sum(&second, |r| r.bytes_received));
    assert!(bytes_b * 10 < bytes_a * 9, "answers of {bytes_a} then {bytes_b} bytes: the overshoot is gone");
}

#[test]
fn an_auto_target_that_answered_v1_is_asked_in_v1_first() {
    let recs = recordings();
    let base = Ipv4Addr::new(127, 78, 112, 1);
    let server = serve(base, 10, Fleet::new(recs.iter().take(10).map(v1_only)));
    let plan = Arc::new(Plan { gets: vec![OidBuf::parse(SCALARS[0]).unwrap()], walks: vec![] });
    let hints = WalkHints::new();
    let config = EngineConfig { timeout: Duration::from_millis(200), ..EngineConfig::default() };
    let mut sent = Vec::new();
    for _ in 0..2 {
        let results = run_with(config, &hints, targets(base, 10, server.port, &plan));
        assert!(results.iter().all(|r| r.status() == "ok" && r.version == Some(Version::V1)));
        sent.push(results.iter().map(|r| r.packets_sent).collect::<Vec<_>>());
    }
    assert_eq!(sent[0], vec![2; 10], "v2c went unanswered, then v1");
    assert_eq!(sent[1], vec![1; 10], "v1 at once");
}

#[test]
fn v1_walks_read_the_known_columns_side_by_side() {
    let recs = recordings();
    let count = recs.len() as u32;
    let base = Ipv4Addr::new(127, 78, 120, 1);
    let server = serve(base, count, Fleet::new(recs.iter().map(v1_only)));
    let plan = plan();
    let hints = WalkHints::new();
    // A plain v1 walk (one varbind a request), then the columns it found side by side.
    let first = run_with(EngineConfig::default(), &hints, targets(base, count, server.port, &plan));
    let second = run_with(EngineConfig::default(), &hints, targets(base, count, server.port, &plan));
    let (mut before, mut after) = (0, 0);
    for (a, b) in first.iter().zip(&second) {
        // (A scalar the recording lacks is a v1 noSuchName, in both polls.)
        assert_eq!(b.failures, a.failures, "target {}", a.index);
        assert!(b.failures.iter().all(|f| f.kind == FailureKind::NoSuchName), "{:?}", b.failures);
        assert_eq!((a.version, b.version), (Some(Version::V1), Some(Version::V1)));
        assert_eq!(walked(b), walked(a), "target {}: the same rows", a.index);
        assert!(b.packets_sent <= a.packets_sent, "target {}", a.index);
        before += a.packets_sent;
        after += b.packets_sent;
    }
    // 762 then 378 when written (the first poll also paid a v2c try per target; these
    // recordings' tables are short: 2 to 4 rows).
    assert!(after * 10 < before * 6, "{before} requests, then {after}");
}

#[test]
fn wrong_hints_change_nothing_read() {
    let recs = recordings();
    let count = recs.len() as u32;
    let base = Ipv4Addr::new(127, 78, 96, 1);
    let server = serve(base, count, Fleet::new(recs.iter().cloned().map(Agent::new)));
    let plan = plan();
    // Every table said empty, or far longer than it is, or with a tooBig limit of 1.
    for wrong in [
        Hint { rows: 0, bytes_per_varbind: 1, limit: 0, columns: 0 },
        Hint { rows: 900, bytes_per_varbind: 1, limit: 0, columns: 0 },
        Hint { rows: 40, bytes_per_varbind: 1, limit: 1, columns: 0 },
    ] {
        let hints = WalkHints::new();
        for t in targets(base, count, server.port, &plan) {
            hints.put(t.addr, plan.walks.iter().map(|r| (table_key(r.as_oid(), &t), Some(wrong))));
        }
        let results = run_with(EngineConfig::default(), &hints, targets(base, count, server.port, &plan));
        assert_recorded(&results, &recs, &plan);
    }
}

#[test]
fn silent_targets_time_out_and_the_rest_are_unaffected() {
    let recs = recordings();
    let base = Ipv4Addr::new(127, 78, 16, 1);
    let server = serve(base, 20, Fleet::new(recs.into_iter().take(5).map(Agent::new)));
    let plan = plan();
    // 20 printers, then 20 addresses where nothing answers.
    let config = EngineConfig { timeout: Duration::from_millis(100), retries: 1, ..EngineConfig::default() };
    let results = run(config, targets(base, 40, server.port, &plan));
    for r in &results {
        if r.index < 20 {
            assert_eq!(r.status(), "ok", "{:?}", r.failures);
        } else {
            assert!(!r.reachable());
            assert_eq!(r.status(), "timeout");
            assert_eq!(r.failures.len(), SCALARS.len() + TABLES.len(), "every request fails");
            assert_eq!(r.packets_sent, 2, "one request, tried twice; the rest never sent");
        }
    }
}

#[test]
fn cancel_stops_within_100_ms() {
    let plan = plan();
    // Nothing listens on port 9 of these addresses: every request waits out its timeout.
    let silent = targets(Ipv4Addr::new(127, 78, 32, 1), 500, 9, &plan);
    let config = EngineConfig { timeout: Duration::from_secs(5), ..EngineConfig::default() };
    let batch = Batch::start(config, silent, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    thread::sleep(Duration::from_millis(100));
    let cancelled = Instant::now();
    batch.cancel();
    let mut results = Vec::new();
    loop {
        let (mut got, done) = batch.wait(Duration::from_millis(10));
        results.append(&mut got);
        if done {
            break;
        }
        assert!(cancelled.elapsed() < Duration::from_millis(100), "still running 100 ms after cancel");
    }
    assert_eq!(results.len(), 500);
    assert!(results.iter().all(|r| r.status() == "cancelled" || r.status() == "timeout"));
    let sent = batch.stats().packets_sent;
    thread::sleep(Duration::from_millis(50));
    assert_eq!(batch.stats().packets_sent, sent, "nothing sent after the batch ended");
}

#[test]
fn the_packet_rate_cap_holds() {
    let recs = recordings();
    let base = Ipv4Addr::new(127, 78, 48, 1);
    let server = serve(base, 200, Fleet::new(recs.into_iter().take(4).map(Agent::new)));
    let one = Arc::new(Plan { gets: vec![OidBuf::parse(SCALARS[0]).unwrap()], walks: vec![] });
    let config = EngineConfig { max_pps: 1000, ..EngineConfig::default() };
    let started = Instant::now();
    let results = run(config, targets(base, 200, server.port, &one));
    // 200 packets at 1,000 a second, after a first burst of 5: at least 195 ms.
    assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
    assert!(results.iter().all(|r| r.status() == "ok"));
}

#[test]
fn paced_turns_are_coalesced() {
    let recs = recordings();
    let base = Ipv4Addr::new(127, 78, 64, 1);
    let server = serve(base, 200, Fleet::new(recs.into_iter().take(4).map(Agent::new)));
    let one = Arc::new(Plan { gets: vec![OidBuf::parse(SCALARS[0]).unwrap()], walks: vec![] });
    // 200 requests at 2,000 a second: about 100 ms, requests queued for the budget throughout.
    let config = EngineConfig { max_pps: 2000, ..EngineConfig::default() };
    let batch = Batch::start(
        config,
        targets(base, 200, server.port, &one),
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    )
    .expect("start");
    let results = drain(&batch, Duration::from_secs(60));
    assert!(results.iter().all(|r| r.status() == "ok"));
    let stats = batch.stats();
    assert_eq!(stats.packets_sent, 200);
    // A turn per answer (and per token) would be 200 or more; a turn of at least 2 ms sends
    // four requests and reads what came meanwhile.
    assert!(stats.turns <= 100, "{} turns for 200 requests", stats.turns);
}

#[test]
fn a_datagram_carries_the_kernel_time_of_its_arrival() {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::{SystemTime, UNIX_EPOCH};

    use printwatch_core::udp::{enable_timestamps, recv_batch, RecvBatch};

    let wall = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    enable_timestamps(receiver.as_raw_fd()).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut batch = RecvBatch::new(4, 64);
    // The kernel turns its receive stamps on a moment after the first socket asks (until then
    // a datagram is stamped when it is read): a few tries.
    let mut ages = Vec::new();
    for _ in 0..20 {
        let before = wall();
        sender.send_to(b"answer", receiver.local_addr().unwrap()).unwrap();
        // Read 50 ms after it came: its stamp is the arrival, not the read.
        thread::sleep(Duration::from_millis(50));
        assert_eq!(recv_batch(receiver.as_raw_fd(), &mut batch).unwrap(), 1);
        let read = wall();
        let got = batch.get(0);
        assert_eq!(got.data, b"answer");
        let at = got.received_at.expect("a kernel stamp");
        assert!(
            at + Duration::from_micros(100) >= before && at <= read,
            "{at:?} not within {before:?}..{read:?}"
        );
        let age = read.saturating_sub(at);
        ages.push(age);
        if age >= Duration::from_millis(50) {
            return;
        }
    }
    panic!("every datagram stamped when read, not when it came: {ages:?}");
}
