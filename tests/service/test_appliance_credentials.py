"""The appliance's poller tries its credentials in order, SNMPv3 users first, then communities,
and remembers the one that answered; a bad SNMPv3 profile is a configuration problem."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from printwatch.config import ConfigError, parse_config
from printwatch.config.model import SnmpConfig, SnmpV3Profile
from printwatch.config.targets import expand_devices
from printwatch.engine import V3Credentials
from printwatch.service.poller import EnginePoller

from tests.support.recordings import built_in_fleet

NOW = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)


def test_a_bad_v3_profile_names_its_table_and_line(tmp_path: Path) -> None:
    text = (
        f'[appliance]\nstate_dir = "{tmp_path}"\n\n'
        '[[snmp.v3]]\nuser = "pw"\nauth_proto = "SHA-999"\nauth_pass = "longenough"\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="v3.toml")
    [problem] = info.value.problems
    assert (problem.line, problem.key) == (4, "snmp.v3[0]") and "SHA-999" in problem.message


async def test_communities_are_tried_in_order_and_the_one_that_answered_is_kept() -> None:
    with built_in_fleet(count=5, base="127.25.0.1", port=0, community="site") as sim:
        devices = expand_devices(f"{sim.first}-{sim.last}:{sim.port}")
        poller = EnginePoller(
            SnmpConfig(communities=("public", "site"), timeout_s=0.2, retries=0), local_address="127.0.0.1"
        )
        docs = await poller.poll(devices, "status", NOW)
        assert all(d["reachable"] for d in docs)
        assert set(poller.credential_of.values()) == {1}
        sent = poller.stats.packets_sent
        docs = await poller.poll(devices, "status", NOW)  # straight to "site" this time
        assert all(d["reachable"] for d in docs) and poller.stats.timeouts == 5  # only the first cycle's
        assert poller.stats.packets_sent - sent < sent


async def test_a_v3_user_is_tried_before_the_communities() -> None:
    user = V3Credentials("printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1")
    with built_in_fleet(count=3, base="127.25.1.1", port=0, community="nobody-knows", v3=user) as sim:
        devices = expand_devices(f"{sim.first}-{sim.last}:{sim.port}")
        profile = SnmpV3Profile("printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1")
        poller = EnginePoller(
            SnmpConfig(communities=("public",), v3=(profile,), timeout_s=0.3, retries=0),
            local_address="127.0.0.1",
        )
        docs = await poller.poll(devices, "meters", NOW)
        assert all(d["reachable"] for d in docs) and all(d["version"] == "3" for d in docs), docs[0]
        assert set(poller.credential_of.values()) == {0}


async def test_a_v3_user_is_tried_only_for_the_printers_in_its_networks() -> None:
    user = V3Credentials("printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1")
    with built_in_fleet(count=4, base="127.25.2.1", port=0, v3=user) as sim:
        devices = expand_devices(f"{sim.first}-{sim.last}:{sim.port}")
        # The first two printers are this user's; the others are read with the community only.
        mine = SnmpV3Profile(
            "printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1",
            networks=(ipaddress.IPv4Network("127.25.2.0/31"),),
        )  # fmt: skip
        elsewhere = SnmpV3Profile(
            "other", "SHA-256", "auth-pass-2", networks=(ipaddress.IPv4Network("10.9.0.0/16"),)
        )
        poller = EnginePoller(
            SnmpConfig(communities=("public",), v3=(elsewhere, mine), timeout_s=0.3, retries=0),
            local_address="127.0.0.1",
        )
        docs = await poller.poll(devices, "status", NOW)
        assert all(d["reachable"] for d in docs)
        assert [d["version"] for d in docs] == ["3", "2c", "2c", "2c"]  # 127.25.2.1 is in the /31
        # No printer was asked as "other" (not its network), nor as "printwatch" outside its own.
        assert sorted(poller.credential_of.values()) == [1, 2, 2, 2] and poller.stats.timeouts == 0


def test_v3_networks_are_read_and_checked_with_their_lines(tmp_path: Path) -> None:
    head = f'[appliance]\nstate_dir = "{tmp_path}"\n\n[[snmp.v3]]\nuser = "pw"\n'
    config = parse_config(head + 'networks = ["10.1.0.0/16", "10.2.3.4"]\n', source="v3.toml")
    assert config.snmp.v3[0].networks == (
        ipaddress.IPv4Network("10.1.0.0/16"), ipaddress.IPv4Network("10.2.3.4/32"),
    )  # fmt: skip
    assert config.snmp.v3[0].applies_to("10.2.3.4") and not config.snmp.v3[0].applies_to("10.2.3.5")
    with pytest.raises(ConfigError) as info:
        parse_config(head + 'networks = ["10.1.0.0/33"]\n', source="v3.toml")
    [problem] = info.value.problems
    assert (problem.line, problem.key) == (6, "snmp.v3[0].networks[0]") and "IPv4" in problem.message
