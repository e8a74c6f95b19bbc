"""The built-in models over simulated weeks, read by printwatch's own poll (the real engine
against the simulator): every counter of a model moves with the others (monotonic, the parts
summing to their totals), supplies fall with the pages that feed them, and the v1-era models
answer SNMPv1 only, as their firmware does, and are still read completely."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from printwatch import catalogue
from printwatch.catalogue.models import Model
from printwatch.catalogue.notes import notes, supplies
from printwatch.engine import Engine
from printwatch.poller.documents import community_targets, poll_documents

from tests.support.simclient import ask, client, request

MODELS = catalogue.load_models()
QUIET = {"offline_rate": 0, "lossy_share": 0, "slow_share": 0, "jam_rate": 0, "door_rate": 0}
DAY_S = 86_400.0
#: (whole, parts): the sums a poll document's meters keep wherever all of them are read.
SUMS = [
    ("total", ("black", "color")),
    ("total", ("print", "copy")),
    ("print", ("print_black", "print_color")),
    ("copy", ("copy_black", "copy_color")),
]


def poll_days(
    days: list[float], base: str, models: list[catalogue.Model], dynamics: dict[str, float] | None = None
) -> list[list[dict[str, Any]]]:
    """Polls every model (one printer each) at each simulated day of ``days``."""
    dynamics = dynamics or {**QUIET, "pages_per_hour_min": 40.0, "pages_per_hour_max": 120.0}
    prefix = base.rsplit(".", 1)[0]
    engine = Engine(timeout_s=0.5, retries=2)
    polls = []
    # Simulated time moves only by advance(): at the default time_scale (1) the pages printed
    # while a two-step poll runs could fall between its meter read and its supply read.
    with catalogue.simulator(
        models, count=len(models), base=base, port=0, dynamics=dynamics, seed=4, time_scale=1e-9
    ) as sim:
        addresses = [(m.id, f"{prefix}.{i + 1}", sim.port) for i, m in enumerate(models)]
        at = 0.0
        for day in days:
            sim.advance((day - at) * DAY_S)
            at = day
            polls.append(poll_documents(addresses, community_targets("public"), engine=engine))
    return polls


def test_every_counter_moves_with_the_others_over_simulated_weeks() -> None:
    models = list(MODELS)
    polls = poll_days([0, 1, 4, 9, 16, 25], "127.26.2.1", models)
    parts_checked = 0
    for m, docs in zip(models, zip(*polls, strict=True), strict=True):
        assert all(d["reachable"] for d in docs), m.id
        names = set(docs[0]["meters"])
        assert names and all(set(d["meters"]) == names for d in docs), m.id
        for before, after in pairwise(docs):
            for name in names:
                assert after["meters"][name] >= before["meters"][name], (m.id, name)
        assert docs[-1]["meters"]["total"] > docs[0]["meters"]["total"] + 25 * 24 * 30, m.id
        # every counter the model has moves, but those of a function it lacks (they count 0)
        counts = m.counters()
        for name in names:
            if counts.get(name, 1) > 0:
                assert docs[-1]["meters"][name] > docs[0]["meters"][name], (m.id, name)
        for doc in docs:
            meters = doc["meters"]
            for whole, parts in SUMS:
                if whole in meters and all(p in meters for p in parts):
                    assert meters[whole] == sum(meters[p] for p in parts), (m.id, whole, parts, meters)
                    parts_checked += 1
    assert parts_checked >= 6 * 40, "most models have parts that sum to a total"


def test_supplies_fall_with_the_pages_that_feed_them() -> None:
    models = [m for m in MODELS if supplies(m)]
    polls = poll_days([0, 2, 4, 6, 8, 10, 12, 14], "127.26.3.1", models)
    drained = exact = 0
    for m, docs in zip(models, zip(*polls, strict=True), strict=True):
        for before, after in pairwise(docs):
            got_drained, got_exact = drain_between(m, before, after)
            drained += got_drained
            exact += got_exact
    assert drained >= 100 and exact >= 10, (drained, exact)
    # The alerts and the status follow the moving levels: a toner alert only while a supply is
    # low or empty, and the printer running exactly when nothing is alerted.
    toner_alerts = 0
    for m, docs in zip(models, zip(*polls, strict=True), strict=True):
        toner_alerts += sum(toner_alerted(m, doc) for doc in docs)
    assert toner_alerts >= 3, toner_alerts


def drain_between(m: Model, before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    """Checks a model's supplies from one poll to the next against the pages printed between;
    the supplies that drained, and those that drained by exactly the pages."""
    moving = {index for index, *_ in supplies(m)}
    feeds = {index: (feed, is_exact) for index, feed, _, is_exact in supplies(m)}
    pages = after["meters"]["total"] - before["meters"]["total"]
    assert pages > 0, m.id
    drained = exact = 0
    for a, b in zip(before["supplies"], after["supplies"], strict=True):
        if a["index"] not in moving:
            assert a["level"] == b["level"], (m.id, a["description"], "special values stay")
            continue
        if b["level"] > a["level"]:
            continue  # replaced
        drained += b["level"] < a["level"]
        feed, is_exact = feeds[a["index"]]
        if is_exact and b["level"] > 0:
            # counted in impressions: down by exactly the pages printed
            assert a["level"] - b["level"] == pages, (m.id, a["description"])
            exact += 1
        if feed == "color":
            colour = after["meters"].get("color", 0) - before["meters"].get("color", 0)
            if "color" in after["meters"] and colour == 0:
                assert a["level"] == b["level"], (m.id, a["description"], "no colour page, no drain")
    return drained, exact


def toner_alerted(m: Model, doc: dict[str, Any]) -> bool:
    """Checks a document's status against its alerts; whether it has a toner alert (then with
    a supply low or empty)."""
    codes = {a["code"] for a in doc["alerts"]}
    assert (doc["status"]["device"] == "running") == (not doc["alerts"]), (m.id, doc["alerts"])
    if codes & {"markerTonerAlmostEmpty", "markerTonerEmpty"}:
        assert any(s["state"] in ("low", "empty") for s in doc["supplies"]), (m.id, doc["supplies"])
        return True
    return False


def test_v1_only_models_answer_v1_and_printwatch_still_reads_them() -> None:
    old = [m for m in MODELS if m.versions == ("1",)]
    assert old and all(notes(m).splitlines()[1] == "versions|1" for m in old)
    engine = Engine(timeout_s=0.3, retries=2)
    with catalogue.simulator(old, count=len(old), base="127.26.4.1", port=0) as sim, client() as sock:
        addresses = [(m.id, f"127.26.4.{i + 1}", sim.port) for i, m in enumerate(old)]
        for _, host, port in addresses:
            # old firmware drops a version it does not speak: no answer, no error
            assert ask(sock, (host, port), request("get", ["1.3.6.1.2.1.1.1.0"], version=1), 0.3) is None
            reply = ask(sock, (host, port), request("get", ["1.3.6.1.2.1.1.1.0"], version=0), 0.3)
            assert reply is not None and reply.version == 0
        auto = poll_documents(addresses, community_targets("public"), engine=engine)
        forced = poll_documents(addresses, community_targets("public", version="2c"), engine=engine)
    for m, doc, v2c in zip(old, auto, forced, strict=True):
        assert doc["reachable"] and not v2c["reachable"], m.id
        assert doc["serial"] and doc["meters"]["total"] == m.pages, m.id
        coarse = [s for s in doc["supplies"] if s["level"] == -3]
        assert coarse and all(s["state"] == "some_remaining" and s["percent"] is None for s in coarse), m.id


def test_trays_drain_with_the_sheets_printed_are_refilled_and_sometimes_run_empty() -> None:
    """Every model's paper trays (not its manual feed) lose the sheets printed, are refilled,
    and now and then run empty: the printer then says noPaper (lowPaper when low) and shows an
    inputMediaSupplyEmpty (Low) alert, as real ones do. Read by printwatch's own poll, a poll
    every quarter of a simulated hour (under 30 sheets: at most one refill between polls)."""
    models = list(MODELS[::3])
    busy = {**QUIET, "pages_per_hour_min": 100.0, "pages_per_hour_max": 120.0}
    polls = poll_days([k / 96 for k in range(48)], "127.26.5.1", models, busy)
    refills = empties = exact = 0
    for m, docs in zip(models, zip(*polls, strict=True), strict=True):
        paper = {t["index"] for t in docs[0]["trays"] if (t["max_capacity"] or 0) > 0 and t["level"] >= 0}
        paper -= {i for i, t in enumerate(m.trays, 1) if t.type == "manual"}
        # A duplex sheet carries two pages: read from its meter, else its share from the notes
        # (then within a sheet: the part is rounded down).
        duplex = dict(line.split("|")[1:] for line in notes(m).splitlines() if line.startswith("share|"))
        read = "duplex" in docs[0]["meters"]
        for before, after in pairwise(docs):
            pages = after["meters"]["total"] - before["meters"]["total"]
            if read:
                sheets = pages - (after["meters"]["duplex"] - before["meters"]["duplex"])
            else:
                sheets = pages - round(pages * float(duplex.get("duplex", 0)))
            levels = [
                (a["level"], b["level"])
                for a, b in zip(before["trays"], after["trays"], strict=True)
                if a["index"] in paper
            ]
            refilled = any(b > a for a, b in levels)
            refills += refilled
            if levels and not refilled and all(b > 0 for _, b in levels):
                # no refill, none ran out: the trays lost exactly the sheets printed
                drop = sum(a - b for a, b in levels)
                assert abs(drop - sheets) <= (0 if read else 1), (m.id, levels, pages, sheets)
                exact += 1
        for doc in docs:
            empties += paper_status_agrees(m, doc, paper)
    assert refills >= 20 and exact >= 200 and empties >= 3, (refills, exact, empties)


def paper_status_agrees(m: Model, doc: dict[str, Any], paper: set[int]) -> bool:
    """Checks a document's paper bits and alerts against its trays; whether a tray is empty."""
    trays = [t for t in doc["trays"] if t["index"] in paper]
    empty = any(t["state"] == "empty" for t in trays)
    low = any(t["state"] == "low" for t in trays)
    errors, codes = set(doc["status"]["errors"]), {a["code"] for a in doc["alerts"]}
    assert ("noPaper" in errors) == empty == ("inputMediaSupplyEmpty" in codes), (m.id, trays, errors, codes)
    assert ("lowPaper" in errors) == low == ("inputMediaSupplyLow" in codes), (m.id, trays, errors, codes)
    if empty:
        assert doc["status"]["device"] in ("warning", "down"), (m.id, doc["status"])
    return empty
