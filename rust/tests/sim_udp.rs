//! The fleet UDP server on loopback: one wildcard socket answering as `127.77.0.1 ..+50`.
//!
//! Uses the first three `*.snmprec` files (by name) of `$PRINTWATCH_RECORDINGS`, or by default of
//! `$CARGO_MANIFEST_DIR/../shared/recordings/librenms/snmprec`. All traffic stays on loopback.
#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use printwatch_core::sim::server::{Server, ServerConfig, ServerStats};
use printwatch_core::sim::{Agent, Fleet, Recording};
use printwatch_core::snmp::{
    decode, Encoder, Message, OidBuf, Pdu, PduType, StandardPdu, Value, VarBind, Version,
};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 77, 0, 1);
const COUNT: u32 = 50;
const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";

fn recordings(n: usize) -> Vec<Recording> {
    let dir = std::env::var_os("PRINTWATCH_RECORDINGS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/recordings/librenms/snmprec")),
        PathBuf::from,
    );
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("recordings directory {} is missing ({e}); set PRINTWATCH_RECORDINGS", dir.display())
    });
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "snmprec"))
        .collect();
    paths.sort();
    let sys_descr = OidBuf::parse(SYS_DESCR).unwrap();
    let recs: Vec<Recording> = paths
        .iter()
        .map(|p| {
            Recording::parse_lenient(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).0
        })
        .filter(|r| r.get(sys_descr.as_oid()).is_some())
        .take(n)
        .collect();
    assert_eq!(recs.len(), n, "need {n} recordings with a sysDescr.0 in {}", dir.display());
    recs
}

fn get_request(request_id: i32, oid: &OidBuf) -> Vec<u8> {
    let pdu = StandardPdu {
        pdu_type: PduType::Get,
        request_id,
        error_status: 0,
        error_index: 0,
        varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::Null }],
    };
    let msg = Message { version: Version::V2C, community: b"public", pdu: Pdu::Standard(pdu) };
    Encoder::new().encode(&msg).expect("request encodes").to_vec()
}

struct Running {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<std::io::Result<ServerStats>>,
}

fn start(fleet: Fleet) -> Running {
    let config = ServerConfig {
        base: BASE,
        count: COUNT,
        stride: 1,
        port: 0,
        // A safety net: the server stops by itself even if a failing test never sets `stop`.
        duration: Some(Duration::from_secs(30)),
    };
    let server = Server::bind(config).expect("bind the fleet server");
    let port = server.port().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || server.run(&fleet, &flag));
    Running { port, stop, handle }
}

fn client() -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    sock
}

/// The next datagram within the socket's timeout, with its source.
fn receive(sock: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 65_536];
    match sock.recv_from(&mut buf) {
        Ok((n, from)) => Some((buf[..n].to_vec(), from)),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => None,
        Err(e) => panic!("recv: {e}"),
    }
}

#[test]
fn fleet_answers_from_each_printer_address() {
    let recs = recordings(3);
    let sys_descr = OidBuf::parse(SYS_DESCR).unwrap();
    let server = start(Fleet::new(recs.iter().cloned().map(Agent::new)));
    let sock = client();
    let mut sent = 0u64;

    for (k, index) in [0u32, 1, 2, 25, 48, COUNT - 1].into_iter().enumerate() {
        let addr = Ipv4Addr::from(u32::from(BASE) + index);
        let request_id = 1000 + k as i32;
        sock.send_to(&get_request(request_id, &sys_descr), SocketAddrV4::new(addr, server.port)).unwrap();
        sent += 1;
        let (reply, from) =
            receive(&sock).unwrap_or_else(|| panic!("no reply from printer {index} ({addr})"));
        assert_eq!(from, SocketAddr::V4(SocketAddrV4::new(addr, server.port)), "reply source");
        let msg = decode(&reply).expect("reply decodes");
        assert_eq!(msg.version, Version::V2C);
        let Pdu::Standard(pdu) = msg.pdu else { panic!("not a standard PDU") };
        assert_eq!(pdu.pdu_type, PduType::Response);
        assert_eq!(pdu.request_id, request_id);
        assert_eq!(pdu.error_status, 0);
        assert_eq!(pdu.varbinds.len(), 1);
        assert_eq!(pdu.varbinds[0].oid, sys_descr.as_oid());
        let want = &recs[index as usize % recs.len()];
        assert_eq!(
            pdu.varbinds[0].value,
            want.get(sys_descr.as_oid()).unwrap().value(),
            "printer {index}: not recording {}'s sysDescr",
            index as usize % recs.len()
        );
    }

    // Outside the fleet (just past the end, and just before the start): no reply.
    for addr in [Ipv4Addr::from(u32::from(BASE) + COUNT), Ipv4Addr::new(127, 77, 0, 0)] {
        sock.send_to(&get_request(7, &sys_descr), SocketAddrV4::new(addr, server.port)).unwrap();
        sent += 1;
        assert!(receive(&sock).is_none(), "{addr} is outside the fleet but answered");
    }

    // Garbage and a wrong community: no reply, and the server keeps serving.
    let garbage: [&[u8]; 3] = [b"", b"\x30\x82\xff\xff garbage", &[0xff; 1500]];
    for g in garbage {
        sock.send_to(g, SocketAddrV4::new(BASE, server.port)).unwrap();
        sent += 1;
    }
    let wrong_community = {
        let pdu = StandardPdu {
            pdu_type: PduType::Get,
            request_id: 9,
            error_status: 0,
            error_index: 0,
            varbinds: vec![VarBind { oid: sys_descr.as_oid(), value: Value::Null }],
        };
        let msg = Message { version: Version::V2C, community: b"private", pdu: Pdu::Standard(pdu) };
        Encoder::new().encode(&msg).unwrap().to_vec()
    };
    sock.send_to(&wrong_community, SocketAddrV4::new(BASE, server.port)).unwrap();
    sent += 1;
    assert!(receive(&sock).is_none(), "garbage was answered");
    let addr = Ipv4Addr::from(u32::from(BASE) + 7);
    sock.send_to(&get_request(4242, &sys_descr), SocketAddrV4::new(addr, server.port)).unwrap();
    sent += 1;
    let (reply, from) = receive(&sock).expect("still serving after garbage");
    assert_eq!(from, SocketAddr::V4(SocketAddrV4::new(addr, server.port)));
    let Pdu::Standard(pdu) = decode(&reply).unwrap().pdu else { panic!("not a standard PDU") };
    assert_eq!(pdu.request_id, 4242);

    // Stop: serve() returns promptly with consistent stats.
    let stopped_at = Instant::now();
    server.stop.store(true, Ordering::Relaxed);
    let stats = server.handle.join().expect("server thread").expect("server ran");
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_millis(200), "stop took {took:?}");
    assert_eq!(stats.received, sent, "{stats:?}");
    assert_eq!(stats.answered, 7, "{stats:?}");
    assert_eq!(stats.dropped, sent - 7, "{stats:?}");
    assert_eq!(stats.send_errors, 0, "{stats:?}");
}

#[test]
fn duration_stops_the_server_by_itself() {
    let recs = recordings(1);
    let fleet = Fleet::new(recs.into_iter().map(Agent::new));
    let config =
        ServerConfig { base: BASE, count: 1, stride: 1, port: 0, duration: Some(Duration::from_millis(100)) };
    let started = Instant::now();
    let stats = printwatch_core::sim::server::serve(&fleet, &config, &AtomicBool::new(false)).unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(100) && took < Duration::from_millis(400), "{took:?}");
    assert_eq!(stats, ServerStats::default());
}

#[test]
fn non_loopback_or_empty_fleets_are_refused() {
    let stop = AtomicBool::new(true);
    let fleet = Fleet::new(recordings(1).into_iter().map(Agent::new));
    let bad = [
        ServerConfig { base: Ipv4Addr::new(10, 0, 0, 1), count: 1, stride: 1, port: 0, duration: None },
        ServerConfig {
            base: Ipv4Addr::new(127, 255, 255, 250),
            count: 10,
            stride: 1,
            port: 0,
            duration: None,
        },
        ServerConfig { base: BASE, count: 0, stride: 1, port: 0, duration: None },
    ];
    for config in bad {
        let err = printwatch_core::sim::server::serve(&fleet, &config, &stop).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{config:?}");
    }
    let config = ServerConfig { base: BASE, count: 1, stride: 1, port: 0, duration: None };
    let err = printwatch_core::sim::server::serve(&Fleet::default(), &config, &stop).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(config.index_of(BASE), Some(0));
    assert_eq!(config.index_of(Ipv4Addr::new(127, 77, 0, 2)), None);
    assert_eq!(config.address(0), Some(BASE));
    assert_eq!(config.address(1), None);
}
