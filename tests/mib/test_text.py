"""Strings as printers send them → clean text (printwatch.mib.text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from printwatch.mib.text import decode_bytes, decode_name, decode_text, unhex


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"Black Toner", "Black Toner"),
        (b"Black Toner\x00\x00\x00", "Black Toner"),
        (b"Black Toner\x00garbage", "Black Toner"),
        ("Cyan Toner".encode("utf-16-le"), "Cyan Toner"),
        ("Cyan Toner".encode("utf-16-be"), "Cyan Toner"),
        ("Magenta".encode("utf-16"), "Magenta"),  # with a byte-order mark
        ("Yellow\x00".encode("utf-16-le") + b"\x00\x00", "Yellow"),
        ("トナー ブラック".encode(), "トナー ブラック"),
        ("Tóner Negro".encode("latin-1"), "Tóner Negro"),
        ("Tóner Negro".encode(), "Tóner Negro"),
        (b"  Tray\t 1 \r\n", "Tray 1"),
        (b"\x1b[0mDrum\x07", "[0mDrum"),
        (b"", ""),
    ],
)
def test_decode_bytes(raw: bytes, text: str) -> None:
    assert decode_bytes(raw) == text


def test_hex_spelled_as_text_is_decoded_in_names_only() -> None:
    assert unhex("426C61636B20546F6E6572") == "Black Toner"
    assert unhex("0x426c61636b20546f6e6572") == "Black Toner"
    assert unhex("42:6C:61:63:6B") == "Black"
    assert decode_name(b"426C61636B20546F6E657200") == "Black Toner"
    # Serial-like hex digits that are not text stay as they are.
    assert unhex("1234567890AB") is None
    assert unhex("ABCD") is None  # too short to be sure
    assert decode_name(b"CF410A") == "CF410A"
    assert decode_text(b"426C61636B") == "426C61636B"  # only names are un-hexed


def test_decode_text_kinds() -> None:
    assert decode_text(None) is None
    assert decode_text(b"\x00\x00") is None
    assert decode_text(42) == "42"
    assert decode_text(" spaced  out ") == "spaced out"


@given(st.binary(max_size=300))
def test_garbage_bytes_never_raise(data: bytes) -> None:
    text = decode_bytes(data)
    assert isinstance(text, str)
    assert "\x00" not in text
    assert text == text.strip()


@given(st.text(max_size=200))
def test_garbage_text_never_raises(text: str) -> None:
    out = decode_name(text)
    assert out is None or (isinstance(out, str) and out == out.strip())
