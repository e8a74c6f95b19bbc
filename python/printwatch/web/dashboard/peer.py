"""Which local user is at the other end of a loopback TCP connection (Linux).

The kernel lists every TCP socket with the user that owns it in ``/proc/net/tcp`` (IPv4) and
``/proc/net/tcp6``; for a connection from this machine, the client's own socket is the line
whose local address is the client's and whose remote address is the server's. The gate opens
its loopback door (``/metrics`` and ``/api/...`` without a token) only to the appliance's own
user and root: the users that can read its state directory anyway.

procfs is memory, not disk: reading it does not block the event loop on I/O (one read of a few
lines per request that asks for the door).

Error handling: no answer is ``None`` (not Linux, no procfs, a family or address the table does
not list, the client already gone); the gate then keeps the door shut.
"""

from __future__ import annotations

import ipaddress
import os
import struct


def _hex(host: str, port: int) -> str | None:
    """``host:port`` as the kernel prints it: the address's 32-bit words in host byte order."""
    try:
        packed = ipaddress.ip_address(host).packed
    except ValueError:
        return None
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def peer_uid(client: tuple[str, int], server: tuple[str, int], *, proc: str = "/proc/net") -> int | None:
    """The user id that owns the client's socket of the TCP connection ``client`` -> ``server``
    on this machine, or None (see the module's docstring)."""
    local, remote = _hex(*client), _hex(*server)
    if local is None or remote is None or len(local) != len(remote):
        return None
    table = f"{proc}/tcp" if len(local) == 8 + 5 else f"{proc}/tcp6"
    try:
        with open(table, encoding="ascii") as f:
            next(f, None)  # the header
            for line in f:
                fields = line.split()
                if len(fields) > 7 and fields[1] == local and fields[2] == remote:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None


def is_own_user(client: tuple[str, int] | None, server: tuple[str, int] | None) -> bool:
    """Whether the client of a loopback connection runs as this process's user or as root."""
    if client is None or server is None:
        return False
    uid = peer_uid(client, server)
    return uid is not None and uid in (0, os.geteuid())
