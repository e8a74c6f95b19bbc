"""The ICMP sweep from Python (``printwatch._core.IcmpSweep`` and ``icmp_sweep_async``) on
loopback, where the kernel answers every echo: results in batches, statistics, a Trio cancel
that stops the sending within 100 ms and keeps what was found, and its errors. Skipped where this
process may open no ICMP socket."""

from __future__ import annotations

import pytest
import trio
from printwatch.discovery import IcmpSweep, expand_networks, icmp_kind, icmp_sweep_async

KIND = icmp_kind()
pytestmark = pytest.mark.skipif(
    KIND is None, reason="no ICMP socket may be opened here (no CAP_NET_RAW, ping_group_range)"
)


def test_every_address_answers_and_is_counted() -> None:
    addresses = expand_networks(["127.43.0.0/23"])
    sweep = IcmpSweep(addresses, kind=KIND or "raw", timeout_s=0.5, max_pps=20_000)
    found = trio.run(icmp_sweep_async, sweep)
    assert [a for _, a, _ in found] == addresses
    assert all(rtt >= 0 for _, _, rtt in found)
    s = sweep.statistics()
    assert (s["targets"], s["probed"], s["finished"], s["alive"]) == (510, 510, 510, 510)
    assert (s["packets_sent"], s["bytes_sent"]) == (510, 510 * 16)
    assert s["replies"] == 510 and not s["limited"] and not s["cancelled"]
    assert sweep.done and sweep.kind == KIND


@pytest.mark.realtime
async def test_a_cancel_stops_the_sending_within_100_ms_and_keeps_what_was_found() -> None:
    # A /16 at 2,000 a second would take 33 s.
    sweep = IcmpSweep(expand_networks(["127.44.0.0/16"]), kind=KIND or "raw", timeout_s=0.5, max_pps=2_000)
    seen: list[tuple[int, str, float]] = []
    with trio.move_on_after(0.5):
        await icmp_sweep_async(sweep, on_found=seen.extend)
    # The cancel reached the Rust thread on the way out; it ends within one 20 ms turn.
    await trio.sleep(0.1)
    assert sweep.done
    sent = sweep.statistics()["packets_sent"]
    await trio.sleep(0.2)
    s = sweep.statistics()
    assert s["packets_sent"] == sent and s["cancelled"]
    assert 0 < len(seen) <= sent <= 2_000 * 0.6


def test_bad_input_names_itself() -> None:
    with pytest.raises(ValueError, match="kind"):
        IcmpSweep(["127.0.0.1"], kind="tcp")
    with pytest.raises(ValueError, match=r"300\.1\.1\.1"):
        IcmpSweep(["300.1.1.1"])
    with pytest.raises(ValueError, match="max_pps"):
        IcmpSweep(["127.0.0.1"], kind=KIND or "raw", max_pps=0)
    with pytest.raises(ValueError, match="limit_s"):
        IcmpSweep(["127.0.0.1"], kind=KIND or "raw", limit_s=-1)
