//! The poll engine speaking SNMPv3 to the simulated fleet on loopback (`127.79.0.0/16`): every
//! security level and protocol reads the same values as v2c; wrong passwords, unknown users and
//! a wrong context come back as named failures (fast, not timeouts); a stale cached engine
//! time is resynchronised; the engine cache spares the discovery on the next batch.
//!
//! Recordings: `$PRINTWATCH_RECORDINGS`, or `$CARGO_MANIFEST_DIR/../shared/recordings/librenms/snmprec`.
#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use printwatch_core::engine::{
    Batch, EngineCache, EngineConfig, EngineInfo, Plan, Target, TargetResult, VersionChoice,
};
use printwatch_core::sim::{Agent, Fleet, SimUsm};
use printwatch_core::snmp::usm::{AuthProtocol, Credentials, PrivProtocol};
use printwatch_core::snmp::{OidBuf, Version};

mod common;
use common::{drain, recordings, serve};

fn fleet(user: &Arc<Credentials>) -> Fleet {
    Fleet::new(recordings().into_iter().map(Agent::new)).with_usm(SimUsm::new(Arc::clone(user)))
}

fn plan() -> Arc<Plan> {
    let p = |s: &str| OidBuf::parse(s).unwrap();
    Arc::new(Plan {
        gets: vec![p("1.3.6.1.2.1.1.1.0"), p("1.3.6.1.2.1.1.5.0"), p("1.3.6.1.2.1.1.3.0")],
        walks: vec![p("1.3.6.1.2.1.43.11.1"), p("1.3.6.1.2.1.43.10.2")],
    })
}

fn targets(base: Ipv4Addr, count: u32, port: u16, v3: Option<&Arc<Credentials>>) -> Vec<Target> {
    let plan = plan();
    (0..count)
        .map(|i| Target {
            addr: SocketAddrV4::new(Ipv4Addr::from(u32::from(base) + i), port),
            community: b"public".to_vec(),
            version: if v3.is_some() { VersionChoice::V3 } else { VersionChoice::V2c },
            plan: Arc::clone(&plan),
            v3: v3.cloned(),
        })
        .collect()
}

fn run(targets: Vec<Target>, engines: &Arc<EngineCache>) -> Vec<TargetResult> {
    let n = targets.len();
    let config = EngineConfig { timeout: Duration::from_millis(300), retries: 1, ..EngineConfig::default() };
    let local = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
    let batch = Batch::start_with_engines(config, targets, local, Arc::clone(engines)).expect("start");
    let results = drain(&batch, Duration::from_secs(30));
    assert_eq!(results.len(), n);
    results
}

/// Every value and row of a result, as (oid, encoded varbind) — comparable across versions.
fn values(r: &TargetResult) -> Vec<String> {
    let mut out = Vec::new();
    for s in r.gets.iter().flatten().chain(r.walks.iter().flatten()) {
        out.push(format!("{:?}", r.store.get(*s).unwrap()));
    }
    out
}

fn user(auth: Option<AuthProtocol>, privacy: Option<PrivProtocol>) -> Arc<Credentials> {
    Arc::new(
        Credentials::new(
            b"printwatch",
            auth.map(|a| (a, &b"auth-secret-1"[..])),
            privacy.map(|p| (p, &b"priv-secret-1"[..])),
            b"",
        )
        .unwrap(),
    )
}

#[test]
fn every_level_and_protocol_reads_what_v2c_reads() {
    let mut cases = vec![(None, None)];
    for a in AuthProtocol::ALL {
        cases.push((Some(a), None));
    }
    for p in PrivProtocol::ALL {
        cases.push((Some(AuthProtocol::Sha1), Some(p)));
    }
    cases.push((Some(AuthProtocol::Md5), Some(PrivProtocol::Des)));
    cases.push((Some(AuthProtocol::Sha512), Some(PrivProtocol::Aes256)));
    for (n, (auth, privacy)) in cases.into_iter().enumerate() {
        let creds = user(auth, privacy);
        let base = Ipv4Addr::new(127, 79, n as u8, 1);
        let server = serve(base, 4, fleet(&creds));
        let engines = EngineCache::new();
        let v2 = run(targets(base, 4, server.port, None), &engines);
        let v3 = run(targets(base, 4, server.port, Some(&creds)), &engines);
        for (a, b) in v2.iter().zip(&v3) {
            assert_eq!(a.status(), "ok", "{:?}", a.failures);
            assert_eq!(b.status(), "ok", "{auth:?}/{privacy:?}: {:?}", b.failures);
            assert_eq!(b.version, Some(Version::V3));
            // sysUpTime moves on between the two polls: compare everything else.
            let (va, vb) = (values(a), values(b));
            assert_eq!(va.len(), vb.len());
            for (x, y) in va.iter().zip(&vb) {
                if !x.contains("TimeTicks") {
                    assert_eq!(x, y);
                }
            }
        }
        assert_eq!(engines.len(), 4, "discovered engines are cached");
        // The next batch needs no discovery: one packet fewer per target.
        let again = run(targets(base, 4, server.port, Some(&creds)), &engines);
        for (first, second) in v3.iter().zip(&again) {
            assert_eq!(second.status(), "ok");
            assert_eq!(second.packets_sent + 1, first.packets_sent);
        }
    }
}

#[test]
fn refusals_are_named_failures_not_timeouts() {
    let creds = user(Some(AuthProtocol::Sha256), Some(PrivProtocol::Aes128));
    let base = Ipv4Addr::new(127, 79, 100, 1);
    let server = serve(base, 1, fleet(&creds));
    let cases: Vec<(Credentials, &str)> = vec![
        (
            Credentials::new(
                b"printwatch",
                Some((AuthProtocol::Sha256, b"wrong-password")),
                Some((PrivProtocol::Aes128, b"priv-secret-1")),
                b"",
            )
            .unwrap(),
            "wrongDigest",
        ),
        (
            Credentials::new(
                b"nobody",
                Some((AuthProtocol::Sha256, b"auth-secret-1")),
                Some((PrivProtocol::Aes128, b"priv-secret-1")),
                b"",
            )
            .unwrap(),
            "unknownUserName",
        ),
        (
            Credentials::new(
                b"printwatch",
                Some((AuthProtocol::Sha256, b"auth-secret-1")),
                Some((PrivProtocol::Aes128, b"wrong-privacy")),
                b"",
            )
            .unwrap(),
            "decryptionError",
        ),
        (
            Credentials::new(b"printwatch", Some((AuthProtocol::Sha256, b"auth-secret-1")), None, b"")
                .unwrap(),
            "unsupportedSecLevel",
        ),
        (
            Credentials::new(
                b"printwatch",
                Some((AuthProtocol::Sha256, b"auth-secret-1")),
                Some((PrivProtocol::Aes128, b"priv-secret-1")),
                b"Jetdirect",
            )
            .unwrap(),
            "unknownContext",
        ),
    ];
    for (creds, kind) in cases {
        let started = Instant::now();
        let r = run(targets(base, 1, server.port, Some(&Arc::new(creds))), &EngineCache::new());
        assert_eq!(r[0].status(), kind, "{:?}", r[0].failures);
        assert!(r[0].failures.iter().all(|f| f.kind.name() == kind), "{:?}", r[0].failures);
        assert!(started.elapsed() < Duration::from_millis(250), "{kind} took {:?}", started.elapsed());
    }
}

#[test]
fn stale_engine_time_and_id_are_resynchronised() {
    let creds = user(Some(AuthProtocol::Sha1), Some(PrivProtocol::Aes128));
    let base = Ipv4Addr::new(127, 79, 101, 1);
    let server = serve(base, 2, fleet(&creds));
    let engines = EngineCache::new();
    let addr = |i: u32| SocketAddrV4::new(Ipv4Addr::from(u32::from(base) + i), server.port);
    // Printer 0: the right engine ID but boots from an older life (notInTimeWindow).
    let id0 = printwatch_core::sim::usm::engine_id(u32::from(base));
    engines.put(addr(0), EngineInfo { engine_id: id0, boots: 0, time: 5000, at: Instant::now() });
    // Printer 1: another engine's ID (the printer was replaced: unknownEngineID).
    engines.put(
        addr(1),
        EngineInfo { engine_id: b"\x80\x00\x00\x00\x04old".to_vec(), boots: 9, time: 9, at: Instant::now() },
    );
    let r = run(targets(base, 2, server.port, Some(&creds)), &engines);
    for t in &r {
        assert_eq!(t.status(), "ok", "{:?}", t.failures);
    }
    assert_eq!(engines.get(addr(0)).unwrap().boots, 1);
    assert_eq!(
        engines.get(addr(1)).unwrap().engine_id,
        printwatch_core::sim::usm::engine_id(u32::from(base) + 1)
    );
}
