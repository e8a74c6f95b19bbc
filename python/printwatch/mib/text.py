"""Text as printers send it, decoded to clean text.

Printers send DisplayStrings in ASCII, Latin-1, UTF-8 or UTF-16 (with or without a byte-order
mark), padded with NULs, sometimes as text that spells its own bytes in hex
(``"426C61636B20546F6E6572"``), and with vendor prefixes on supply names.

The decoders keep a bounded cache (a fleet repeats the same names and descriptions).

Error handling: nothing here raises on any input; what cannot be decoded as text comes back as
Latin-1 (every byte is a character), with control characters dropped.
"""

from __future__ import annotations

import functools
import re
import string

_HEX = frozenset(string.hexdigits)
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def _utf16(data: bytes) -> str | None:
    """UTF-16 when the bytes say so: a byte-order mark, or a NUL in every other byte."""
    while data.endswith(b"\x00\x00"):
        data = data[:-2]
    for bom, codec in _UTF16_BOMS.items():
        if data.startswith(bom):
            return data[2:].decode(codec, errors="replace")
    if len(data) >= 4 and len(data) % 2 == 0:
        evens, odds = data[0::2], data[1::2]
        if not any(odds) and all(evens):
            return data.decode("utf-16-le", errors="replace")
        if not any(evens) and all(odds):
            return data.decode("utf-16-be", errors="replace")
    return None


def decode_bytes(data: bytes, *, collapse: bool = True) -> str:
    """Bytes → text: UTF-16 if it looks so, else UTF-8 up to the first NUL, else Latin-1;
    control characters dropped, whitespace collapsed. Never raises."""
    text = _utf16(data)
    if text is None:
        data = data.split(b"\x00", 1)[0]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return clean(text, collapse=collapse)


def clean(text: str, *, collapse: bool = True) -> str:
    """Control characters dropped, runs of whitespace made one space (unless ``collapse`` is
    false: then only line breaks and tabs become spaces), ends stripped."""
    text = _CONTROL.sub("", text.replace("\x00", "").replace("\t", " ").replace("\r", " ").replace("\n", " "))
    return (_SPACES.sub(" ", text) if collapse else text).strip()


def unhex(text: str) -> str | None:
    """Text that spells bytes in hex (an even number of hex digits, at least 4 bytes, optional
    ``0x`` and separators) whose bytes are printable UTF-8, mostly letters → that text; else
    None (so serial numbers made of hex digits stay as they are)."""
    compact = re.sub(r"[\s:]", "", text)
    if compact[:2].lower() == "0x":
        compact = compact[2:]
    if len(compact) < 8 or len(compact) % 2 or not set(compact) <= _HEX:
        return None
    raw = bytes.fromhex(compact).rstrip(b"\x00")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() for c in decoded)
    if not decoded or not decoded.isprintable() or letters < len(decoded) / 2:
        return None
    return clean(decoded)


@functools.lru_cache(maxsize=8192)
def decode_text(value: object, *, collapse: bool = True) -> str | None:
    """A varbind value as clean text: bytes decoded (see :func:`decode_bytes`), text cleaned,
    numbers as decimal; None for no value or empty text."""
    if value is None:
        return None
    if isinstance(value, bytes):
        text = decode_bytes(value, collapse=collapse)
    elif isinstance(value, str):
        text = clean(value, collapse=collapse)
    elif isinstance(value, int):
        text = str(value)
    else:
        return None
    return text or None


@functools.lru_cache(maxsize=8192)
def decode_name(value: object) -> str | None:
    """A name (supply, tray, colorant): :func:`decode_text`, then hex spelled as text decoded."""
    text = decode_text(value)
    if text is None:
        return None
    return unhex(text) or text
