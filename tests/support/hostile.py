"""Badly behaved SNMP agents on loopback for the engine's fault tests: each is a real UDP socket
on its own thread, answering from a small table through printwatch's codec — and then misbehaving
in one chosen way. Bounded: every agent stops when its ``with`` block ends (or after 60 s)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from printwatch import snmp

# Answer(request, answer) -> list of (datagram, delay_s, from_address) to send; the default sends
# the answer once, at once, from the agent's own socket.
Misbehaviour = Callable[[snmp.Message, snmp.Message], list[tuple[bytes, float, socket.socket | None]]]


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def table(root: str, rows: int, width: int = 30) -> dict[str, snmp.VarBind]:
    """``rows`` OctetString rows under ``root`` (``root.1.1`` ..), each ``width`` bytes long."""
    out = {}
    for i in range(1, rows + 1):
        oid = f"{root}.1.{i}"
        out[oid] = snmp.VarBind(oid, "OctetString", f"row {i:04d} ".encode().ljust(width, b"."))
    return out


@dataclass
class Agent:
    """A table-driven v1/v2c agent: Get, GetNext and GetBulk answered from ``variables``."""

    variables: dict[str, snmp.VarBind]
    community: bytes = b"public"
    max_size: int = 65_000
    speaks_v2c: bool = True
    keys: list[tuple[int, ...]] = field(init=False)
    by_key: dict[tuple[int, ...], snmp.VarBind] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {oid_key(o): vb for o, vb in self.variables.items()}
        self.keys = sorted(self.by_key)

    def next_after(self, oid: str) -> snmp.VarBind | None:
        k = oid_key(oid)
        for key in self.keys:
            if key > k:
                return self.by_key[key]
        return None

    def _get(self, req: snmp.Message) -> tuple[list[snmp.VarBind], int, int]:
        """A Get's varbinds; v1 answers noSuchName (2) at the first unknown OID."""
        out = []
        for i, vb in enumerate(req.pdu.varbinds, 1):
            got = self.by_key.get(oid_key(vb.oid))
            if got is None and req.version == 0:
                return out, 2, i
            out.append(got or snmp.VarBind(vb.oid, "NoSuchObject"))
        return out, 0, 0

    def _next(self, req: snmp.Message) -> tuple[list[snmp.VarBind], int, int]:
        """GetNext/GetBulk from the first varbind; past the end, endOfMibView (v1: noSuchName)."""
        pdu = req.pdu
        reps = pdu.max_repetitions if pdu.type == "getbulk" else 1
        out: list[snmp.VarBind] = []
        last = pdu.varbinds[0].oid
        for _ in range(max(reps or 0, 1)):
            nxt = self.next_after(last)
            if nxt is None:
                if req.version == 0:
                    return out, 2, 1
                out.append(snmp.VarBind(last, "EndOfMibView"))
                break
            out.append(nxt)
            last = nxt.oid
        return out, 0, 0

    def answer(self, req: snmp.Message) -> snmp.Message | None:
        if req.community != self.community or (req.version == 1 and not self.speaks_v2c):
            return None
        pdu = req.pdu
        if pdu.type == "get":
            out, status, index = self._get(req)
        elif pdu.type in ("getnext", "getbulk"):
            out, status, index = self._next(req)
        else:
            return None
        if status:
            out = list(pdu.varbinds)
        resp = snmp.Message(
            req.version,
            req.community,
            snmp.Pdu("response", out, request_id=pdu.request_id, error_status=status, error_index=index),
        )
        if len(snmp.encode(resp)) > self.max_size:
            resp = snmp.Message(
                req.version,
                req.community,
                snmp.Pdu(
                    "response",
                    [] if req.version else list(pdu.varbinds),
                    request_id=pdu.request_id,
                    error_status=1,
                ),
            )
        return resp


@dataclass
class Running:
    address: str
    port: int
    requests: int = 0


@contextmanager
def serving(
    agent: Agent, address: str = "127.0.0.1", misbehave: Misbehaviour | None = None
) -> Iterator[Running]:
    """Serves ``agent`` on ``address`` (a free port) until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    sock.settimeout(0.02)
    running = Running(address, sock.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        pending: list[tuple[float, bytes, socket.socket, tuple[str, int]]] = []
        end = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < end:
            now = time.monotonic()
            for item in [p for p in pending if p[0] <= now]:
                pending.remove(item)
                item[2].sendto(item[1], item[3])
            try:
                data, peer = sock.recvfrom(65_536)
            except TimeoutError:
                continue
            running.requests += 1
            try:
                req = snmp.decode(data)
            except snmp.DecodeError:
                continue
            resp = agent.answer(req)
            if resp is None:
                continue
            sends = misbehave(req, resp) if misbehave else [(snmp.encode(resp), 0.0, None)]
            for datagram, delay, via in sends:
                pending.append((now + delay, datagram, via or sock, peer))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        stop.set()
        thread.join()
        sock.close()
