"""Which local user is at the other end of a loopback TCP connection (Linux).

The gate opens its loopback door (``/metrics`` and ``/api/...`` without a token) only to the
appliance's own user and root: the users that can read its state directory anyway. The kernel
knows the user that owns the client's socket (the one whose local address is the client's and
whose remote address is the server's), and tells it two ways:

* **sock_diag** (netlink, ``NETLINK_SOCK_DIAG``): one request names the connection's four
  addresses and the kernel answers for that socket alone (tens of microseconds).
* **procfs** (``/proc/net/tcp``, ``tcp6``): every TCP socket of the machine listed as text, read
  line by line. Its cost grows with the sockets listed: at 10,000 printers the bench's client
  left thousands of closed connections there, and reading them was the largest own cost of a
  ``/metrics`` request. Used only where sock_diag is not available.

Error handling: no answer is ``None`` (not Linux, no netlink nor procfs, a family or address the
kernel does not list, the client already gone); the gate then keeps the door shut.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
NO_COOKIE = 0xFFFFFFFF
ALL_STATES = 0xFFFFFFFF
#: ``struct nlmsghdr``, then ``struct inet_diag_req_v2`` (family, protocol, extensions, pad,
#: states) whose ``inet_diag_sockid`` follows: ports and addresses in network order, then the
#: interface and the cookie in host order.
_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI")
_SOCKID_PORTS = struct.Struct(">HH")
_SOCKID_TAIL = struct.Struct("=III")
#: In the answer (``struct inet_diag_msg``): the uid after family/state/timer/retrans (4), the
#: socket id (48) and expires/rqueue/wqueue (12).
_UID_OFFSET = _HEADER.size + 4 + 48 + 12


def _packed(host: str) -> bytes | None:
    try:
        return ipaddress.ip_address(host).packed
    except ValueError:
        return None


def diag_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The owner of the client's socket by sock_diag, None if the kernel has no such socket;
    raises OSError when sock_diag itself cannot be asked."""
    src, dst = _packed(client[0]), _packed(server[0])
    if src is None or dst is None or len(src) != len(dst):
        return None
    family = socket.AF_INET if len(src) == 4 else socket.AF_INET6
    sockid = (
        _SOCKID_PORTS.pack(client[1], server[1])
        + src.ljust(16, b"\0")
        + dst.ljust(16, b"\0")
        + _SOCKID_TAIL.pack(0, NO_COOKIE, NO_COOKIE)
    )
    request = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, ALL_STATES) + sockid
    message = _HEADER.pack(_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0) + request
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        nl.send(message)
        answer = nl.recv(4096)
    if len(answer) < _HEADER.size + 4:
        raise OSError(errno.EPROTO, "a short sock_diag answer")
    kind = _HEADER.unpack_from(answer)[1]
    if kind == NLMSG_ERROR:
        code = -struct.unpack_from("=i", answer, _HEADER.size)[0]
        if code == errno.ENOENT:
            return None
        raise OSError(code, os.strerror(code))
    if kind != SOCK_DIAG_BY_FAMILY or len(answer) < _UID_OFFSET + 4:
        raise OSError(errno.EPROTO, f"an unexpected sock_diag answer (type {kind})")
    uid: int = struct.unpack_from("=I", answer, _UID_OFFSET)[0]
    return uid


def _hex(host: str, port: int) -> str | None:
    """``host:port`` as the kernel prints it: the address's 32-bit words in host byte order."""
    packed = _packed(host)
    if packed is None:
        return None
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def proc_uid(client: tuple[str, int], server: tuple[str, int], *, proc: str = "/proc/net") -> int | None:
    """The owner of the client's socket as ``/proc/net/tcp`` (or ``tcp6``) lists it, or None."""
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


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The user id that owns the client's socket of the TCP connection ``client`` -> ``server``
    on this machine, or None (see the module's docstring)."""
    try:
        return diag_uid(client, server)
    except OSError:
        return proc_uid(client, server)


def is_own_user(client: tuple[str, int] | None, server: tuple[str, int] | None) -> bool:
    """Whether the client of a loopback connection runs as this process's user or as root."""
    if client is None or server is None:
        return False
    uid = peer_uid(client, server)
    return uid is not None and uid in (0, os.geteuid())
