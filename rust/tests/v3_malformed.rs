//! Malformed SNMPv3 input never panics: every truncation and every single-byte change of
//! messages at each security level, and random bytes (proptest), through the v3 decoder, USM
//! authentication and decryption, the scopedPDU decoder, the simulated agent's v3 side, and
//! the engine's receive path. What must be rejected is: truncations are decode errors, and a
//! changed byte in an authenticated message never authenticates.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use printwatch_core::engine::v3::{EngineInfo, V3State};
use printwatch_core::sim::SimUsm;
use printwatch_core::snmp::usm::{AuthProtocol, Credentials, PrivProtocol};
use printwatch_core::snmp::v3::{self, secure, ScopedPdu};
use printwatch_core::snmp::{OidBuf, PduType, StandardPdu, Value, VarBind};
use proptest::prelude::*;

const ENGINE: &[u8] = b"\x80\x00\x1f\x88\x05pw\x7f\x00\x00\x01";

/// The users, made once (each password costs a megabyte of hashing).
fn users() -> Vec<Arc<Credentials>> {
    static USERS: OnceLock<Vec<Arc<Credentials>>> = OnceLock::new();
    USERS.get_or_init(make_users).clone()
}

fn make_users() -> Vec<Arc<Credentials>> {
    let a = &b"auth-password"[..];
    let p = &b"priv-password"[..];
    vec![
        Arc::new(Credentials::new(b"u", None, None, b"").unwrap()),
        Arc::new(Credentials::new(b"u", Some((AuthProtocol::Md5, a)), None, b"").unwrap()),
        Arc::new(
            Credentials::new(b"u", Some((AuthProtocol::Sha1, a)), Some((PrivProtocol::Des, p)), b"").unwrap(),
        ),
        Arc::new(
            Credentials::new(b"u", Some((AuthProtocol::Sha256, a)), Some((PrivProtocol::Aes128, p)), b"ctx")
                .unwrap(),
        ),
    ]
}

fn message(creds: &Credentials, pdu_type: PduType) -> Vec<u8> {
    let oid = OidBuf::parse("1.3.6.1.2.1.1.5.0").unwrap();
    let keys = creds.localize(ENGINE);
    let scoped = ScopedPdu {
        context_engine_id: ENGINE,
        context_name: &creds.context,
        pdu: StandardPdu {
            pdu_type,
            request_id: 42,
            error_status: 0,
            error_index: 0,
            varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::OctetString(b"printer") }],
        },
    };
    let sec = secure::Security { user: &creds.user, engine_id: ENGINE, boots: 1, time: 0, keys: Some(&keys) };
    let mut out = Vec::new();
    secure::wrap(&mut out, 42, 1500, true, &sec, &scoped, 1).unwrap();
    out
}

/// Runs every v3 entry point on `data`; returns whether it authenticated (for authenticated
/// messages) and whether the engine took it as a response.
fn exercise(creds: &Arc<Credentials>, data: &[u8]) -> (bool, bool) {
    let keys = creds.localize(ENGINE);
    let mut authenticated = false;
    if let Ok(msg) = v3::decode(data) {
        authenticated = msg.is_authenticated() && secure::authenticate(data, &msg, &keys).is_ok();
        if let Ok(plain) = secure::plaintext(&msg, Some(&keys)) {
            let _ = secure::open_scoped(&plain, msg.is_encrypted());
        }
    }
    let sim = SimUsm::new(Arc::clone(creds));
    let mut out = Vec::new();
    let _ = sim.respond(0x7f00_0001, Instant::now(), data, &mut out, b"public", |_, o| {
        o.extend_from_slice(b"\x30\x00");
        true
    });
    let info = EngineInfo { engine_id: ENGINE.to_vec(), boots: 1, time: 0, at: Instant::now() };
    let mut state = V3State::new(Arc::clone(creds), Some(info), 0);
    let mut plain = Vec::new();
    let response = match v3::decode(data) {
        Ok(msg) => matches!(
            state.receive(data, &msg, 0, &mut plain, Instant::now()),
            printwatch_core::engine::v3::Incoming::Response(_)
        ),
        Err(_) => false,
    };
    (authenticated, response)
}

#[test]
fn every_truncation_and_byte_change_is_handled() {
    for creds in users() {
        let good = message(&creds, PduType::Response);
        let (auth_ok, took) = exercise(&creds, &good);
        assert_eq!(auth_ok, creds.auth.is_some());
        assert!(took, "the engine takes the intact response");
        for cut in 0..good.len() {
            assert!(v3::decode(&good[..cut]).is_err(), "cut at {cut}");
            exercise(&creds, &good[..cut]);
        }
        for i in 0..good.len() {
            for delta in [1u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= delta;
                let (auth_ok, took) = exercise(&creds, &bad);
                if creds.auth.is_some() {
                    // Any changed byte, the digest itself included, fails authentication.
                    assert!(!auth_ok || bad == good, "byte {i} ^ {delta:#x} authenticated");
                    assert!(!took || bad == good, "byte {i} ^ {delta:#x} taken as a response");
                }
            }
        }
        // Requests through the simulator: intact ones are answered.
        let request = message(&creds, PduType::Get);
        exercise(&creds, &request);
    }
}

/// Writes valid v3 messages (each user, request and response, and a discovery probe) as seeds
/// for the `decode_v3` fuzz target: `cargo test --test v3_malformed -- --ignored`
/// (`make fuzz-v3` does it). The fuzz target's user is `users()[2]` (SHA-1 + DES).
#[test]
#[ignore = "writes the fuzz corpus seeds; run by make fuzz-v3"]
fn write_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rust/fuzz/corpus/decode_v3");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, creds) in users().iter().enumerate() {
        for (kind, pdu_type) in
            [("get", PduType::Get), ("response", PduType::Response), ("report", PduType::Report)]
        {
            std::fs::write(dir.join(format!("seed-{i}-{kind}.bin")), message(creds, pdu_type)).unwrap();
        }
    }
    let mut state = V3State::new(Arc::clone(&users()[2]), None, 0);
    let oid = OidBuf::parse("1.3.6.1.2.1.1.5.0").unwrap();
    let pdu = StandardPdu {
        pdu_type: PduType::Get,
        request_id: 7,
        error_status: 0,
        error_index: 0,
        varbinds: vec![VarBind { oid: oid.as_oid(), value: Value::Null }],
    };
    let mut probe = Vec::new();
    assert!(state.encode(pdu, &mut probe, Instant::now()).unwrap());
    std::fs::write(dir.join("seed-discovery.bin"), probe).unwrap();
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        for creds in users() {
            exercise(&creds, &data);
        }
    }

    #[test]
    fn random_changes_to_a_message_never_panic(at in 0usize..200, bytes in proptest::collection::vec(any::<u8>(), 1..8)) {
        for creds in users() {
            let mut m = message(&creds, PduType::Response);
            let at = at % m.len();
            let end = (at + bytes.len()).min(m.len());
            m[at..end].copy_from_slice(&bytes[..end - at]);
            exercise(&creds, &m);
        }
    }
}
