"""Discovery end to end on loopback: the Rust sweep (ICMP where this process may open an ICMP
socket, else SNMP), the engine's probes and identification, against the fleet simulator
scattered through a /22 among addresses where no agent listens."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import trio
from printwatch.discovery import Discovery, Options, Progress, discover, expand_networks, icmp_kind
from printwatch.sim import Simulator

from tests.support.discovery_fleet import NON_PRINTER, printer_recordings

NETWORK = "127.31.4.0/22"
# 1,022 hosts; printer i at 127.31.4.5 + 11 i: 90 agents, every 19th recording a non-printer.
BASE, STRIDE, COUNT = "127.31.4.5", 11, 90


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    recordings = [*printer_recordings(), NON_PRINTER]
    with Simulator(recordings, count=COUNT, base=BASE, stride=STRIDE, port=0, seed=5) as sim:
        yield sim


def expected(sim: Simulator) -> tuple[dict[str, str | None], set[str]]:
    """Printers by address with their serial, and the non-printers' addresses."""
    printers: dict[str, str | None] = {}
    others = set()
    for i in range(sim.count):
        p = sim.printer(i)
        if p["recording"] == NON_PRINTER.stem:
            others.add(p["address"])
        else:
            printers[p["address"]] = p["serial"]
    return printers, others


def options(sim: Simulator, **kw: object) -> Options:
    base: dict[str, object] = {"port": sim.port, "max_pps": 20_000, "timeout_s": 0.3}
    return Options(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["auto", "snmp"])
def test_every_simulated_printer_is_found_with_its_serial_and_nothing_else(
    fleet: Simulator, mode: str
) -> None:
    d = discover([NETWORK], options(fleet, mode=mode))
    printers, others = expected(fleet)
    assert len(printers) > 80 and len(others) == 4
    found = {p.address: p for p in d.printers}
    assert set(found) == set(printers)
    # Where the simulator gives a printer its own serial (prtGeneralSerialNumber and its copies),
    # discovery reads exactly that one. Recordings without prtGeneralSerialNumber keep their
    # vendor serial OID as recorded (the same for every printer of that recording), which
    # discovery reads too (HP's, e.g.).
    assert {a: found[a].serial for a, s in printers.items() if s} == {a: s for a, s in printers.items() if s}
    assert sum(1 for s in printers.values() if s) >= 40
    # The non-printers answered SNMP and were looked at, but are not printers.
    assert others <= set(d.agents)
    assert not any(d.agents[a].printer for a in others)
    assert set(d.agents) == set(printers) | others
    assert d.outcome == "done"
    assert d.progress.addresses == 1022
    # Printers without a serial carry their MAC (the registry's fallback identity).
    for i in range(fleet.count):
        p = fleet.printer(i)
        if p["address"] in found and not found[p["address"]].serial and p["mac"]:
            assert found[p["address"]].mac == p["mac"]
    sweep = {"auto": f"icmp-{icmp_kind()}" if icmp_kind() else "snmp", "snmp": "snmp"}[mode]
    assert d.sweeps == [sweep]
    assert all(p.sweep == sweep for p in found.values())
    if sweep.startswith("icmp"):
        # Every loopback address answers an echo (the kernel does); only agents get SNMP beyond that.
        assert d.progress.alive == 1022
    s = d.summary()
    assert s["printers"] == len(printers) and s["agents"] == len(printers) + len(others)
    # One probe per address and no retries.
    assert d.wire["probe"].packets_sent == 1022


def test_printers_json_has_the_contract_fields(fleet: Simulator) -> None:
    d = discover([NETWORK], options(fleet, mode="snmp"))
    doc = d.printers[0].to_json()
    assert set(doc) >= {"address", "vendor", "model", "serial", "sys", "found_by", "mac"}
    assert set(doc["sys"]) == {"descr", "object_id"}
    assert doc["found_by"] == {
        "sweep": "snmp",
        "community": 1,
        "version": "2c",
        "evidence": doc["found_by"]["evidence"],
    }
    assert doc["found_by"]["evidence"]


def test_identification_costs_under_100_bytes_per_printer_beyond_the_probe(fleet: Simulator) -> None:
    d = discover([NETWORK], options(fleet, mode="snmp"))
    printers = d.printers
    beyond = sum(a.bytes_sent - a.probe_bytes_sent for a in printers) / len(printers)
    assert beyond <= 100, beyond


def test_communities_are_tried_in_order() -> None:
    with Simulator(printer_recordings()[:3], count=3, base="127.32.0.10", port=0, community="s3cret") as sim:
        d = discover(
            ["127.32.0.0/24"],
            Options(port=sim.port, communities=["public", "s3cret"], max_pps=20_000, timeout_s=0.3),
        )
        assert sorted(p.address for p in d.printers) == ["127.32.0.10", "127.32.0.11", "127.32.0.12"]
        assert {p.community_index for p in d.printers} == {1}
        assert {p.to_json()["found_by"]["community"] for p in d.printers} == {2}
        # The first community went to every address, the second only to those still silent.
        assert d.wire["probe"].packets_sent == 254 * 2


@pytest.mark.realtime
def test_a_time_limit_stops_and_keeps_what_was_found() -> None:
    with Simulator(printer_recordings(), count=200, base="127.33.0.1", port=0) as sim:
        # A /16 at 4,000 packets/s would take 20 s: the limit stops it after 2 s. (Bounds are
        # loose: these 2 cores are shared, and a loaded machine starts the sweep late.)
        opts = Options(port=sim.port, mode="snmp", max_pps=4_000, timeout_s=0.2, limit_s=2.0)
        started = time.monotonic()
        d = discover(["127.33.0.0/16"], opts)
        took = time.monotonic() - started
        assert d.outcome == "limited"
        assert took < 4.0, took
        # The fleet is at the start of the range: what the first 2 s reached is kept.
        assert d.agents and set(d.agents) <= {sim.printer(i)["address"] for i in range(sim.count)}
        assert d.wire["probe"].packets_sent < 4_000 * 2.1
        assert sim.stats()["received"] < 4_000 * 2.1


@pytest.mark.realtime
async def test_cancel_keeps_what_was_found_and_the_trio_loop_runs() -> None:
    with Simulator(printer_recordings(), count=100, base="127.34.0.1", port=0) as sim:
        # The /16 would take about 27 s at this rate; the 100 printers are its first addresses.
        d = Discovery(["127.34.0.0/16"], Options(port=sim.port, mode="snmp", max_pps=3_000, timeout_s=0.2))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            with trio.move_on_after(3.0):
                await d.run()
            sent = d.total().packets_sent
            received = sim.stats()["received"]
            await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
        assert d.outcome == "cancelled"
        assert ticks >= 100, ticks
        # Printers were identified while the sweep went on, and are kept.
        assert d.agents and d.printers
        assert 0 < sent <= 3_000 * 3.1, sent
        # Nothing was sent after the cancel.
        assert sim.stats()["received"] == received
        assert d.total().packets_sent == sent


def test_progress_counts_grow_and_end_at_the_totals(fleet: Simulator) -> None:
    seen: list[Progress] = []
    d = Discovery(
        [NETWORK], options(fleet, mode="snmp"), on_progress=lambda p: seen.append(Progress(**vars(p)))
    )
    trio.run(d.run)
    assert [p.phase for p in seen][-1] == "finished"
    probed = [p.probed for p in seen]
    assert probed == sorted(probed) and probed[-1] == 1022
    assert seen[-1].printers == len(d.printers)
    assert seen[-1].bytes_sent == d.total().bytes_sent > 0


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.7/24"):
        Discovery(["10.0.0.7/24"])
    with pytest.raises(ValueError, match="nonsense"):
        Discovery(["127.0.0.0/30", "nonsense"])
    with pytest.raises(ValueError, match="more than the limit"):
        Discovery(["10.0.0.0/8"])
    with pytest.raises(ValueError, match="community"):
        Discovery(["127.0.0.1"], Options(communities=[]))
    with pytest.raises(ValueError, match="rate"):
        Discovery(["127.0.0.1"], Options(max_pps=0))


def test_exclusions_are_never_probed(fleet: Simulator) -> None:
    d = discover([NETWORK], options(fleet, mode="snmp", exclude=["127.31.4.0/24"]))
    assert d.progress.addresses == 1022 - 255
    assert d.wire["probe"].packets_sent == 1022 - 255
    assert d.printers and all(not p.address.startswith("127.31.4.") for p in d.printers)
    assert expand_networks(["127.31.4.0/30"], ["127.31.4.2"]) == ["127.31.4.1"]


def test_snmpv3_probes_and_identifies_and_a_wrong_password_finds_nothing() -> None:
    from printwatch._core import V3Credentials

    user = V3Credentials("pw-disc", "SHA256", "auth-secret-1", "AES", "priv-secret-1")
    with Simulator(printer_recordings()[:4], count=4, base="127.39.0.10", stride=5, port=0, v3=user) as sim:
        opts = Options(port=sim.port, mode="snmp", v3=user, version="3", max_pps=20_000, timeout_s=0.3)
        d = discover(["127.39.0.0/26"], opts)
        want = [sim.printer(i) for i in range(4)]
        assert [p.address for p in d.printers] == [w["address"] for w in want]
        assert [p.serial for p, w in zip(d.printers, want, strict=True) if w["serial"]] == [
            w["serial"] for w in want if w["serial"]
        ]
        doc = d.printers[0].to_json()
        assert doc["found_by"]["version"] == "3" and doc["found_by"]["v3_user"] == "pw-disc"
        assert doc["found_by"]["community"] is None
        wrong = V3Credentials("pw-disc", "SHA256", "not-the-secret", "AES", "priv-secret-1")
        d = discover(
            ["127.39.0.0/26"], Options(port=sim.port, mode="snmp", v3=wrong, version="3", timeout_s=0.3)
        )
        assert d.printers == []
