"""A message too large for the collector is cut along its devices (uplink/parts.py): every part
within the limits, every device row in exactly one part, in order, the rest of the message in
each. The end-to-end proof, a real collector given the parts, is in test_large_messages.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from printwatch.collector.ingest import MAX_DEVICES
from printwatch.uplink.codec import MAX_PAYLOAD_BYTES, decode_payload, encode_payload
from printwatch.uplink.messages import DeviceDay, aggregate_data, billing_data, reorder_data
from printwatch.uplink.parts import PART_BYTES, PART_DEVICES, parts, rows_of, size_of

DAY = dt.date(2027, 2, 28)


def aggregate(devices: int) -> dict[str, Any]:
    days = {
        n: DeviceDay(
            polls=4,
            answered=4 - n % 2,
            status="running" if n % 3 else "warning",
            meters={"total": 1000 * n, "black": 700 * n, **({"color": 300 * n} if n % 4 else {})},
            supplies=[n % 100, None, (7 * n) % 100],
        )
        for n in range(1, devices + 1)
    }
    data, _ = aggregate_data(DAY, 4, days, {n: {"total": 999 * n} for n in range(1, devices + 1, 2)})
    assert data is not None
    return data


def register(devices: int, *, bases: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "appliance": {"version": "test"},
        "devices": [
            {
                "n": n,
                "serial": f"SER{n:06d}",
                "vendor": "hp",
                "model": "LaserJet M507",
                "supplies": [[1, "toner"]],
            }
            for n in range(1, devices + 1)
        ],
    }
    if bases:
        data["bases"] = [[n, {"total": 10 * n}] for n in range(1, devices + 1)]
    return data


def billing(devices: int) -> dict[str, Any]:
    return billing_data(
        "2027-02-01",
        [
            (n, {"total": 5000 + n, "black": 4000 + n}, [("copy.black", "1.3.6.1.4.1.11.2", n)])
            for n in range(1, devices + 1)
        ],
    )


def reorder(devices: int) -> dict[str, Any]:
    return reorder_data([(n, 1, 9.5, "reorder_point", 3.25) for n in range(1, devices + 1)])


MESSAGES = {"register": register, "aggregate": aggregate, "billing": billing, "reorder": reorder}


def rows(kind: str, data: dict[str, Any]) -> list[Any]:
    """Every device row of a message, as one tuple of all its columns (for aggregates)."""
    if kind == "aggregate":
        columns = [data["n"], data["up"], list(data["st"]), data["s"]]
        columns += [data["m"][name] for name in sorted(data["m"])]
        return list(zip(*columns, strict=True))
    return list(data[{"register": "devices", "billing": "r", "reorder": "t"}[kind]])


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_parts_hold_every_row_once_in_order_each_within_the_limit(kind: str) -> None:
    whole = MESSAGES[kind](500)
    limit = size_of(whole) // 7
    cut = parts(kind, whole, max_bytes=limit)
    assert len(cut) >= 7
    assert all(size_of(p) <= limit for p in cut)
    assert [r for p in cut for r in rows(kind, p)] == rows(kind, whole)
    for p in cut:  # the rest of the message is in every part
        assert {k: v for k, v in p.items() if k not in ("devices", "n", "up", "st", "s", "m", "r", "t")} == {
            k: v for k, v in whole.items() if k not in ("devices", "n", "up", "st", "s", "m", "r", "t")
        }
        if kind == "aggregate":
            assert sorted(p["m"]) == sorted(whole["m"])  # every meter's column, cut alike


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_a_message_within_the_limits_is_one_part_the_same_object(kind: str) -> None:
    whole = MESSAGES[kind](50)
    assert parts(kind, whole) == [whole] and parts(kind, whole)[0] is whole


def test_a_part_names_at_most_the_devices_asked_whatever_its_bytes() -> None:
    whole = reorder(1000)
    cut = parts("reorder", whole, max_devices=300)
    assert [rows_of("reorder", p) for p in cut] == [250, 250, 250, 250]
    assert [r for p in cut for r in p["t"]] == whole["t"]


def test_a_restarted_streams_bases_go_with_their_devices() -> None:
    whole = register(300, bases=True)
    whole["bases"].append([999, {"total": 1}])  # a base of no listed device: kept, in the last part
    cut = parts("register", whole, max_bytes=size_of(whole) // 4)
    assert len(cut) >= 4
    for p in cut[:-1]:
        assert [b[0] for b in p["bases"]] == [d["n"] for d in p["devices"]]
    assert [b[0] for b in cut[-1]["bases"]] == [d["n"] for d in cut[-1]["devices"]] + [999]
    assert [b for p in cut for b in p["bases"]] == whole["bases"]


@pytest.mark.parametrize("kind", ["sync", "snapshot"])
def test_kinds_of_one_device_or_none_are_never_cut(kind: str) -> None:
    whole = {"sv": 3, "n": 1, "doc": {"descr": "x" * 10_000}}
    assert parts(kind, whole, max_bytes=100) == [whole]


def test_one_device_over_the_limit_is_left_whole() -> None:
    """Nothing smaller can be made of it; the collector's own limits say whether it passes."""
    whole = billing(1)
    assert parts("billing", whole, max_bytes=10) == [whole]


def test_the_limits_are_within_what_a_collector_takes() -> None:
    assert PART_DEVICES <= MAX_DEVICES
    # The largest part, in its message, inflates to less than the collector's cut-off.
    message = {
        "site": "s" * 64,
        "seq": 2**62,
        "kind": "aggregate",
        "at": 2**40,
        "data": {"x": "y" * (PART_BYTES - 20)},
    }
    assert size_of(message["data"]) <= PART_BYTES
    decode_payload(encode_payload(message))  # raises above MAX_PAYLOAD_BYTES
    assert PART_BYTES < MAX_PAYLOAD_BYTES


def test_a_site_of_100000_printers_is_cut_into_parts_the_collector_takes() -> None:
    """The sizes that made a 100,000-printer appliance's uploads refused for ever (its
    registration and aggregates inflate beyond 8 MiB): every part now inflates within it."""
    assert size_of(register(100_000)) > MAX_PAYLOAD_BYTES
    for kind in ("register", "aggregate"):  # this aggregate has 3 meters and 3 supplies a device
        whole = MESSAGES[kind](100_000)
        assert size_of(whole) > PART_BYTES
        cut = parts(kind, whole)
        assert len(cut) >= 2 and sum(rows_of(kind, p) for p in cut) == 100_000
        for p in cut:
            decode_payload(encode_payload({"site": "s", "seq": 1, "kind": kind, "at": 0, "data": p}))
