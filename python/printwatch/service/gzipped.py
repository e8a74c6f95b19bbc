"""A text compressed once and sent many times behind a fresh head, as one gzip member.

``/metrics`` is a few small families that change at every request (the appliance's) and the
fleet's families, megabytes at 10,000 printers, that change once a cycle. :class:`Deflated`
compresses the large part once (raw DEFLATE, RFC 1951, with its CRC-32 and length);
:func:`gzip_member` then makes a whole gzip member (RFC 1952) of a head and that part without
compressing the part again: the head's DEFLATE blocks end with a full flush (byte-aligned, not
final, no reference beyond them), the part's blocks follow as they are, and the trailer's CRC-32
of head and part together is the two CRCs combined (:func:`crc32_combine`, zlib's method, the
part's share of it computed once in :class:`Deflated`). One member, so every gzip reader takes
it (some stop after the first of several members).

Error handling: none needed; the inputs are the appliance's own text.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable, Iterator

#: zlib's level for the large part: the fleet's families are repetitive labels; at 10,000 of
#: the tests' devices (4.85 MB) level 1 gave 220 KB in 8.9 ms, level 6 187 KB in 22.3 ms.
LEVEL = 1
#: The gzip header (RFC 1952 2.3): magic, DEFLATE, no flags, no time, no extra flags, unknown OS.
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_POLY = 0xEDB88320  # CRC-32's polynomial, reflected


def _times(matrix: list[int], vector: int) -> int:
    """A GF(2) 32x32 matrix (its columns as ints) times a vector."""
    out, k = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[k]
        vector >>= 1
        k += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, column) for column in matrix]


def zeros_operator(length: int) -> list[int]:
    """The linear operator that advances a CRC-32 over ``length`` zero bytes (a matrix over
    GF(2)): ``crc32(a + b) == _times(zeros_operator(len(b)), crc32(a)) ^ crc32(b)``."""
    identity = [1 << k for k in range(32)]
    one_bit = [_POLY] + [1 << k for k in range(31)]  # one zero bit
    step = _square(_square(_square(one_bit)))  # eight zero bits: one byte
    result = identity
    while length:
        if length & 1:
            result = [_times(step, column) for column in result]
        length >>= 1
        if length:
            step = _square(step)
    return result


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``."""
    return _times(zeros_operator(length2), crc1) ^ crc2


class Deflated:
    """A text as raw DEFLATE data (ending with the final block), with its CRC-32, its length in
    bytes and the CRC's operator over that length."""

    __slots__ = ("crc", "data", "operator", "size")

    def __init__(self, pieces: Iterable[str]) -> None:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        parts: list[bytes] = []
        crc, size = 0, 0
        for piece in pieces:
            raw = piece.encode()
            crc = zlib.crc32(raw, crc)
            size += len(raw)
            parts.append(compressor.compress(raw))
        parts.append(compressor.flush(zlib.Z_FINISH))
        self.data = b"".join(parts)
        self.crc = crc
        self.size = size
        self.operator = zeros_operator(size)

    def plain(self, piece_bytes: int = 1 << 20) -> Iterator[bytes]:
        """The text's UTF-8 bytes again, decompressed ``piece_bytes`` at a time (for a client
        that does not take gzip; a piece may end inside a character)."""
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = self.data
        while pending:
            out = d.decompress(pending, piece_bytes)
            pending = d.unconsumed_tail
            if out:
                yield out
        rest = d.flush()
        if rest:
            yield rest

    def text(self) -> str:
        """The whole text (tests, small texts)."""
        return b"".join(self.plain()).decode()


def gzip_member(head: str, tail: Deflated) -> list[bytes]:
    """One gzip member of ``head`` followed by ``tail``'s text (the parts to send in order;
    ``tail.data`` is one of them, not copied)."""
    raw = head.encode()
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    blocks = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = _times(tail.operator, zlib.crc32(raw)) ^ tail.crc
    trailer = struct.pack("<II", crc, (len(raw) + tail.size) & 0xFFFFFFFF)
    return [HEADER + blocks, tail.data, trailer]


#: Longer ``Accept-Encoding`` values are not read (plain text is sent): real ones are short.
MAX_ACCEPT_ENCODING = 1024
_QVALUE = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header (RFC 9110 12.5.3; several lines joined with
    commas) takes gzip: named (or ``*``) with a weight above 0, and not refused by name. A
    weight that is not a qvalue (0 to 1, three decimals at most) counts as 0."""
    if not accept_encoding or len(accept_encoding) > MAX_ACCEPT_ENCODING:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (p.strip() for p in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.fullmatch(value) else 0.0
        weights[coding.lower()] = weight
    if "gzip" in weights or "x-gzip" in weights:
        return max(weights.get("gzip", 0.0), weights.get("x-gzip", 0.0)) > 0
    return weights.get("*", 0.0) > 0
