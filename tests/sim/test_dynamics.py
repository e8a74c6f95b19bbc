"""Dynamics over simulated time, seen over UDP: counters grow, supplies drain and are replaced,
offline printers, lost packets, slow answers and alerts appear at their configured rates."""

from __future__ import annotations

import socket
import time
from itertools import pairwise

import pytest
from printwatch import snmp
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS
from tests.support.simclient import ask, client, request, walk

LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4.1.1"
LEVELS = "1.3.6.1.2.1.43.11.1.1.9"
ALERT_CODES = "1.3.6.1.2.1.43.18.1.1.7"
ERROR_STATE = "1.3.6.1.2.1.25.3.5.1.2"
QUIET = {"offline_rate": 0, "lossy_share": 0, "slow_share": 0, "jam_rate": 0, "door_rate": 0}
HOUR_S = 3600.0


def with_recording(sim: Simulator, name: str) -> int:
    return sim.recordings.index(name)


def get_one(sock: socket.socket, sim: Simulator, index: int, oid: str) -> snmp.VarBind:
    reply = ask(sock, (sim.printer(index)["address"], sim.port), request("get", [oid]))
    assert reply is not None
    return reply.pdu.varbinds[0]


def test_counters_grow_and_levels_drain_then_refill() -> None:
    with Simulator(RECORDINGS, count=44, base="127.24.0.1", dynamics=QUIET, seed=5) as sim, client() as sock:
        sharp = with_recording(sim, "sharp")
        addr = (sim.printer(sharp)["address"], sim.port)
        counts: list[int] = []
        levels: list[list[int]] = []
        for _ in range(24 * 30):  # a month, an hour at a time
            value = get_one(sock, sim, sharp, LIFE_COUNT).value
            assert isinstance(value, int)
            counts.append(value)
            levels.append([v.value for v in walk(sock, addr, LEVELS) if isinstance(v.value, int)])
            sim.advance(HOUR_S)
    assert counts == sorted(counts) and counts[-1] - counts[0] > 24 * 30 * 4
    assert counts[0] >= 121104, "counters start at the recorded count or above"
    special = [i for i, v in enumerate(levels[0]) if v < 0]
    assert special, "sharp records -2 (unknown) levels"
    drops = refills = 0
    for before, after in pairwise(levels):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            if i in special:
                assert a == b, "special values never change"
            elif a > b:
                refills += 1
                assert b <= 15 and a >= 90, (b, a)
            elif a < b:
                drops += 1
    assert drops > 100 and refills >= 1, (drops, refills)


def share_answering(sim: Simulator, sock: socket.socket) -> float:
    """Sends one Get to every printer at once and counts the answers within 0.5 s."""
    for i in range(sim.count):
        sock.sendto(snmp.encode(request("get", ["1.3.6.1.2.1.1.1.0"])), (sim.printer(i)["address"], sim.port))
    answered = 0
    end = time.monotonic() + 0.5
    while (left := end - time.monotonic()) > 0 and answered < sim.count:
        sock.settimeout(left)
        try:
            sock.recvfrom(65535)
        except TimeoutError:
            break
        answered += 1
    return answered / sim.count


@pytest.mark.realtime
@pytest.mark.parametrize(
    ("rules", "want"),
    [
        ({**QUIET, "offline_rate": 0.3, "offline_period_s": 60}, 0.7),
        ({**QUIET, "lossy_share": 1.0, "loss": 0.4}, 0.6),
    ],
)
def test_offline_and_loss_rates(rules: dict[str, float], want: float) -> None:
    with Simulator(RECORDINGS, count=500, base="127.24.0.1", dynamics=rules, seed=2) as sim, client() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        shares = []
        for _ in range(4):
            shares.append(share_answering(sim, sock))
            sim.advance(61)
        stats = sim.stop()
    # The server's own count is exact; the client's agrees unless the kernel dropped some
    # datagrams of the burst on a busy machine (those the server never received).
    assert stats["lost"] == stats["received"] - stats["answered"]
    assert stats["received"] >= 0.9 * 4 * 500, stats
    assert abs(stats["answered"] / stats["received"] - want) < 0.07, stats
    assert abs(sum(shares) / len(shares) - want) < 0.15, shares


@pytest.mark.realtime
def test_slow_printers_do_not_hold_up_the_others() -> None:
    rules = {**QUIET, "slow_share": 0.5, "slow_delay_ms": 200}
    with Simulator(RECORDINGS, count=200, base="127.24.0.1", dynamics=rules) as sim, client() as sock:
        started = time.monotonic()
        for i in range(sim.count):
            data = snmp.encode(request("get", ["1.3.6.1.2.1.1.1.0"]))
            sock.sendto(data, (sim.printer(i)["address"], sim.port))
        arrivals = []
        while len(arrivals) < sim.count and time.monotonic() - started < 2:
            sock.settimeout(1)
            sock.recvfrom(65535)
            arrivals.append(time.monotonic() - started)
        stats = sim.stop()
    fast = [t for t in arrivals if t < 0.08]
    slow = [t for t in arrivals if t >= 0.09]
    assert len(arrivals) == 200
    assert 0.35 < len(slow) / 200 < 0.65 and len(fast) + len(slow) == 200, (len(fast), len(slow))
    assert stats["delayed"] == len(slow) and stats["answered"] == 200


def test_alerts_appear_in_the_table_and_the_error_bits() -> None:
    rules = {**QUIET, "jam_rate": 0.25, "door_rate": 0.1, "alert_period_s": 600}
    with Simulator(RECORDINGS, count=440, base="127.24.0.1", dynamics=rules, seed=9) as sim, client() as sock:
        sharp = with_recording(sim, "sharp")
        printers = range(sharp, sim.count, len(sim.recordings))  # 10 printers from one recording
        jams = doors = checks = 0
        for _ in range(20):
            for i in printers:
                addr = (sim.printer(i)["address"], sim.port)
                codes = [vb.value for vb in walk(sock, addr, ALERT_CODES)]
                bits = walk(sock, addr, ERROR_STATE)[0].value
                assert isinstance(bits, bytes)
                assert (8 in codes) == bool(bits[0] & 0x04), "jam alert <-> jammed bit"
                assert (501 in codes) == bool(bits[0] & 0x08), "door alert <-> doorOpen bit"
                jams += 8 in codes
                doors += 501 in codes
                checks += 1
            sim.advance(600)
    assert abs(jams / checks - 0.25) < 0.1 and abs(doors / checks - 0.1) < 0.07, (jams, doors, checks)


def test_dynamics_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown dynamics key"):
        Simulator(RECORDINGS, dynamics={"jam": 1})
    with pytest.raises(ValueError, match=r"loss must be in 0\.\.1"):
        Simulator(RECORDINGS, dynamics={"loss": 2})
    with pytest.raises(TypeError, match="dynamics must be"):
        Simulator(RECORDINGS, dynamics="yes")  # type: ignore[arg-type]
    sim = Simulator(RECORDINGS, dynamics=True, time_scale=1000)
    assert sim.dynamics and sim.time_s >= 0
    sim.advance(5000)
    assert sim.time_s >= 5000
