"""A text compressed once and sent behind a fresh head as one gzip member
(printwatch.service.gzipped): read back by Python's gzip and zlib and by gzip(1), the CRC-32
combined as zlib's own over the whole, Accept-Encoding read as RFC 9110 says."""

from __future__ import annotations

import gzip
import random
import subprocess
import zlib

import pytest
from printwatch.service.gzipped import Deflated, accepts_gzip, crc32_combine, gzip_member


@pytest.mark.parametrize("length", [0, 1, 3, 255, 4096, 100_003, 1 << 20])
def test_crcs_combine_as_over_the_whole(length: int) -> None:
    rng = random.Random(length)
    a, b = rng.randbytes(rng.randrange(0, 300)), rng.randbytes(length)
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def lines(count: int) -> list[str]:
    return [f'printwatch_device_up{{target="127.0.{n // 250}.{n % 250}"}} {n % 2}\n' for n in range(count)]


@pytest.mark.parametrize(
    ("head", "pieces"), [("", []), ("", [""]), ("# a\n", []), ("# HELP x y\n", lines(20_000))]
)
def test_one_member_of_head_and_text(head: str, pieces: list[str]) -> None:
    tail = Deflated(pieces)
    body = b"".join(gzip_member(head, tail))
    whole = head + "".join(pieces)
    assert gzip.decompress(body).decode() == whole
    one = zlib.decompressobj(zlib.MAX_WBITS | 16)  # one member, nothing after it
    assert one.decompress(body).decode() == whole and one.eof and one.unused_data == b""
    assert tail.text() == "".join(pieces)
    gunzip = subprocess.run(["gzip", "-dc"], input=body, capture_output=True, check=True)
    assert gunzip.stdout.decode() == whole


def test_the_large_part_is_compressed_once_and_shared() -> None:
    tail = Deflated(lines(20_000))
    first, second = gzip_member("a 1\n", tail), gzip_member("a 2\n", tail)
    assert first[1] is tail.data and second[1] is tail.data
    assert len(tail.data) < tail.size / 5
    assert gzip.decompress(b"".join(second)).decode().startswith("a 2\nprintwatch_device_up")


def test_the_plain_text_comes_back_in_pieces_of_the_size_asked() -> None:
    wide = "Schwarz \u2013 Toner \u2713 \u9ed2 \U0001f5a8\n"  # characters of 2 to 4 bytes
    text = "".join(lines(5_000)) + wide * 3_000
    tail = Deflated([text[:1000], text[1000:]])
    pieces = list(tail.plain(4095))
    assert all(len(p) <= 4095 for p in pieces) and len(pieces) >= len(text.encode()) // 4095
    assert b"".join(pieces).decode() == text == tail.text()


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("GZIP;q=0.5", True),
        ("x-gzip", True),
        ("identity", False),
        ("deflate, gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*", True),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=banana", False),
        ("gzip;q=inf", False),
        ("gzip;q=2", False),
        ("gzip;q=1.5", False),
        ("gzip;q=0.0001", False),
        ("gzip;q=1.000", True),
        ("gzip; q=0.001", True),
        ("identity, gzip" + " " * 2000, False),  # too long to read: plain
        ("br;q=1, identity;q=0.5", False),
    ],
)
def test_accept_encoding(header: str | None, takes: bool) -> None:
    assert accepts_gzip(header) is takes
