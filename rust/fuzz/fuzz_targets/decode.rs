//! Fuzz target for the message decoder: it must never panic or hang, and whatever it accepts
//! must re-encode to something that decodes to the same message (minimal BER is a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use printwatch_core::snmp::{decode, Encoder, Pdu, PduType};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode(data) else { return };
    if matches!(&msg.pdu, Pdu::Standard(p) if p.pdu_type == PduType::Set) {
        return; // decoded, but printwatch refuses to encode a SET
    }
    let mut enc = Encoder::new();
    let bytes = enc.encode(&msg).expect("a decoded message re-encodes").to_vec();
    let again = decode(&bytes).expect("our own encoding decodes");
    assert_eq!(again, msg, "decode(encode(m)) == m");
    let mut enc2 = Encoder::new();
    assert_eq!(enc2.encode(&again).unwrap(), &bytes[..], "encoding is a fixed point");
});
