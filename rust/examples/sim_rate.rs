//! The fleet simulator's UDP server alone: answers per second, on loopback.
//!
//! ```text
//! cargo run --release --example sim_rate [-- --seconds S --runs R --printers N --dynamics
//!                                            --catalogue DIR]
//! ```
//!
//! The server (one thread, [`Server::run_with`], batched `recvmmsg`/`sendmmsg`) serves N printers
//! (default 1,000) from every recording in `$PRINTWATCH_RECORDINGS` (default
//! `../shared/recordings/librenms/snmprec`), with per-printer identity. The client, on the main
//! thread, is batched too ([`sys::send_batch`] / [`sys::recv_batch`]): it keeps up to 512 v2c Get
//! requests (sysDescr.0, sysName.0, prtGeneralSerialNumber.1, sysUpTime.0) in flight,
//! spread over the printers, for S seconds (default 2) per run. The rate reported is the
//! server's own `answered` count per second of the run; the median of R runs (default 5) is
//! printed with the min..max. Everything stays on 127.0.0.0/8; every loop is bounded in time.
//!
//! `--catalogue DIR` (the built-in models, written by `printwatch simulate --export-snmprec DIR`
//! with their notes; those that answer v1 only are left out) adds a second fleet of N printers serving them: its runs alternate with
//! the recordings' runs, on the same request, and both medians are printed with their ratio
//! (catalogue / recordings; the issue's bar: no lower than 1 within noise), and the median of
//! each catalogue run's ratio to its recordings run (pairs in alternating order: ABBA...).

#![allow(clippy::cast_precision_loss)] // rates as f64

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use printwatch_core::sim::server::{Server, ServerConfig, SharedStats};
use printwatch_core::sim::Fleet;
use printwatch_core::udp::{self as sys, Outgoing, RecvBatch, SendBatch};

mod sim_bench;
use sim_bench::request;

const BASE: Ipv4Addr = Ipv4Addr::new(127, 30, 0, 1);
const IN_FLIGHT: usize = 512;
const BATCH: usize = 64;

struct Args {
    seconds: f64,
    runs: usize,
    printers: u32,
    dynamics: bool,
    catalogue: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args { seconds: 2.0, runs: 5, printers: 1000, dynamics: false, catalogue: None };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<f64>().ok()).expect("a number after the flag");
        match flag.as_str() {
            "--seconds" => a.seconds = value().clamp(0.1, 60.0),
            "--runs" => a.runs = value().clamp(1.0, 50.0) as usize,
            "--printers" => a.printers = value().clamp(1.0, 1_000_000.0) as u32,
            "--dynamics" => a.dynamics = true,
            "--catalogue" => {
                a.catalogue = Some(PathBuf::from(it.next().expect("a folder after --catalogue")));
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The calling thread's CPU time (user + system), from /proc/thread-self/stat in clock ticks of
/// 1/100 s (Linux's USER_HZ).
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<u64> = after_name.split(' ').skip(11).take(2).map(|f| f.parse().unwrap()).collect();
    (fields[0] + fields[1]) as f64 / 100.0
}

/// One run: S seconds of load; returns answers per second of the run and per CPU second of
/// the server's thread (the server's count).
fn run(fleet: &Arc<Fleet>, printers: u32, seconds: f64, req: &[u8]) -> (f64, f64) {
    let config = ServerConfig {
        base: BASE,
        count: printers,
        stride: 1,
        port: 0,
        duration: Some(Duration::from_secs(120)),
    };
    let server = Server::bind(config).expect("bind");
    let port = server.port().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(SharedStats::default());
    let (flag, counts, f) = (Arc::clone(&stop), Arc::clone(&stats), Arc::clone(fleet));
    let handle = std::thread::spawn(move || {
        let cpu0 = thread_cpu_s();
        server.run_with(&f, &flag, &counts).map(|()| thread_cpu_s() - cpu0)
    });

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    sys::set_buffers(sock.as_raw_fd(), 4 << 20).unwrap();
    let (mut rx, mut tx) = (RecvBatch::new(BATCH, 2048), SendBatch::default());
    let mut next = 0u32;
    let mut in_flight = 0usize;
    let started = Instant::now();
    let before = stats.snapshot().answered;
    let deadline = started + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let room = (IN_FLIGHT - in_flight.min(IN_FLIGHT)).min(BATCH);
        let msgs: Vec<Outgoing<'_>> = (0..room)
            .map(|_| {
                next = (next + 1) % printers;
                let to = SocketAddrV4::new(Ipv4Addr::from(u32::from(BASE) + next), port);
                Outgoing { data: req, from: Some(Ipv4Addr::LOCALHOST), to }
            })
            .collect();
        in_flight += sys::send_batch(sock.as_raw_fd(), &msgs, &mut tx).count;
        match sys::recv_batch(sock.as_raw_fd(), &mut rx) {
            Ok(n) => in_flight = in_flight.saturating_sub(n),
            // A timeout: some requests or replies were lost; start the window afresh.
            Err(_) => in_flight = 0,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let answered = stats.snapshot().answered - before;
    stop.store(true, Ordering::Relaxed);
    let cpu_s = handle.join().unwrap().unwrap();
    (answered as f64 / elapsed, answered as f64 / cpu_s.max(0.01))
}

/// The median, min and max of `rates`.
fn summary(mut rates: Vec<f64>) -> (f64, f64, f64) {
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

fn main() {
    let a = args();
    let dir = std::env::var_os("PRINTWATCH_RECORDINGS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/recordings/librenms/snmprec")),
        PathBuf::from,
    );
    let (recorded, n, _) = sim_bench::fleet(dir, a.dynamics);
    let recorded = Arc::new(recorded);
    let catalogue = a.catalogue.clone().map(|d| {
        let (models, n, _) = sim_bench::fleet(d, a.dynamics);
        (Arc::new(models), n)
    });
    let req = request();
    let (mut rates, mut catalogue_rates) = (Vec::new(), Vec::new());
    for k in 0..a.runs {
        // Which fleet runs first alternates too: the second run of a pair was measured a few
        // percent faster when both fleets were the same.
        if k % 2 == 1 {
            if let Some((models, _)) = &catalogue {
                catalogue_rates.push(run(models, a.printers, a.seconds, &req));
            }
            rates.push(run(&recorded, a.printers, a.seconds, &req));
        } else {
            rates.push(run(&recorded, a.printers, a.seconds, &req));
            if let Some((models, _)) = &catalogue {
                catalogue_rates.push(run(models, a.printers, a.seconds, &req));
            }
        }
    }
    let (median, min, max) = summary(rates.iter().map(|r| r.0).collect());
    let (per_cpu, _, _) = summary(rates.iter().map(|r| r.1).collect());
    println!(
        "sim_rate: {} printers from {n} recordings{}, {}-byte Get of 4 varbinds, {} in flight: \
         median {median:.0} answers/s over {} runs of {} s (min {min:.0}, max {max:.0}); \
         {per_cpu:.0} answers per CPU second of the server",
        a.printers,
        if a.dynamics { ", dynamics on" } else { "" },
        req.len(),
        IN_FLIGHT,
        a.runs,
        a.seconds,
    );
    if let Some((_, models)) = catalogue {
        // Each catalogue run over its recordings run: the machine's load changes less within a
        // pair than over the whole invocation.
        let (paired, _, _) = summary(catalogue_rates.iter().zip(&rates).map(|(c, r)| c.1 / r.1).collect());
        let (m, lo, hi) = summary(catalogue_rates.iter().map(|r| r.0).collect());
        let (m_cpu, _, _) = summary(catalogue_rates.iter().map(|r| r.1).collect());
        println!(
            "sim_rate: {} printers from {models} built-in models (those answering v2c), runs alternating with the above: \
             median {m:.0} answers/s (min {lo:.0}, max {hi:.0}); {m_cpu:.0} answers per CPU second; \
             catalogue / recordings = {:.2} (answers/s), {:.2} (per CPU second); median of \
             the runs' paired ratios per CPU second {paired:.2}",
            a.printers,
            m / median,
            m_cpu / per_cpu,
        );
    }
}
