"""``[uplink] endpoints``: more front ends of one collector, tried in turn after ``url``
(python/printwatch/uplink/transport.py). Each bad entry names its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from printwatch.config import ConfigError, parse_config

UPLINK = "[uplink]\nurl = 'https://a.example/api/v1'\nsite_id = 's'\n"


def parse(tmp_path: Path, text: str) -> tuple[str, ...]:
    config = parse_config(f'[appliance]\nstate_dir = "{tmp_path}"\n' + UPLINK + text, source="site.toml")
    assert config.uplink is not None
    return config.uplink.endpoints


def test_endpoints_are_read_in_order_and_default_to_none(tmp_path: Path) -> None:
    assert parse(tmp_path, "") == ()
    got = parse(tmp_path, "endpoints = ['https://b.example/api/v1', 'https://c.example:8443/api/v1']\n")
    assert got == ("https://b.example/api/v1", "https://c.example:8443/api/v1")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("endpoints = 'https://b.example'\n", "uplink.endpoints", "expected an array"),
        ("endpoints = ['http://b.example']\n", "uplink.endpoints[0]", "must be https://"),
        ("endpoints = [7]\n", "uplink.endpoints[0]", "expected a string"),
        ("endpoints = ['https://a.example/api/v1/']\n", "uplink.endpoints[0]", "named twice"),
        (
            "endpoints = ['https://b.example', 'https://b.example']\n",
            "uplink.endpoints[1]",
            "named twice",
        ),
        (
            "endpoints = [" + ", ".join(f"'https://{i}.example'" for i in range(9)) + "]\n",
            "uplink.endpoints",
            "at most 8",
        ),
    ],
)
def test_each_bad_endpoint_names_its_key_and_line(tmp_path: Path, text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(tmp_path, text)
    [problem] = info.value.problems
    assert (problem.line, problem.key) == (6, key)
    assert message in problem.message
