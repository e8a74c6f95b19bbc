"""Printers named in the configuration without discovery: ``host[:port]``, an address range
``A-B[:port]`` or a network ``CIDR[:port]`` (its host addresses).

Error handling: ``ValueError`` naming the spec: a bad address or port, a range that runs
backwards, more than :data:`MAX_EXPANDED` addresses.
"""

from __future__ import annotations

import ipaddress
import re

MAX_EXPANDED = 65_536
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")


def _split_port(spec: str) -> tuple[str, int]:
    host, sep, port_text = spec.rpartition(":")
    if not sep:
        return spec, 161
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{spec!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def expand_devices(spec: str) -> list[tuple[str, int]]:
    """``"10.0.0.1-10.0.0.3:1161"`` -> ``[("10.0.0.1", 1161), ("10.0.0.2", 1161), ("10.0.0.3", 1161)]``."""
    host, port = _split_port(spec.strip())
    if "/" in host:
        try:
            net = ipaddress.IPv4Network(host, strict=False)
        except ValueError as err:
            raise ValueError(f"{spec!r}: not an IPv4 network ({err})") from None
        if net.num_addresses > MAX_EXPANDED:
            raise ValueError(f"{spec!r}: more than {MAX_EXPANDED} addresses")
        hosts = list(net.hosts()) if net.prefixlen < 31 else list(net)
        return [(str(a), port) for a in hosts]
    if "-" in host and host.replace("-", "").replace(".", "").isdigit():
        first_text, _, last_text = host.partition("-")
        try:
            first = ipaddress.IPv4Address(first_text)
            last = ipaddress.IPv4Address(last_text)
        except ValueError as err:
            raise ValueError(f"{spec!r}: not an address range ({err})") from None
        count = int(last) - int(first) + 1
        if count < 1:
            raise ValueError(f"{spec!r}: the range runs backwards")
        if count > MAX_EXPANDED:
            raise ValueError(f"{spec!r}: more than {MAX_EXPANDED} addresses")
        return [(str(first + i), port) for i in range(count)]
    if not _HOST.match(host):
        raise ValueError(f"{spec!r}: not an address, range, network or host name")
    return [(host, port)]
