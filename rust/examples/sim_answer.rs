//! The fleet simulator's work per answer, without the sockets: CPU nanoseconds per request.
//!
//! ```text
//! cargo run --release --example sim_answer [-- --catalogue DIR --dynamics --rounds R]
//! ```
//!
//! The same fleets and request as `sim_rate` (1,000 printers, identity on: every recording in
//! `$PRINTWATCH_RECORDINGS`, and with `--catalogue DIR` the built-in models written by
//! `printwatch simulate --export-snmprec DIR`; those that answer v1 only are left out, as they
//! drop the v2c request unanswered), but each request is answered by calling
//! [`Fleet::respond`] directly, printer after printer, 200,000 requests a round; rounds alternate
//! between the fleets and the median of R rounds (default 7) is printed with the ratio, and the
//! median of each models round's ratio to its recordings round (the order alternating
//! within pairs: ABBA...). Time is
//! the thread's CPU time (`/proc/thread-self/schedstat`, in nanoseconds), so that other processes on a busy machine
//! count less than in wall-clock time (which is printed too). What
//! it leaves out is the kernel's part (the UDP send and receive), the same for both fleets, so
//! the ratio here is the one to improve: `sim_rate` says what it does to answers per CPU second.

#![allow(clippy::cast_precision_loss)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

use printwatch_core::sim::Fleet;

mod sim_bench;
use sim_bench::{fleet, request};

const PRINTERS: u32 = 1000;
const PER_ROUND: u32 = 200_000;
const BASE: u32 = 0x7f1e_0001;

/// The calling thread's CPU time in nanoseconds (the first field of
/// `/proc/thread-self/schedstat`, the time it ran).
fn thread_cpu_ns() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat");
    stat.split(' ').next().and_then(|ns| ns.parse::<u64>().ok()).expect("a schedstat line") as f64
}

/// CPU and wall-clock nanoseconds per answered request over one round; the bytes answered, to
/// keep the work.
fn round(fleet: &Fleet, req: &[u8]) -> (f64, f64, usize) {
    let mut out = Vec::with_capacity(1500);
    let mut bytes = 0;
    let cpu0 = thread_cpu_ns();
    let started = Instant::now();
    for k in 0..PER_ROUND {
        let index = k % PRINTERS;
        let address = Ipv4Addr::from(BASE + index);
        fleet.respond(index as usize, address, started, u64::from(k), req, &mut out);
        bytes += out.len();
    }
    let wall = started.elapsed().as_nanos() as f64;
    let per = f64::from(PER_ROUND);
    ((thread_cpu_ns() - cpu0) / per, wall / per, bytes)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let dynamics = argv.iter().any(|a| a == "--dynamics");
    let flag = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).cloned();
    let rounds = flag("--rounds").and_then(|r| r.parse::<usize>().ok()).unwrap_or(7).clamp(1, 50);
    let dir = std::env::var_os("PRINTWATCH_RECORDINGS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/recordings/librenms/snmprec")),
        PathBuf::from,
    );
    let (recorded, _, left_out) = fleet(dir, dynamics);
    let (models, models_left_out) = match flag("--catalogue").map(|d| fleet(PathBuf::from(d), dynamics)) {
        Some((m, _, left_out)) => (Some(m), left_out),
        None => (None, 0),
    };
    if left_out + models_left_out > 0 {
        println!(
            "sim_answer: left out, as they answer v1 only: {left_out} recordings, {models_left_out} built-in models"
        );
    }
    let req = request();
    let (mut a, mut b, mut wall_a, mut wall_b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut bytes_a, mut bytes_b) = (0, 0);
    for k in 0..rounds {
        // Which fleet goes first alternates (ABBA...), so that neither gains from its place.
        for models_now in if k % 2 == 0 { [false, true] } else { [true, false] } {
            match (models_now, &models) {
                (false, _) => {
                    let (ns, wall, n) = round(&recorded, &req);
                    a.push(ns);
                    wall_a.push(wall);
                    bytes_a = n;
                }
                (true, Some(m)) => {
                    let (ns, wall, n) = round(m, &req);
                    b.push(ns);
                    wall_b.push(wall);
                    bytes_b = n;
                }
                (true, None) => {}
            }
        }
    }
    let (ma, wa) = (median(a.clone()), median(wall_a));
    println!(
        "sim_answer: recordings {ma:.0} CPU ns an answer ({wa:.0} wall-clock ns; {} bytes a reply){}",
        bytes_a / PER_ROUND as usize,
        if dynamics { ", dynamics on" } else { "" }
    );
    if models.is_some() {
        // Each models round over its recordings round: the load of the machine changes less
        // within a pair than over the whole run.
        let paired = median(a.iter().zip(&b).map(|(x, y)| y / x).collect());
        let (mb, wb) = (median(b.clone()), median(wall_b));
        println!(
            "sim_answer: built-in models {mb:.0} CPU ns an answer ({wb:.0} wall-clock ns; {} bytes a \
             reply); models / recordings = {:.2} (CPU), {:.2} (wall clock); median of the \
             rounds' paired CPU ratios {paired:.2}",
            bytes_b / PER_ROUND as usize,
            mb / ma,
            wb / wa,
        );
    }
}
