//! The ICMP sweep on loopback, where the kernel answers every echo request to 127.0.0.0/8.
//! Skipped (with a message) when this process may open no ICMP socket.

#![cfg(target_os = "linux")]

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use printwatch_core::sweep::icmp::{Found, IcmpSweep, SweepStats};
use printwatch_core::sweep::{available_kinds, expand, SweepConfig};
use printwatch_core::worker::Publish;

#[derive(Default)]
struct Keep(Vec<Found>);

impl Publish<Found, SweepStats> for Keep {
    fn publish(&mut self, found: Vec<Found>, _: &SweepStats) {
        self.0.extend(found);
    }
}

fn config(max_pps: u32) -> SweepConfig {
    SweepConfig {
        timeout: Duration::from_millis(500),
        retries: 0,
        max_pps,
        limit: Some(Duration::from_secs(20)),
    }
}

#[test]
fn every_loopback_address_answers_once_with_each_socket_kind() {
    let kinds = available_kinds();
    if kinds.is_empty() {
        eprintln!(
            "skipped: no ICMP socket may be opened here (no CAP_NET_RAW, ping_group_range excludes us)"
        );
        return;
    }
    let targets = expand(&["127.77.0.0/24"], &["127.77.0.128/27"], 1000).unwrap();
    assert_eq!(targets.len(), 254 - 32);
    for kind in kinds {
        let mut sweep = IcmpSweep::new(config(20_000), kind, targets.clone()).unwrap();
        let mut keep = Keep::default();
        let stats = sweep.run(&AtomicBool::new(false), &mut keep).unwrap();
        let mut found: Vec<_> = keep.0.iter().map(|f| f.addr).collect();
        found.sort_unstable();
        assert_eq!(found, targets, "{kind:?}");
        assert_eq!((stats.probed, stats.alive, stats.packets_sent), (222, 222, 222), "{kind:?} {stats:?}");
        assert_eq!(stats.bytes_sent, 222 * 16);
        assert!(!stats.limited && !stats.cancelled);
    }
}

#[test]
fn the_packet_rate_cap_holds() {
    let Some(&kind) = available_kinds().first() else {
        eprintln!("skipped: no ICMP socket may be opened here");
        return;
    };
    // 400 probes at 2,000 a second: at least 0.195 s (one 5 ms burst may go at once).
    let targets = expand(&["127.78.0.0/23"], &[], 1000).unwrap()[..400].to_vec();
    let mut sweep = IcmpSweep::new(config(2_000), kind, targets).unwrap();
    let started = Instant::now();
    let stats = sweep.run(&AtomicBool::new(false), &mut Keep::default()).unwrap();
    assert_eq!(stats.alive, 400);
    assert!(started.elapsed() >= Duration::from_millis(195), "{:?}", started.elapsed());
}

#[test]
fn a_time_limit_ends_the_sweep_and_keeps_what_was_found() {
    let Some(&kind) = available_kinds().first() else {
        eprintln!("skipped: no ICMP socket may be opened here");
        return;
    };
    let targets = expand(&["127.79.0.0/22"], &[], 2000).unwrap();
    let limited = SweepConfig { limit: Some(Duration::from_millis(200)), ..config(1_000) };
    let mut sweep = IcmpSweep::new(limited, kind, targets).unwrap();
    let mut keep = Keep::default();
    let started = Instant::now();
    let stats = sweep.run(&AtomicBool::new(false), &mut keep).unwrap();
    // Loose bounds on time (these cores are shared); the cap bounds what could be sent.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(stats.limited);
    assert!((1..=206).contains(&stats.probed), "{stats:?}");
    assert_eq!(keep.0.len() as u64, stats.alive);
    assert!(stats.alive >= 1, "{stats:?}");
}
