"""Reads and validates the appliance's TOML file (documented example: appliance/printwatch.toml).

Every problem is reported as ``FILE:LINE: KEY: what is wrong`` — all of them at once, so one
edit fixes a file. Unknown keys are errors too (a typo must not silently fall back to a
default). Values written ``"secret:NAME"`` are read from the encrypted secret store.

Error handling: :class:`ConfigError` (a ``PrintwatchError``) with ``problems``, a list of
:class:`Problem` (line, key, message); ``str()`` gives one line per problem. A file that is
not TOML gives tomllib's line and column.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from printwatch import PrintwatchError
from printwatch.config.locate import Path as KeyPath
from printwatch.config.locate import dotted, key_lines, line_of
from printwatch.config.model import (
    AlertsConfig,
    ApplianceConfig,
    BillingCycle,
    Config,
    Intervals,
    Network,
    SmtpConfig,
    SmtpSecurity,
    SnmpConfig,
    SnmpV3Profile,
    Thresholds,
    UplinkConfig,
    WebConfig,
    WebhookConfig,
    WebhookFormat,
    WebTls,
)
from printwatch.config.remote_keys import LOCKABLE
from printwatch.config.secrets import SECRET_PREFIX, SecretError, SecretStore
from printwatch.config.targets import expand_devices
from printwatch.config.v3 import credentials_from_config
from printwatch.mib.oids import SUPPLY_TYPES

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    line: int | None
    key: str
    message: str


class ConfigError(PrintwatchError):
    """The configuration file cannot be used; ``problems`` says where and why."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        text = "\n".join(
            f"{source}:{p.line if p.line is not None else '?'}: {p.key}: {p.message}" for p in problems
        )
        super().__init__(text)


class _Reader:
    """Takes values out of the parsed document, recording a problem for each bad one."""

    def __init__(self, data: dict[str, Any], text: str, secrets: SecretStore | None) -> None:
        self.data = data
        self.lines = key_lines(text)
        self.secrets = secrets
        self.problems: list[Problem] = []
        self.seen: set[KeyPath] = set()

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(line_of(self.lines, path), dotted(path), message))

    def node(self, path: KeyPath) -> Any:
        value: Any = self.data
        for part in path:
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return None
        return value

    def table(self, path: KeyPath, known: set[str]) -> dict[str, Any]:
        value = self.node(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"expected a table, got {type(value).__name__}")
            return {}
        for key in value:
            if key not in known:
                self.problem((*path, key), f"unknown key (known here: {', '.join(sorted(known))})")
        return cast(dict[str, Any], value)

    def get(
        self,
        path: KeyPath,
        kind: type[T] | tuple[type, ...],
        default: T,
        check: Callable[[Any], str | None] | None = None,
    ) -> T:
        value = self.node(path)
        if value is None:
            return default
        if isinstance(value, bool) and kind is not bool:
            self.problem(path, f"expected {_kind_name(kind)}, got a boolean")
            return default
        if not isinstance(value, kind):
            self.problem(path, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}")
            return default
        if isinstance(value, str):
            value = self.secret(path, value)
        if check is not None:
            why = check(value)
            if why:
                self.problem(path, why)
                return default
        return cast(T, value)

    def secret(self, path: KeyPath, value: str) -> str:
        if not value.startswith(SECRET_PREFIX):
            return value
        name = value[len(SECRET_PREFIX) :]
        if self.secrets is None:
            self.problem(path, f"refers to secret {name!r} but no secret store is configured")
            return value
        try:
            return self.secrets.get(name)
        except SecretError as err:
            self.problem(path, str(err))
            return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names_list = {"list": "an array", "dict": "a table"}
    return " or ".join(names.get(k.__name__, names_list.get(k.__name__, k.__name__)) for k in kinds)


def _between(low: float, high: float, unit: str = "") -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if low <= v <= high else f"{v} is out of range: {low:g} to {high:g}{unit}"

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"{v!r} is not one of {', '.join(choices)}"


def _strings(r: _Reader, path: KeyPath, default: tuple[str, ...], min_len: int = 0) -> tuple[str, ...]:
    items = r.get(path, list, list(default))
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            r.problem((*path, i), f"expected a string, got {type(item).__name__} {item!r}")
            continue
        out.append(r.secret((*path, i), item))
    if len(out) < min_len and r.node(path) is not None:
        r.problem(path, f"needs at least {min_len} entries")
    return tuple(out)


def _network(r: _Reader, path: KeyPath, text: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError as err:
        r.problem(path, f"not an IPv4 network: {err}")
        return None


def _read_appliance(r: _Reader, base: Path) -> ApplianceConfig:
    r.table(("appliance",), {"state_dir", "store", "key_file", "secrets_file", "store_memory_mb"})

    def path(key: str) -> Path | None:
        text = r.get(("appliance", key), str, "")
        return (base / text) if text else None

    return ApplianceConfig(
        state_dir=path("state_dir") or ApplianceConfig().state_dir,
        store=path("store"),
        key_file=path("key_file"),
        secrets_file=path("secrets_file"),
        store_memory_mb=r.get(
            ("appliance", "store_memory_mb"),
            int,
            ApplianceConfig().store_memory_mb,
            _between(64, 65_536, " MB"),
        ),
    )


def _read_snmp(r: _Reader) -> SnmpConfig:
    r.table(("snmp",), {"communities", "timeout_s", "retries", "max_pps", "v3"})
    d = SnmpConfig()
    profiles = []
    v3 = r.get(("snmp", "v3"), list, [])
    for i in range(len(v3)):
        p: KeyPath = ("snmp", "v3", i)
        keys = {"user", "auth_proto", "auth_pass", "priv_proto", "priv_pass", "context", "networks"}
        r.table(p, keys)
        user = r.get((*p, "user"), str, "")
        if not user:
            r.problem(p, "needs a user")
        profile = SnmpV3Profile(
            user=user,
            auth_protocol=r.get((*p, "auth_proto"), str, "") or None,
            auth_password=r.get((*p, "auth_pass"), str, "") or None,
            priv_protocol=r.get((*p, "priv_proto"), str, "") or None,
            priv_password=r.get((*p, "priv_pass"), str, "") or None,
            context=r.get((*p, "context"), str, ""),
            networks=tuple(
                n
                for j, t in enumerate(_strings(r, (*p, "networks"), ()))
                if (n := _network(r, (*p, "networks", j), t)) is not None
            ),
        )
        try:
            credentials_from_config(profile)
        except ValueError as err:
            r.problem(p, str(err))
        profiles.append(profile)
    return SnmpConfig(
        communities=_strings(r, ("snmp", "communities"), d.communities, min_len=1),
        timeout_s=float(r.get(("snmp", "timeout_s"), (int, float), d.timeout_s, _between(0.05, 30, " s"))),
        retries=r.get(("snmp", "retries"), int, d.retries, _between(0, 10)),
        max_pps=r.get(("snmp", "max_pps"), int, d.max_pps, _between(10, 1_000_000, " packets/s")),
        v3=tuple(profiles),
    )


def _read_networks(r: _Reader) -> tuple[Network, ...]:
    out = []
    for i in range(len(r.get(("networks",), list, []))):
        p: KeyPath = ("networks", i)
        r.table(p, {"cidr", "exclude"})
        cidr_text = r.get((*p, "cidr"), str, "")
        if not cidr_text:
            r.problem(p, "needs a cidr")
            continue
        cidr = _network(r, (*p, "cidr"), cidr_text)
        exclude = [_network(r, (*p, "exclude", j), t) for j, t in enumerate(_strings(r, (*p, "exclude"), ()))]
        if cidr is not None:
            out.append(Network(cidr, tuple(e for e in exclude if e is not None)))
    return tuple(out)


def _read_devices(r: _Reader) -> tuple[tuple[str, int], ...]:
    r.table(("devices",), {"targets"})
    out: list[tuple[str, int]] = []
    for i, spec in enumerate(_strings(r, ("devices", "targets"), ())):
        try:
            out.extend(expand_devices(spec))
        except ValueError as err:
            r.problem(("devices", "targets", i), str(err))
    return tuple(dict.fromkeys(out))


def _time_of_day(text: str) -> dt.time | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return dt.time(int(m.group(1)), int(m.group(2)))


def _read_intervals(r: _Reader) -> Intervals:
    p: KeyPath = ("intervals",)
    known = {"status_minutes", "meters_hours", "upload_times", "billing_cycle", "billing_day"}
    r.table(p, known | {"discovery_days", "jitter", "timezone"})
    d = Intervals()
    times = []
    for i, text in enumerate(_strings(r, (*p, "upload_times"), ("02:30",), min_len=1)):
        t = _time_of_day(text)
        if t is None:
            r.problem((*p, "upload_times", i), f"{text!r} is not a time of day (HH:MM)")
        else:
            times.append(t)
    if len(times) > 4:
        r.problem((*p, "upload_times"), f"{len(times)} upload times: at most 4")
    if len(set(times)) != len(times):
        r.problem((*p, "upload_times"), "the same time is given twice")
    tz = r.get((*p, "timezone"), str, d.timezone)
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.problem((*p, "timezone"), f"{tz!r} is not a known time zone")
        tz = d.timezone
    num = (int, float)
    return Intervals(
        status_s=60.0 * r.get((*p, "status_minutes"), num, 5, _between(1, 60, " minutes")),
        meters_s=3600.0 * r.get((*p, "meters_hours"), num, 2, _between(0.25, 24, " hours")),
        upload_times=tuple(sorted(times)) or d.upload_times,
        billing_cycle=cast(
            BillingCycle,
            r.get((*p, "billing_cycle"), str, d.billing_cycle, _one_of("monthly", "quarterly", "semiannual")),
        ),
        billing_day=r.get((*p, "billing_day"), int, d.billing_day, _between(1, 28)),
        discovery_s=86400.0 * r.get((*p, "discovery_days"), num, 7, _between(1, 90, " days")),
        jitter=float(r.get((*p, "jitter"), num, d.jitter, _between(0, 0.5))),
        timezone=tz,
    )


def _read_thresholds(r: _Reader) -> Thresholds:
    p: KeyPath = ("thresholds",)
    keys = {"supply_low_percent", "supply_critical_percent", "offline_after_misses", "supply_low_by_type"}
    r.table(p, keys)
    by_type = []
    types = set(SUPPLY_TYPES.values())
    table = r.table((*p, "supply_low_by_type"), types)
    for name in table:
        if name in types:
            value = r.get((*p, "supply_low_by_type", name), (int, float), -1.0, _between(0, 100, " %"))
            if value >= 0:
                by_type.append((name, float(value)))
    d = Thresholds()
    num = (int, float)
    low = float(r.get((*p, "supply_low_percent"), num, d.supply_low_percent, _between(0, 100, " %")))
    critical = float(
        r.get((*p, "supply_critical_percent"), num, d.supply_critical_percent, _between(0, 100, " %"))
    )
    if critical > low:
        r.problem((*p, "supply_critical_percent"), f"{critical:g} is above supply_low_percent ({low:g})")
    misses = r.get((*p, "offline_after_misses"), int, d.offline_after_misses, _between(1, 100))
    return Thresholds(low, critical, misses, tuple(by_type))


def _read_smtp(r: _Reader, base: Path) -> SmtpConfig | None:
    p: KeyPath = ("smtp",)
    keys = {
        "host",
        "port",
        "security",
        "username",
        "password",
        "sender",
        "recipients",
        "ca_file",
        "timeout_s",
    }
    if not r.table(p, keys):
        return None

    def readable(v: Any) -> str | None:
        return None if (base / v).is_file() else f"{v!r}: no such file"

    ca_file = r.get((*p, "ca_file"), str, "", readable)
    host = r.get((*p, "host"), str, "")
    if not host:
        r.problem(p, "needs a host")
    recipients = _strings(r, (*p, "recipients"), ())
    for i, addr in enumerate(recipients):
        if "@" not in addr:
            r.problem((*p, "recipients", i), f"{addr!r} is not an e-mail address")
    return SmtpConfig(
        host=host,
        port=r.get((*p, "port"), int, 587, _between(1, 65535)),
        security=cast(
            SmtpSecurity, r.get((*p, "security"), str, "starttls", _one_of("starttls", "tls", "none"))
        ),
        username=r.get((*p, "username"), str, "") or None,
        password=r.get((*p, "password"), str, "") or None,
        sender=r.get((*p, "sender"), str, "printwatch@localhost"),
        recipients=recipients,
        ca_file=(base / ca_file) if ca_file else None,
        timeout_s=float(r.get((*p, "timeout_s"), (int, float), 30.0, _between(1, 300, " s"))),
    )


def _read_alerts(r: _Reader) -> AlertsConfig:
    p: KeyPath = ("alerts",)
    keys = {"reorder_lead_days", "clear_after_polls", "clear_margin_percent", "billing_missing_hours"}
    r.table(p, keys | {"notify_closed", "retry_max_minutes"})
    d = AlertsConfig()
    num = (int, float)
    return AlertsConfig(
        reorder_lead_days=float(
            r.get((*p, "reorder_lead_days"), num, d.reorder_lead_days, _between(0, 365, " days"))
        ),
        clear_after_polls=r.get((*p, "clear_after_polls"), int, d.clear_after_polls, _between(1, 100)),
        clear_margin_percent=float(
            r.get((*p, "clear_margin_percent"), num, d.clear_margin_percent, _between(0, 50, " %"))
        ),
        billing_missing_hours=float(
            r.get((*p, "billing_missing_hours"), num, d.billing_missing_hours, _between(1, 24 * 90, " hours"))
        ),
        notify_closed=r.get((*p, "notify_closed"), bool, d.notify_closed),
        retry_max_s=60.0 * r.get((*p, "retry_max_minutes"), num, 60, _between(1, 24 * 60, " minutes")),
    )


def _read_webhooks(r: _Reader) -> tuple[WebhookConfig, ...]:
    out = []

    def http_url(v: Any) -> str | None:
        ok = str(v).startswith(("https://", "http://"))
        return None if ok else f"{v!r} is not an http:// or https:// URL"

    for i in range(len(r.get(("webhooks",), list, []))):
        p: KeyPath = ("webhooks", i)
        r.table(p, {"url", "format", "token", "timeout_s"})
        url = r.get((*p, "url"), str, "", http_url)
        if not url:
            if r.node((*p, "url")) is None:
                r.problem(p, "needs a url")
            continue
        out.append(
            WebhookConfig(
                url=url,
                format=cast(WebhookFormat, r.get((*p, "format"), str, "json", _one_of("json", "text"))),
                token=r.get((*p, "token"), str, "") or None,
                timeout_s=float(r.get((*p, "timeout_s"), (int, float), 10.0, _between(0.5, 120, " s"))),
            )
        )
    return tuple(out)


UPLINK_KEYS = {
    "url", "site_id", "token", "enabled", "pin", "ca_file", "proxy", "budget_bytes_per_day",
    "lead_time_days", "key_file", "locked", "endpoints",
}  # fmt: skip
#: ``[uplink] endpoints``: at most this many more front ends.
MAX_UPLINK_ENDPOINTS = 8


def _read_uplink(r: _Reader, base: Path) -> UplinkConfig | None:
    p: KeyPath = ("uplink",)
    if not r.table(p, UPLINK_KEYS):
        return None

    def https(v: Any) -> str | None:
        return None if str(v).startswith("https://") else "the uplink must be https:// (outbound, signed)"

    url = r.get((*p, "url"), str, "", https)
    site = r.get((*p, "site_id"), str, "")
    for key, value in (("url", url), ("site_id", site)):
        if not value and r.node((*p, key)) is None:
            r.problem(p, f"needs {key}")

    def pin(v: Any) -> str | None:
        return (
            None if str(v).startswith("sha256/") else "a pin is sha256/BASE64 (printwatch collector pin CERT)"
        )

    def proxy(v: Any) -> str | None:
        return None if str(v).startswith("http://") else "the proxy must be http://host:port (CONNECT)"

    def path(key: str) -> Path | None:
        text = r.get((*p, key), str, "")
        return (base / text) if text else None

    budget = r.get((*p, "budget_bytes_per_day"), int, 0, _between(1024, 1 << 31, " bytes"))
    return UplinkConfig(
        url=url,
        site_id=site,
        token=r.get((*p, "token"), str, "") or None,
        enabled=r.get((*p, "enabled"), bool, True),
        pin=r.get((*p, "pin"), str, "", pin) or None,
        ca_file=path("ca_file"),
        proxy=r.get((*p, "proxy"), str, "", proxy) or None,
        budget_bytes_per_day=budget or None,
        lead_time_days=float(r.get((*p, "lead_time_days"), (int, float), 7.0, _between(0, 365, " days"))),
        key_file=path("key_file"),
        endpoints=_endpoints(r, (*p, "endpoints"), url),
        locked=_locked(r, (*p, "locked")),
    )


def _locked(r: _Reader, p: KeyPath) -> tuple[str, ...]:
    """``[uplink] locked``: the settings the collector's sync may not change."""
    names = _strings(r, p, ())
    for i, name in enumerate(names):
        if name not in LOCKABLE:
            r.problem((*p, i), f"{name[:40]!r} is not a setting the collector sets ({', '.join(LOCKABLE)})")
    return tuple(dict.fromkeys(n for n in names if n in LOCKABLE))


def _endpoints(r: _Reader, path: KeyPath, url: str) -> tuple[str, ...]:
    """``[uplink] endpoints``: https:// URLs, none twice nor ``url`` again, a few at most."""
    out: list[str] = []
    for i, item in enumerate(_strings(r, path, ())):
        if not item.startswith("https://"):
            r.problem((*path, i), "the uplink must be https:// (outbound, signed)")
        elif item.rstrip("/") in {u.rstrip("/") for u in (url, *out)}:
            r.problem((*path, i), f"{item!r} is named twice (url and endpoints are tried in turn)")
        else:
            out.append(item)
    if len(out) > MAX_UPLINK_ENDPOINTS:
        r.problem(path, f"{len(out)} front ends: at most {MAX_UPLINK_ENDPOINTS} besides url")
        return tuple(out[:MAX_UPLINK_ENDPOINTS])
    return tuple(out)


def _read_web(r: _Reader, base: Path) -> WebConfig:
    p: KeyPath = ("web",)
    r.table(p, {"host", "port", "tls", "cert_file", "key_file", "api_token", "sweep_networks", "sweep_ports"})

    def address(v: Any) -> str | None:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return f"{v!r} is not an IP address"
        return None

    def path(key: str) -> Path | None:
        value = r.get((*p, key), str, "")
        return (base / value) if value else None

    host = r.get((*p, "host"), str, "127.0.0.1", address)
    tls = r.get((*p, "tls"), str, "auto", _one_of("auto", "self-signed", "files", "off"))
    cert, key = path("cert_file"), path("key_file")
    if tls == "files" and (cert is None or key is None):
        r.problem((*p, "tls"), "'files' needs cert_file and key_file")
    if tls != "files" and (cert or key):
        r.problem((*p, "cert_file" if cert else "key_file"), "is used only with tls = 'files'")
    if tls == "off" and not ipaddress.ip_address(host if address(host) is None else "127.0.0.1").is_loopback:
        r.problem((*p, "tls"), f"plain HTTP is served on loopback addresses only, not on {host}")
    token = r.get((*p, "api_token"), str, "") or None
    if token is not None and len(token) < 16:
        r.problem((*p, "api_token"), "needs 16 characters or more")
        token = None
    networks = [
        _network(r, (*p, "sweep_networks", i), t)
        for i, t in enumerate(_strings(r, (*p, "sweep_networks"), ()))
    ]
    ports = []
    for i, port in enumerate(r.get((*p, "sweep_ports"), list, [])):
        if type(port) is not int or not 1 <= port <= 65535:
            r.problem((*p, "sweep_ports", i), f"{port!r} is not a UDP port (1 to 65535)")
        else:
            ports.append(port)
    return WebConfig(
        host=host,
        port=r.get((*p, "port"), int, 8080, _between(1, 65535)),
        tls=cast(WebTls, tls),
        cert_file=cert,
        key_file=key,
        api_token=token,
        sweep_networks=tuple(n for n in networks if n is not None),
        sweep_ports=tuple(ports),
    )


def parse_config(text: str, *, source: str = "<config>", base: Path | None = None) -> Config:
    """Validates TOML ``text``; relative paths are taken from ``base`` (the file's folder).

    Error handling: :class:`ConfigError` listing every problem with its line and key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, [Problem(None, "(syntax)", str(err))]) from None
    base = base or Path.cwd()
    known = {"appliance", "snmp", "networks", "devices", "intervals", "thresholds", "smtp", "uplink", "web"}
    known |= {"alerts", "webhooks"}
    r = _Reader(data, text, None)
    r.table((), known)
    appliance = _read_appliance(r, base)
    r.secrets = SecretStore(appliance.key_path, appliance.secrets_path)
    config = Config(
        appliance=appliance,
        snmp=_read_snmp(r),
        networks=_read_networks(r),
        devices=_read_devices(r),
        intervals=_read_intervals(r),
        thresholds=_read_thresholds(r),
        smtp=_read_smtp(r, base),
        alerts=_read_alerts(r),
        webhooks=_read_webhooks(r),
        uplink=_read_uplink(r, base),
        web=_read_web(r, base),
        source=Path(source) if source != "<config>" else None,
    )
    if r.problems:
        raise ConfigError(source, sorted(r.problems, key=lambda p: (p.line or 0, p.key)))
    return config


def load_config(path: Path) -> Config:
    """Reads and validates the file at ``path`` (see :func:`parse_config`).

    Error handling: :class:`ConfigError`; an unreadable file is a ``ConfigError`` too.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), [Problem(None, "(file)", f"cannot read: {err}")]) from None
    return parse_config(text, source=str(path), base=path.resolve().parent)


def load_appliance_table(path: Path) -> ApplianceConfig:
    """Only the ``[appliance]`` table of the file at ``path`` (where the state, key file and
    secrets live), without resolving any secret: ``printwatch secret set`` needs it before the
    secrets that the rest of the file names exist.

    Error handling: :class:`ConfigError` for an unreadable file, bad TOML or a bad
    ``[appliance]`` table.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(str(path), [Problem(None, "(file)", str(err))]) from None
    r = _Reader(data, text, None)
    appliance = _read_appliance(r, path.resolve().parent)
    if r.problems:
        raise ConfigError(str(path), r.problems)
    return appliance
