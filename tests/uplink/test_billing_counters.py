"""Named counters in the billing read, end to end: built-in printer models polled by the real
engine (the simulator on loopback), their billing read sent by the real uplink to the real
collector over pinned HTTPS, kept there counter by counter, and exported under the MSP's ERP
names by ``printwatch collector export``."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch import catalogue
from printwatch.cli.main import main
from printwatch.collector.enrolment import add_site
from printwatch.collector.meternames import EXPORT_COLUMNS
from printwatch.collector.store import CollectorStore
from printwatch.engine import Engine
from printwatch.poller.documents import community_targets, poll_documents
from printwatch.uplink.messages import MAX_COUNTER_NAME, MAX_COUNTERS, billing_data, billing_read
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity

from tests.support.collector import start_collector
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
CYCLE = "2026-12-01"
VENDORS = ["sharp", "konica_minolta", "lexmark", "ricoh"]


def polled(base: str) -> list[dict[str, Any]]:
    models = [next(m for m in catalogue.load_models() if m.vendor == v) for v in VENDORS]
    with catalogue.simulator(models, count=len(models), base=f"{base}.1", port=0) as sim:
        addresses = [(m.id, f"{base}.{i + 1}", sim.port) for i, m in enumerate(models)]
        return poll_documents(addresses, community_targets("public"), engine=Engine(timeout_s=1.0, retries=2))


def test_a_billing_read_carries_the_named_counters_within_the_bounds() -> None:
    doc = {
        "meters": {"total": 10, "black": 7, "odd": "x"},
        "counters": [
            {"name": "n" * 300, "oid": "1.3.6.1.4.1.9.1", "value": 5, "source": "x.counter_table"},
            {"name": "bad", "oid": "1.3.6.1.4.1.9.2", "value": -1, "source": "x"},
            *(
                {"name": f"c{k}", "oid": f"1.3.6.1.4.1.9.3.{k}", "value": k, "source": "x"}
                for k in range(400)
            ),
        ],
    }
    meters, counters = billing_read(doc)
    assert meters == {"total": 10, "black": 7}
    assert len(counters) == MAX_COUNTERS and counters[0] == ("n" * MAX_COUNTER_NAME, "1.3.6.1.4.1.9.1", 5)
    data = billing_data(CYCLE, [(1, meters, counters), (2, {"total": 1}, [])])
    assert data["r"][0][2][1] == ["c0", "1.3.6.1.4.1.9.3.0", 0]
    assert data["r"][1] == [2, {"total": 1}], "a device without counters sends what it sent before"


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@pytest.mark.realtime
async def test_counters_go_to_the_collector_and_out_under_the_erp_names(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    docs = await trio.to_thread.run_sync(polled, "127.27.0")
    assert all(d["reachable"] and d["counters"] for d in docs), [d.get("error") for d in docs]
    certs = make_certs(tmp_path)
    path = collector_store
    store = CollectorStore(path)
    token = add_site(store, "site-a", now=T0.replace(tzinfo=None))
    collector = await start_collector(nursery, store, certs, now=lambda: T0.replace(tzinfo=None))
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    svc = UplinkService(box, collector.endpoint(), now=lambda: T0, token=token, backoff=Backoff(0.01, 0.05))
    await nursery.start(svc.serve)
    await svc.billing_cycle(T0.date(), docs)
    with trio.fail_after(30):
        while (await svc.outbox_counts())[0]:
            svc.wake()
            await trio.sleep(0.01)

    # Every counter of every printer is kept at the collector, with its name, OID and value.
    kept = store.con.execute(
        "SELECT d.serial, c.name, c.oid, c.value FROM counter_reads c JOIN devices d USING (site_id, n) "
        "WHERE c.cycle = ?",
        [CYCLE],
    ).fetchall()
    sent = {(d["serial"], c["name"], c["oid"], c["value"]) for d in docs for c in d["counters"]}
    assert set(kept) == sent and len(kept) == len(sent)
    store.close()  # the CLI opens the store itself, as an operator's command would

    sharp, km, lexmark, ricoh = docs
    # Defaults per vendor and model, a contract's own names, and a default for a normalised meter.
    for argv in (
        ["Full Color Print Count", "CLR-PRINT", "--vendor", "sharp"],
        ["totalMonoSafe", "BW-PRINT", "--vendor", "lexmark"],
        ["Total print black", "KM-BW-PRINT", "--model", km["model"]],
        ["Total print black", "WRONG", "--vendor", "sharp"],  # another vendor: not used for KM
        ["total", "TOTAL"],
        ["total", "SITE-A-TOTAL", "--site", "site-a"],  # the contract's name wins
        ["Total", "RICOH-TOTAL", "--vendor", "ricoh"],
    ):
        code, _ = run_cli("collector", "meters", "set", *argv, "--store", str(path))
        assert code == 0, argv
    code, listed = run_cli("collector", "meters", "list", "--json", "--store", str(path))
    assert code == 0 and len(listed.splitlines()) == 7

    out = tmp_path / "export.csv"
    code, _ = run_cli("collector", "export", "--cycle", CYCLE, "--store", str(path), "-o", str(out))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    got = {(r["serial"], r["meter"]): r for r in rows}

    def counter(doc: dict[str, Any], name: str) -> int:
        return next(c["value"] for c in doc["counters"] if c["name"] == name)

    assert int(got[(sharp["serial"], "CLR-PRINT")]["value"]) == counter(sharp, "Full Color Print Count")
    assert int(got[(lexmark["serial"], "BW-PRINT")]["value"]) == counter(lexmark, "totalMonoSafe")
    assert int(got[(km["serial"], "KM-BW-PRINT")]["value"]) == counter(km, "Total print black")
    assert int(got[(ricoh["serial"], "RICOH-TOTAL")]["value"]) == counter(ricoh, "Total")
    for d in docs:
        assert int(got[(d["serial"], "SITE-A-TOTAL")]["value"]) == d["meters"]["total"]
    assert not any(r["meter"] in ("TOTAL", "WRONG") for r in rows)
    assert {(r["site"], r["cycle"], r["read_at"]) for r in rows} == {
        ("site-a", CYCLE, "2026-12-01T09:00:00Z")
    }
    assert {r["model"] for r in rows} == {d["model"] for d in docs}
    assert len(rows) == 4 + len(docs), "only meters with an ERP name, each once"

    # JSON, with the unmapped meters under the device's own names: nothing is silently dropped.
    code, text = run_cli("collector", "export", "--cycle", CYCLE, "--format", "json", "--unmapped",
                         "--store", str(path))  # fmt: skip
    every = json.loads(text)
    assert code == 0 and sum(not r["mapped"] for r in every) >= len(sent) - 4
    assert {r["device_meter"] for r in every if r["source"] == "counter"} == {c[1] for c in sent}

    code, _ = run_cli("collector", "meters", "remove", "total", "--site", "site-a", "--store", str(path))
    assert code == 0
    code, _ = run_cli("collector", "export", "--cycle", CYCLE, "--store", str(path), "-o", str(out))
    assert {r["meter"] for r in csv.DictReader(io.StringIO(out.read_text()))} >= {"TOTAL"}
    # The collector's view of them (also GET /api/counters): the latest read's counters.
    code, text = run_cli("collector", "counters", "--json", "--store", str(path))
    viewed = [json.loads(line) for line in text.splitlines()]
    assert code == 0 and {(v["serial"], v["name"], v["oid"], v["value"]) for v in viewed} == sent
    code, _ = run_cli("collector", "meters", "set", "", "X", "--store", str(path))
    assert code == 2
    code, _ = run_cli("collector", "export", "--cycle", "december", "--store", str(path))
    assert code == 2
    nursery.cancel_scope.cancel()
