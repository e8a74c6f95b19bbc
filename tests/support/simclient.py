"""A small SNMP client over a UDP socket for the simulator tests (printwatch's own codec)."""

from __future__ import annotations

import itertools
import socket
import time

from printwatch import snmp

_ids = itertools.count(1)


def request(kind: str, oids: list[str], *, version: int = 1, max_repetitions: int = 0) -> snmp.Message:
    rid = next(_ids)
    vbs = [snmp.VarBind(o) for o in oids]
    if kind == "getbulk":
        pdu = snmp.Pdu(kind, vbs, request_id=rid, non_repeaters=0, max_repetitions=max_repetitions)
    else:
        pdu = snmp.Pdu(kind, vbs, request_id=rid)  # type: ignore[arg-type]
    return snmp.Message(version, b"public", pdu)


def ask(
    sock: socket.socket, addr: tuple[str, int], msg: snmp.Message, timeout_s: float = 0.5
) -> snmp.Message | None:
    """Sends `msg` and returns the reply with the same request-id, or None after `timeout_s`."""
    sock.sendto(snmp.encode(msg), addr)
    end = time.monotonic() + timeout_s
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return None
        reply = snmp.decode(data)
        if reply.pdu.request_id == msg.pdu.request_id:
            return reply
    return None


def walk(sock: socket.socket, addr: tuple[str, int], root: str) -> list[snmp.VarBind]:
    """A GetBulk walk of the subtree under `root` (bounded: at most 200 requests)."""
    out: list[snmp.VarBind] = []
    at = root
    for _ in range(200):
        reply = ask(sock, addr, request("getbulk", [at], max_repetitions=20))
        assert reply is not None, f"no answer from {addr} walking {root}"
        for vb in reply.pdu.varbinds:
            if vb.type == "EndOfMibView" or not vb.oid.startswith(root + "."):
                return out
            out.append(vb)
            at = vb.oid
    raise AssertionError(f"walk of {root} on {addr} did not end")


def client() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock
