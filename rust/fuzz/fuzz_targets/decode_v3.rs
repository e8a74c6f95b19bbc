//! Fuzz target for the SNMPv3 path: the v3 decoder, USM authentication and decryption, the
//! scopedPDU decoder, and the simulated agent's v3 side must never panic or hang on any input.
//! Its user is the one `rust/tests/v3_malformed.rs` writes seed messages for (`make fuzz-v3`).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use printwatch_core::sim::SimUsm;
use printwatch_core::snmp::usm::{AuthProtocol, Credentials, LocalKeys, PrivProtocol};
use printwatch_core::snmp::v3::{self, secure};

fn keys() -> &'static (LocalKeys, SimUsm) {
    static KEYS: OnceLock<(LocalKeys, SimUsm)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let creds = Credentials::new(
            b"u",
            Some((AuthProtocol::Sha1, b"auth-password")),
            Some((PrivProtocol::Des, b"priv-password")),
            b"",
        )
        .expect("valid credentials");
        let local = creds.localize(b"\x80\x00\x1f\x88\x05pw\x7f\x00\x00\x01");
        (local, SimUsm::new(Arc::new(creds)))
    })
}

fuzz_target!(|data: &[u8]| {
    let (local, sim) = keys();
    if let Ok(msg) = v3::decode(data) {
        let _ = secure::authenticate(data, &msg, local);
        if let Ok(plain) = secure::plaintext(&msg, Some(local)) {
            let _ = secure::open_scoped(&plain, msg.is_encrypted());
        }
    }
    let mut out = Vec::new();
    let _ = sim.respond(0x7f00_0001, Instant::now(), data, &mut out, b"public", |_, _| false);
});
