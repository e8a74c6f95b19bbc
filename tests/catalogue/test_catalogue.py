"""The built-in printer models (printwatch.catalogue): what the catalogue holds, and every model
read completely by printwatch's own poll (the real engine against the simulator on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from printwatch import catalogue
from printwatch.catalogue.models import parse_models
from printwatch.engine import Engine
from printwatch.mib.colors import description_color
from printwatch.mib.levels import read_level
from printwatch.mib.supplies import clean_description
from printwatch.mib.vendors import load_maps
from printwatch.poller.documents import community_targets, poll_documents
from printwatch.sim import Simulator

MODELS = catalogue.load_models()
BASE = "127.26.0.1"


def test_the_catalogue_covers_every_vendor_and_kind_of_device() -> None:
    vendors = {m.vendor for m in MODELS}
    assert vendors == set(load_maps()) - {"pwg"}, "every vendor printwatch has a meter map for"
    assert len(MODELS) >= 40 and len({m.id for m in MODELS}) == len(MODELS)
    kinds = {m.kind for m in MODELS}
    assert {
        "mono_laser",
        "color_laser",
        "mono_mfp",
        "color_mfp",
        "inkjet_mfp",
        "production",
        "label",
    } <= kinds
    assert any({"copy", "scan", "fax"} <= m.functions for m in MODELS), "an MFP with copy, scan and fax"
    old = [m for m in MODELS if m.versions == ("1",)]
    assert old and all(any(s.level == -3 for s in m.supplies) for m in old), "v1-only firmware, coarse levels"
    assert sum(any(s.type == "wasteToner" for s in m.supplies) for m in MODELS) >= 5
    assert any(s.type == "wasteInk" for m in MODELS for s in m.supplies)
    assert sum(any("Maintenance Kit" in s.description for s in m.supplies) for m in MODELS) >= 3
    # one vendor after another in turn: the first printers of a fleet are all different makes
    assert len({m.vendor for m in MODELS[: len(vendors)]}) == len(vendors)


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[Simulator, list[dict[str, Any]]]]:
    with catalogue.simulator(count=len(MODELS), base=BASE, port=0) as sim:
        addresses = [(m.id, f"127.26.0.{i + 1}", sim.port) for i, m in enumerate(MODELS)]
        docs = poll_documents(addresses, community_targets("public"), engine=Engine(timeout_s=1.0, retries=2))
        yield sim, docs


def expected_supply(s: catalogue.Supply) -> tuple[Any, ...]:
    meaning = read_level(s.level, s.max_capacity, unit_percent=s.unit == "percent", low_percent=10.0)
    name = clean_description(s.description)
    # the colorant row the supply points at, else the colour its name says (printwatch's rule)
    return (name, s.level, s.max_capacity, s.color or description_color(name), meaning.state)


@pytest.mark.parametrize("index", range(len(MODELS)), ids=[m.id for m in MODELS])
def test_every_model_is_read_completely(fleet: tuple[Simulator, list[dict[str, Any]]], index: int) -> None:
    sim, docs = fleet
    model, doc, info = MODELS[index], docs[index], sim.printer(index)
    assert doc["reachable"], doc
    assert info["recording"] == model.id
    assert (doc["vendor"], doc["model"]) == (model.vendor, model.model)
    # the printer's own identity (the simulator's), not the model's recorded one
    assert doc["serial"] == info["serial"] and doc["serial"] != model.serial
    assert doc["mac"] == info["mac"] and doc["mac"][:8] == model.oui.lower()
    assert doc["sys"]["name"] == info["sys_name"]
    assert doc["status"] == catalogue.status_of(model)
    # every meter of the vendor's map, read from the vendor's OID, with its value
    counters = model.counters()
    for rule in load_maps()[model.vendor].meters:
        assert doc["meters"].get(rule.name) == counters[rule.name], rule.name
        assert doc["meter_evidence"][rule.name]["rule"] == rule.rule
        assert doc["meter_evidence"][rule.name]["oid"] == rule.oid
    assert doc["meters"]["total"] == model.pages and doc["meter_evidence"]["total"]["oid"]
    if not model.color:
        assert doc["meters"].get("color", 0) == 0
    # every supply with its level, what it means, and its colour
    got = [(s["description"], s["level"], s["max_capacity"], s["color"], s["state"]) for s in doc["supplies"]]
    assert got == [expected_supply(s) for s in model.supplies]
    assert all(s["state"] != "unknown" for s in doc["supplies"])
    classes = ["filled" if s.receptacle else "consumed" for s in model.supplies]
    assert [s["class"] for s in doc["supplies"]] == classes
    trays = [(t["name"], t["media"], t["level"], t["max_capacity"]) for t in doc["trays"]]
    assert trays == [(t.name, t.media, t.level, t.max_capacity) for t in model.trays]
    assert doc["failures"] == [] and [w for w in doc["warnings"] if "prtAlertTable" not in w] == []


def test_every_counter_table_row_is_read_back(fleet: tuple[Simulator, list[dict[str, Any]]]) -> None:
    """The vendors' counter tables the models answer are walked whole and read back as named
    counters: every row with its OID, value and the name the device (or its type code, or the
    vendor's source) gives it, so that a demo's billing reads look like a real fleet's."""
    _, docs = fleet
    with_rows = 0
    for model, doc in zip(MODELS, docs, strict=True):
        vmap = load_maps()[model.vendor]
        counters = model.counters()
        got = {c["oid"]: c for c in doc["counters"]}
        for row in model.counter_rows:
            with_rows += 1
            counter = got[row.oid]
            assert counter["value"] == counters[row.meter], (model.id, row.oid)
            assert counter["source"] == f"{model.vendor}.counter_table", (model.id, row.oid)
            table = next(t for t in vmap.counter_tables if row.oid.startswith(t.values + "."))
            index = row.oid[len(table.values) + 1 :]
            expected = row.name or dict(table.type_names).get(row.type or 0) or dict(table.labels).get(index)
            assert counter["name"] == (expected or f"{table.prefix}.{index}"), (model.id, row.oid)
        # every meter OID under a walked table is a named counter of that table, not of the map
        for rule in vmap.meters:
            if any(rule.oid.startswith(t.values + ".") for t in vmap.counter_tables):
                assert got[rule.oid]["source"] == f"{model.vendor}.counter_table", (model.id, rule.oid)
    assert with_rows >= 20


def test_alerts_follow_the_levels(fleet: tuple[Simulator, list[dict[str, Any]]]) -> None:
    _, docs = fleet
    for model, doc in zip(MODELS, docs, strict=True):
        low = [s for s in doc["supplies"] if s["state"] in ("low", "empty")]
        fed = [t for t, spec in zip(doc["trays"], model.trays, strict=True) if spec.type != "manual"]
        low_trays = [t for t in fed if t["state"] in ("low", "empty")]
        codes = {a["code"] for a in doc["alerts"]}
        assert len(doc["alerts"]) == len(low) + len(low_trays), model.id
        assert (doc["status"]["device"] == "running") == (not doc["alerts"]), model.id
        if any(s["type"] in ("toner", "tonerCartridge") for s in low):
            assert "markerTonerAlmostEmpty" in codes and "lowToner" in doc["status"]["errors"], model.id
        if any(s["type"] == "wasteToner" for s in low):
            assert "markerWasteTonerReceptacleAlmostFull" in codes, model.id
        if any(t["state"] == "empty" for t in low_trays):
            assert "inputMediaSupplyEmpty" in codes and "noPaper" in doc["status"]["errors"], model.id
        if any(t["state"] == "low" for t in low_trays):
            assert "inputMediaSupplyLow" in codes and "lowPaper" in doc["status"]["errors"], model.id
    assert sum(bool(d["alerts"]) for d in docs) >= 10, "a fleet with some printers that need something"


def test_a_bad_model_file_names_the_file_the_model_and_the_key() -> None:
    good = """vendor = "hp"
brand = "HP"
oui = "3C:A8:2A"
object_id = "1.3.6.1.4.1.11"
sys_name = "NPI1"
tech = "laser"
source = "test"
[[model]]
id = "x"
model = "X"
kind = "mono_laser"
sys_descr = "HP X"
serial = "S1"
pages = 1000
supplies = [{ type = "toner", description = "Black", level = 5 }]
trays = [{ name = "Tray 1", media = "A4", max = 10, level = 3 }]
"""
    [model] = parse_models(good, "t.toml")
    assert model.supplies[0].max_capacity == 100 and model.trays[0].type == "tray"
    for bad, words in [
        (good.replace('kind = "mono_laser"', 'kind = "fax_machine"'), "t.toml: x: 'kind'"),
        (good.replace('type = "toner"', 'type = "tonr"'), "t.toml: x: supplies[0]: 'type'"),
        (good.replace("level = 3 }", "level = 11 }"), "t.toml: x: trays[0]: level 11"),
        (good.replace('vendor = "hp"', 'vendor = "acme"'), "t.toml: 'vendor' 'acme'"),
        (good.replace('oui = "3C:A8:2A"', 'oui = "3CA82A"'), "t.toml: x: 'oui'"),
    ]:
        with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
            parse_models(bad, "t.toml")
