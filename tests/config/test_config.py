"""The configuration file: the documented example loads, every error names its key and line,
secrets are read encrypted from a key file that only the service can read."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

import pytest
from printwatch.config import ConfigError, SecretError, SecretStore, load_config, parse_config
from printwatch.config.locate import key_lines
from printwatch.config.targets import expand_devices

EXAMPLE = Path(__file__).resolve().parents[2] / "appliance" / "printwatch.toml"


def store_in(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "secret.key", tmp_path / "secrets.json")


def with_state(text: str, tmp_path: Path) -> str:
    return text.replace('state_dir = "/var/lib/printwatch"', f'state_dir = "{tmp_path}"')


def test_the_documented_example_loads_with_its_secrets(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    for name, value in [
        ("community_site", "s1te-c0mmunity"),
        ("smtp_password", "mail pass"),
        ("uplink_token", "tok"),
    ]:
        store.set(name, value)
    config = parse_config(with_state(EXAMPLE.read_text(), tmp_path), source="printwatch.toml")
    assert config.snmp.communities == ("s1te-c0mmunity", "public")
    assert config.smtp is not None and config.smtp.password == "mail pass"
    assert config.uplink is not None and config.uplink.token == "tok"
    assert config.networks[0].cidr == ipaddress.IPv4Network("192.168.10.0/24")
    assert config.networks[0].exclude[1] == ipaddress.IPv4Network("192.168.10.200/29")
    assert config.intervals.status_s == 300 and config.intervals.meters_s == 7200
    assert config.intervals.upload_times == (dt.time(2, 30),)
    assert config.devices == (("printer-lobby.example.lan", 161), ("192.168.10.50", 161))
    assert config.web.port == 8080
    assert config.appliance.store_path == tmp_path / "history.duckdb"
    assert config.appliance.store_memory_mb == 512
    assert config.alerts.reorder_lead_days == 7 and config.alerts.clear_after_polls == 2
    assert config.alerts.retry_max_s == 3600 and config.webhooks == ()


def test_alert_settings_thresholds_per_type_and_webhooks(tmp_path: Path) -> None:
    store_in(tmp_path).set("hook", "t0k")
    text = f"""
[appliance]
state_dir = "{tmp_path}"
[thresholds]
supply_low_percent = 25
[thresholds.supply_low_by_type]
toner = 15
ink = 12.5
[alerts]
reorder_lead_days = 10
notify_closed = false
[[webhooks]]
url = "https://hooks.example.com/a"
token = "secret:hook"
[[webhooks]]
url = "http://127.0.0.1:9/chat"
format = "text"
"""
    config = parse_config(text)
    assert config.thresholds.supply_low() == {"default": 25.0, "toner": 15.0, "ink": 12.5}
    assert config.alerts.reorder_lead_days == 10 and not config.alerts.notify_closed
    assert [(w.url, w.format, w.token) for w in config.webhooks] == [
        ("https://hooks.example.com/a", "json", "t0k"),
        ("http://127.0.0.1:9/chat", "text", None),
    ]


def test_without_the_secrets_the_example_names_each_missing_one_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(with_state(EXAMPLE.read_text(), tmp_path), source="printwatch.toml")
    lines = EXAMPLE.read_text().splitlines()
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"snmp.communities[0]", "smtp.password", "uplink.token"}
    for key, needle in [
        ("snmp.communities[0]", "communities = "),
        ("smtp.password", "password = "),
        ("uplink.token", "token = "),
    ]:
        line = problems[key].line
        assert line is not None and lines[line - 1].startswith(needle)
    assert "no secret named 'community_site'" in str(info.value)
    assert (
        str(info.value)
        .splitlines()[0]
        .startswith(f"printwatch.toml:{problems['snmp.communities[0]'].line}: ")
    )


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            "[intervals]\nstatus_minutes = 90\n",
            2,
            "intervals.status_minutes",
            "out of range: 1 to 60 minutes",
        ),
        ("\n[intervals]\nstatus_minute = 5\n", 3, "intervals.status_minute", "unknown key"),
        ("[snmp]\ntimeout_s = 'fast'\n", 2, "snmp.timeout_s", "expected an integer or a number, got str"),
        ("[snmp]\nretries = true\n", 2, "snmp.retries", "got a boolean"),
        (
            "[[networks]]\ncidr = '10.0.0.0/24'\n\n[[networks]]\ncidr = '10.0.1.0/33'\n",
            5,
            "networks[1].cidr",
            "not an IPv4 network",
        ),
        (
            "[[networks]]\ncidr = '10.0.0.0/24'\nexclude = [\n  '10.0.0.1',\n  'ten',\n]\n",
            3,
            "networks[0].exclude[1]",
            "not an IPv4 network",
        ),
        (
            "[intervals]\nupload_times = ['1:00', '2:00', '3:00', '4:00', '5:00']\n",
            2,
            "intervals.upload_times",
            "at most 4",
        ),
        ("[intervals]\nupload_times = ['25:00']\n", 2, "intervals.upload_times[0]", "not a time of day"),
        ("[intervals]\nbilling_cycle = 'weekly'\n", 2, "intervals.billing_cycle", "not one of monthly"),
        ("[intervals]\ntimezone = 'Mars/Olympus'\n", 2, "intervals.timezone", "not a known time zone"),
        (
            "[thresholds]\nsupply_low_percent = 10\nsupply_critical_percent = 15\n",
            3,
            "thresholds.supply_critical_percent",
            "above supply_low_percent",
        ),
        ("[smtp]\nport = 25\n", 1, "smtp", "needs a host"),
        ("[smtp]\nhost = 'm'\nrecipients = ['nobody']\n", 3, "smtp.recipients[0]", "not an e-mail address"),
        ("[uplink]\nurl = 'http://c.example'\nsite_id = 's'\n", 2, "uplink.url", "must be https://"),
        ("[web]\nhost = 'localhost'\n", 2, "web.host", "not an IP address"),
        ("[devices]\ntargets = ['10.0.0.9-10.0.0.1']\n", 2, "devices.targets[0]", "runs backwards"),
        ("[snmp]\ncommunities = ['secret:x']\n", 2, "snmp.communities[0]", "no secret named 'x'"),
        ("[colour]\nx = 1\n", 1, "colour", "unknown key"),
        (
            "[thresholds.supply_low_by_type]\ntoner = 120\n",
            2,
            "thresholds.supply_low_by_type.toner",
            "out of range",
        ),
        (
            "[thresholds.supply_low_by_type]\ntonr = 12\n",
            2,
            "thresholds.supply_low_by_type.tonr",
            "unknown key",
        ),
        ("[alerts]\nclear_after_polls = 0\n", 2, "alerts.clear_after_polls", "out of range"),
        (
            "[alerts]\nreorder_lead_days = 'soon'\n",
            2,
            "alerts.reorder_lead_days",
            "expected an integer or a number",
        ),
        ("[alerts]\nnotify_closed = 1\n", 2, "alerts.notify_closed", "expected true or false"),
        ("[alerts]\nsnooze = 1\n", 2, "alerts.snooze", "unknown key"),
        ("[smtp]\nhost = 'm'\nca_file = 'missing.pem'\n", 3, "smtp.ca_file", "no such file"),
        ("[[webhooks]]\nformat = 'json'\n", 1, "webhooks[0]", "needs a url"),
        (
            "[[webhooks]]\nurl = 'http://h/'\n[[webhooks]]\nurl = 'ftp://h/'\n",
            4,
            "webhooks[1].url",
            "not an http",
        ),
        ("[[webhooks]]\nurl = 'http://h/'\nformat = 'xml'\n", 3, "webhooks[0].format", "not one of json"),
        ('[web]\n"port" = 0\n', 2, "web.port", "out of range"),
    ],
)
def test_each_bad_value_names_its_key_and_line(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    text = f'[appliance]\nstate_dir = "{tmp_path}"\n' + text
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="site.toml")
    [problem] = info.value.problems
    assert (problem.line, problem.key) == (line + 2, key)
    assert message in problem.message
    assert str(info.value).startswith(f"site.toml:{line + 2}: {key}: ")


def test_all_problems_are_reported_at_once_and_syntax_errors_give_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[snmp]\nretries = -1\n[web]\nport = 70000\n", source="x.toml")
    assert [(p.line, p.key) for p in info.value.problems] == [(2, "snmp.retries"), (4, "web.port")]
    with pytest.raises(ConfigError, match=r"x.toml:\?: \(syntax\): .*line 2"):
        parse_config("[snmp]\nretries = = 1\n", source="x.toml")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_key_lines_skip_multiline_values() -> None:
    text = 'a = """\nb = 1\n"""\nc = [\n  "d = 2",\n]\n[t]\n"q.k" = 1\ne.f = 2\n[[arr]]\n[[arr]]\ng = 3\n'
    lines = key_lines(text)
    assert lines[("a",)] == 1 and ("b",) not in lines and lines[("c",)] == 4 and ("d",) not in lines
    assert lines[("t", "q.k")] == 8 and lines[("t", "e", "f")] == 9
    assert lines[("arr", 1)] == 11 and lines[("arr", 1, "g")] == 12


def test_device_specs_expand() -> None:
    assert expand_devices("10.0.0.254-10.0.1.1:1161") == [
        ("10.0.0.254", 1161),
        ("10.0.0.255", 1161),
        ("10.0.1.0", 1161),
        ("10.0.1.1", 1161),
    ]
    assert expand_devices("10.0.0.0/30") == [("10.0.0.1", 161), ("10.0.0.2", 161)]
    assert expand_devices("printer.lan:162") == [("printer.lan", 162)]
    for bad, why in [("10.0.0.0/8", "more than"), ("a b", "not an address"), ("h:0", "port")]:
        with pytest.raises(ValueError, match=why):
            expand_devices(bad)


def test_secrets_are_encrypted_at_rest_and_the_key_file_must_be_private(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.set("community_site", "very-secret-community")
    assert "very-secret-community" not in (tmp_path / "secrets.json").read_text()
    assert os.stat(tmp_path / "secret.key").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "secrets.json").st_mode & 0o777 == 0o600
    assert store.get("community_site") == "very-secret-community"
    assert store.names() == ["community_site"]
    os.chmod(tmp_path / "secret.key", 0o640)
    with pytest.raises(SecretError, match=r"mode is 0640; it must be readable by the service only"):
        store.get("community_site")
    os.chmod(tmp_path / "secret.key", 0o600)
    # Another key cannot read it.
    other = SecretStore(tmp_path / "other.key", tmp_path / "secrets.json")
    other.set("x", "y")
    with pytest.raises(SecretError, match="does not decrypt with the key"):
        other.get("community_site")
    with pytest.raises(ValueError, match="secret name"):
        store.set("bad name", "v")
    with pytest.raises(ValueError, match="empty"):
        store.set("ok", "")
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(SecretError, match=r"secrets.json:1: not JSON"):
        store.get("community_site")


def test_the_store_memory_limit_is_read_and_checked(tmp_path: Path) -> None:
    base = f'[appliance]\nstate_dir = "{tmp_path}"\n'
    assert parse_config(base, source="site.toml").appliance.store_memory_mb == 512
    assert parse_config(base + "store_memory_mb = 2048\n", source="s").appliance.store_memory_mb == 2048
    with pytest.raises(ConfigError) as info:
        parse_config(base + "store_memory_mb = 16\n", source="site.toml")
    assert str(info.value).startswith(
        "site.toml:3: appliance.store_memory_mb: 16 is out of range: 64 to 65536 MB"
    )


def test_sweeps_are_widened_only_by_the_configuration() -> None:
    config = parse_config('[web]\nsweep_networks = ["10.20.0.0/24"]\nsweep_ports = [1161]\n')
    assert [str(n) for n in config.web.sweep_networks] == ["10.20.0.0/24"] and config.web.sweep_ports == (
        1161,
    )
    with pytest.raises(ConfigError) as info:
        parse_config('[web]\nsweep_networks = ["10.20.0.0/33"]\nsweep_ports = [0, "x"]\n', source="p.toml")
    text = str(info.value)
    assert "web.sweep_networks[0]" in text and "web.sweep_ports[0]" in text and "web.sweep_ports[1]" in text
