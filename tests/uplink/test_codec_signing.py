"""The wire format: compressed canonical JSON inside an Ed25519-signed envelope."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printwatch.uplink.codec import DICTIONARY, CodecError, decode_payload, encode_payload
from printwatch.uplink.signing import HEADER_BYTES, Identity, SignatureError, open_envelope, seal

from tests.support.examples import examples

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
ALICE = Identity.generate()
MALLORY = Identity.generate()


def keys(*identities: Identity) -> Any:
    table = {i.key_id: i.public_raw for i in identities}
    return table.get


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=8))
def test_payload_round_trips_and_is_canonical(message: dict[str, Any]) -> None:
    data = encode_payload(message)
    assert decode_payload(data) == message
    assert encode_payload(dict(reversed(list(message.items())))) == data  # same bytes, any key order


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(min_size=0, max_size=300), st.integers(0, 10_000), st.integers(1, 255))
def test_any_changed_byte_breaks_the_signature(payload: bytes, where: int, flip: int) -> None:
    envelope = bytearray(seal(ALICE, payload))
    assert open_envelope(bytes(envelope), keys(ALICE)) == (ALICE.key_id, payload)
    envelope[where % len(envelope)] ^= flip
    with pytest.raises(SignatureError):
        open_envelope(bytes(envelope), keys(ALICE))


def test_unknown_key_and_a_key_that_claims_another_id_are_refused() -> None:
    envelope = seal(MALLORY, b"x")
    with pytest.raises(SignatureError, match="unknown key"):
        open_envelope(envelope, keys(ALICE))
    forged = envelope[:3] + ALICE.key_id + envelope[3 + 8 :]  # Mallory's signature under Alice's id
    with pytest.raises(SignatureError, match="bad signature"):
        open_envelope(forged, keys(ALICE, MALLORY))
    for short in (b"", b"PW", seal(ALICE, b"")[: HEADER_BYTES - 1]):
        with pytest.raises(SignatureError, match="shorter than its header"):
            open_envelope(short, keys(ALICE))
    with pytest.raises(SignatureError, match="magic"):
        open_envelope(b"XX" + seal(ALICE, b"")[2:], keys(ALICE))


def _deflate(raw: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return c.compress(raw) + c.flush()


def test_garbage_bombs_truncation_and_non_objects_are_codec_errors() -> None:
    with pytest.raises(CodecError, match="does not decompress"):
        decode_payload(b"\xff\xff\xff garbage")
    bomb = _deflate(b"[" + b"0," * 5_000_000 + b"0]")
    assert len(bomb) < 20_000
    with pytest.raises(CodecError, match="inflates to more than 1000000 bytes"):
        decode_payload(bomb, max_bytes=1_000_000)
    good = encode_payload({"a": 1})
    with pytest.raises(CodecError, match="truncated"):
        decode_payload(good[:-2])
    with pytest.raises(CodecError, match="after the end"):
        decode_payload(good + b"\x00")
    with pytest.raises(CodecError, match="not JSON"):
        decode_payload(_deflate(b"{nope"))
    with pytest.raises(CodecError, match="JSON list, not an object"):
        decode_payload(_deflate(b"[1]"))


def test_key_file_is_made_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "k" / "uplink.key"
    made = Identity.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Identity.load_or_create(path).public_raw == made.public_raw
    path.chmod(0o644)
    with pytest.raises(PermissionError, match=r"uplink\.key: the uplink key must be mode 0600"):
        Identity.load_or_create(path)
    path.chmod(0o600)
    path.write_bytes(b"not a key")
    with pytest.raises(ValueError, match="not a private key"):
        Identity.load_or_create(path)
