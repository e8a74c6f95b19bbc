"""The appliance's poller tries its credentials in order, SNMPv3 users first, then communities,
and remembers the one that answered; a bad SNMPv3 profile is a configuration problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from printwatch.cli.demo import default_recordings
from printwatch.config import ConfigError, parse_config
from printwatch.config.model import SnmpConfig, SnmpV3Profile
from printwatch.config.targets import expand_devices
from printwatch.engine import V3Credentials
from printwatch.service.poller import EnginePoller
from printwatch.sim import Simulator

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


@pytest.mark.trio
async def test_communities_are_tried_in_order_and_the_one_that_answered_is_kept() -> None:
    with Simulator(default_recordings(), count=5, base="127.25.0.1", port=0, community="site") as sim:
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


@pytest.mark.trio
async def test_a_v3_user_is_tried_before_the_communities() -> None:
    user = V3Credentials("printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1")
    with Simulator(
        default_recordings(), count=3, base="127.25.1.1", port=0, community="nobody-knows", v3=user
    ) as sim:
        devices = expand_devices(f"{sim.first}-{sim.last}:{sim.port}")
        profile = SnmpV3Profile("printwatch", "SHA-256", "auth-pass-1", "AES", "priv-pass-1")
        poller = EnginePoller(
            SnmpConfig(communities=("public",), v3=(profile,), timeout_s=0.3, retries=0),
            local_address="127.0.0.1",
        )
        docs = await poller.poll(devices, "meters", NOW)
        assert all(d["reachable"] for d in docs) and all(d["version"] == "3" for d in docs), docs[0]
        assert set(poller.credential_of.values()) == {0}
