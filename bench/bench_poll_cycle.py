"""Smoke test of the poll-cycle bench (``bench/poll_cycle.py``), bounded for ``make test``: the
harness measures each client on 50 simulated printers and every printer's result must be
complete (as many varbinds as its recording holds), so the peers stay working in CI.

pysnmp, ezsnmp and net-snmp's tools are part of ``make test`` (which installs them: the
``test`` and ``bench`` extras, Debian's ``snmp``); printwatch's own engine runs when present and
is skipped, saying why, while it is not.
prometheus-snmp-exporter is left to ``make bench``: its requests with a request-id below 2^23
carry a non-minimal INTEGER, which the simulator drops (see docs/benchmarks.md), so a 50-printer run
is not reliably complete.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from bench import poll_cycle
    from bench.workload import Workload, expected_per_printer, expected_varbinds, fleet_targets, write_targets
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import poll_cycle
    from bench.workload import Workload, expected_per_printer, expected_varbinds, fleet_targets, write_targets

from printwatch._core import Simulator

PRINTERS = 50
REQUIRED = ("pysnmp_asyncio", "ezsnmp", "netsnmp_cli")
LIMIT_S = 60.0


class Fleet:
    def __init__(self, sim: Simulator, targets: Path, expected: list[int]) -> None:
        self.sim = sim
        self.targets = targets
        self.expected = expected


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    recordings = poll_cycle.DEFAULT_RECORDINGS
    assert recordings.is_dir(), f"no recordings at {recordings}"
    workload = Workload()
    with Simulator(str(recordings), count=PRINTERS, port=0, identity=True, dynamics=False) as sim:
        targets = tmp_path_factory.mktemp("poll-cycle") / "targets.json"
        write_targets(targets, fleet_targets(sim.first, PRINTERS, sim.port), workload)
        paths = [recordings / f"{name}.snmprec" for name in sim.recordings]
        yield Fleet(sim, targets, expected_per_printer(paths, PRINTERS, workload))


@pytest.mark.parametrize("client", ["pysnmp_asyncio", "netsnmp_cli", "ezsnmp", "printwatch_engine"])
def test_client_polls_every_printer_completely(fleet: Fleet, client: str) -> None:
    why = poll_cycle.availability(client)
    if why is not None:
        if client in REQUIRED:
            pytest.fail(f"{client} must run in `make test`: {why}")
        pytest.skip(why)
    run = poll_cycle.run_client(client, fleet.targets, PRINTERS, 0, fleet.sim, fleet.expected, LIMIT_S)
    assert run.ok, run.failure
    assert run.errors == {}
    assert run.sim_dropped == 0
    assert run.complete == PRINTERS, f"{run.short} printers short, {run.excess} with too many varbinds"
    assert run.varbinds == sum(fleet.expected) > 0
    # Every poll crossed the wire: at least one request and one response per request kind.
    assert run.datagrams >= PRINTERS * 2 * 4
    assert run.bytes_per_poll > 300
    assert run.cpu_s > 0
    assert run.peak_rss_mb > 1


def test_an_incomplete_client_is_reported(fleet: Fleet) -> None:
    """With no time to start any printer, the client answers for none: the harness must count
    every printer as short, not as a fast run."""
    run = poll_cycle.run_client("pysnmp_asyncio", fleet.targets, PRINTERS, 0, fleet.sim, fleet.expected, 0.0)
    assert run.ok, run.failure
    assert run.errors == {"not_polled": PRINTERS}
    assert run.complete == 0  # printers whose recording has none of the polled OIDs included
    assert run.short == sum(1 for e in fleet.expected if e > 0) > 0
    summary = poll_cycle.summarize([run])
    assert not summary.ok


def test_expected_varbinds_from_a_recording(tmp_path: Path) -> None:
    rec = tmp_path / "p.snmprec"
    rec.write_text(
        "\n".join(
            [
                "1.3.6.1.2.1.1.1.0|4|Printer",
                "1.3.6.1.2.1.1.2.0|6|.1.3.6.1.4.1.11",  # a leading dot is accepted, as the simulator does
                "1.3.6.1.2.1.1.5.0|4|name",
                "1.3.6.1.2.1.1.5.0|4|duplicate, merged",
                "1.3.6.1.2.1.43.5.1.1.17.1|4|SERIAL",
                "1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Toner",
                "1.3.6.1.2.1.43.11.1.1.9.1.1|2|42",
                "1.3.6.1.2.1.43.11.1.1.9.1.2|65|6git3159",  # bad value: skipped as the simulator does
                "1.3.6.1.2.1.43.10.2.1.4.1.1|65|123456",
                "1.3.6.1.2.1.43.11.10|2|1",  # outside the tables: 43.11.10 is not under 43.11.1
                "1.3.6.1.2.1.43.18.1|2|1",  # the table's root itself is not inside it
                "",
            ]
        )
    )
    # scalars: sysDescr, sysObjectID, sysName, serial = 4; tables: 2 supplies + 1 marker = 3
    assert expected_varbinds(rec) == 7
    ident = tmp_path / "ident.snmprec"
    ident.write_text("1.3.6.1.2.1.1.1.0|4|identification only\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11\n")
    assert expected_per_printer([rec, ident], 5) == [7, 2, 7, 2, 7]
