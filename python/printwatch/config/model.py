"""The appliance's configuration as typed values, with the embedded defaults.

:func:`printwatch.config.load_config` builds a :class:`Config` from the TOML file (every
range is checked there); code and tests may build one directly (e.g. a 10-second interval for a
bounded soak, which the file does not allow).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BillingCycle = Literal["monthly", "quarterly", "semiannual"]
SmtpSecurity = Literal["starttls", "tls", "none"]

DEFAULT_STATE_DIR = Path("/var/lib/printwatch")


@dataclass(frozen=True)
class ApplianceConfig:
    """Where the appliance keeps its state (the systemd unit's StateDirectory)."""

    state_dir: Path = DEFAULT_STATE_DIR
    store: Path | None = None  # default: state_dir / "history.duckdb"
    key_file: Path | None = None  # default: state_dir / "secret.key"
    secrets_file: Path | None = None  # default: state_dir / "secrets.json"
    #: The history store's (DuckDB's) memory: its cache of the file's blocks and what queries
    #: hold. DuckDB's own default is 80% of the machine's memory; larger work spills to disk.
    store_memory_mb: int = 512

    @property
    def store_path(self) -> Path:
        return self.store or self.state_dir / "history.duckdb"

    @property
    def key_path(self) -> Path:
        return self.key_file or self.state_dir / "secret.key"

    @property
    def secrets_path(self) -> Path:
        return self.secrets_file or self.state_dir / "secrets.json"


@dataclass(frozen=True)
class SnmpV3Profile:
    """One SNMPv3 user (passwords resolved from the secret store)."""

    user: str
    auth_protocol: str | None = None
    auth_password: str | None = None
    priv_protocol: str | None = None
    priv_password: str | None = None
    context: str = ""
    #: Where this user is tried: printers whose address is in one of these networks (a single
    #: address is a /32); empty: every printer.
    networks: tuple[ipaddress.IPv4Network, ...] = ()

    def applies_to(self, address: str) -> bool:
        """Whether this user is tried for the printer at ``address``."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            return False
        return any(ip in n for n in self.networks)


@dataclass(frozen=True)
class SnmpConfig:
    communities: tuple[str, ...] = ("public",)
    timeout_s: float = 1.0
    retries: int = 2
    max_pps: int = 10_000
    v3: tuple[SnmpV3Profile, ...] = ()


@dataclass(frozen=True)
class Network:
    """A network to sweep for printers, less its exclusions."""

    cidr: ipaddress.IPv4Network
    exclude: tuple[ipaddress.IPv4Network, ...] = ()


@dataclass(frozen=True)
class Intervals:
    """When each job runs (see :mod:`printwatch.scheduler.jobs`)."""

    status_s: float = 300.0
    meters_s: float = 7200.0
    upload_times: tuple[dt.time, ...] = (dt.time(2, 30),)
    billing_cycle: BillingCycle = "monthly"
    billing_day: int = 1
    discovery_s: float = 7 * 86400.0
    jitter: float = 0.1  # fraction of each interval that start times are spread over
    timezone: str = "UTC"


@dataclass(frozen=True)
class Thresholds:
    supply_low_percent: float = 20.0
    supply_critical_percent: float = 5.0
    offline_after_misses: int = 3
    # Per supply type (Printer-MIB names: "toner", "ink", "wasteToner", ...), over the default.
    supply_low_by_type: tuple[tuple[str, float], ...] = ()

    def supply_low(self) -> dict[str, float]:
        """The low thresholds by supply type, ``default`` for the rest (what the poller applies)."""
        return {"default": self.supply_low_percent, **dict(self.supply_low_by_type)}


WebhookFormat = Literal["json", "text"]


@dataclass(frozen=True)
class WebhookConfig:
    """A URL that receives each batch of alert changes as a POST: the alerts as JSON, or a
    ``{"text": ...}`` message that chat tools (Slack, Mattermost incoming webhooks) accept."""

    url: str
    format: WebhookFormat = "json"
    token: str | None = None  # sent as "Authorization: Bearer TOKEN"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class AlertsConfig:
    """When alerts open and close (see :mod:`printwatch.alerts`)."""

    reorder_lead_days: float = 7.0  # a supply forecast to run out within this opens "supply_runout"
    clear_after_polls: int = 2  # status polls without the condition before an alert closes
    clear_margin_percent: float = 5.0  # a supply alert clears only this far above its threshold
    billing_missing_hours: float = 24.0  # no meter read for this long opens "billing_read_missing"
    notify_closed: bool = True  # also tell people when an alert closes
    retry_max_s: float = 3600.0  # the longest wait between two tries of a notification


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "printwatch@localhost"
    recipients: tuple[str, ...] = ()
    ca_file: Path | None = None  # CA certificates to verify the server with (default: the system's)
    timeout_s: float = 30.0


@dataclass(frozen=True)
class UplinkConfig:
    """The uplink to the MSP's collector (see :mod:`printwatch.uplink`)."""

    url: str
    site_id: str
    token: str | None = None  # the one-time enrolment token (a secret)
    enabled: bool = True  # false: nothing is kept or sent
    pin: str | None = None  # sha256/BASE64 of the collector's public key
    ca_file: Path | None = None  # verify the collector's chain against this CA
    proxy: str | None = None  # http://host:port, reached with CONNECT
    budget_bytes_per_day: int | None = None  # None: 256 per device (at least 16 KiB)
    lead_time_days: float = 7.0  # reorder when a supply runs out sooner than this
    key_file: Path | None = None  # default: state_dir / "uplink.key"
    # Settings the collector's sync may not change (printwatch.config.remote_keys.LOCKABLE).
    locked: tuple[str, ...] = ()
    #: More front ends of the same collector, tried in turn after ``url`` (same pin, CA, proxy).
    endpoints: tuple[str, ...] = ()


WebTls = Literal["auto", "self-signed", "files", "off"]


@dataclass(frozen=True)
class WebConfig:
    """The HTTP server and dashboard. ``tls``: ``auto`` (a self-signed certificate unless the
    address is a loopback one, which serves plain HTTP), ``self-signed``, ``files`` (``cert_file``
    and ``key_file``) or ``off`` (plain HTTP: loopback addresses only). ``api_token``: the bearer
    token for ``/metrics`` and ``/api/...`` (without one: loopback clients running as the
    appliance's own user or root only)."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls: WebTls = "auto"
    cert_file: Path | None = None
    key_file: Path | None = None
    api_token: str | None = None
    #: Networks a dashboard sweep may cover beyond ``[[networks]]`` and the configured devices
    #: (swept with ``public`` only), and UDP ports beyond 161 and the devices' own.
    sweep_networks: tuple[ipaddress.IPv4Network, ...] = ()
    sweep_ports: tuple[int, ...] = ()

    @property
    def uses_tls(self) -> bool:
        if self.tls == "auto":
            return not ipaddress.ip_address(self.host).is_loopback
        return self.tls != "off"

    @property
    def scheme(self) -> str:
        return "https" if self.uses_tls else "http"


@dataclass(frozen=True)
class Config:
    appliance: ApplianceConfig = field(default_factory=ApplianceConfig)
    snmp: SnmpConfig = field(default_factory=SnmpConfig)
    networks: tuple[Network, ...] = ()
    # Printers polled without discovery: (host, port) pairs, from addresses, ranges and names.
    devices: tuple[tuple[str, int], ...] = ()
    intervals: Intervals = field(default_factory=Intervals)
    thresholds: Thresholds = field(default_factory=Thresholds)
    smtp: SmtpConfig | None = None
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    webhooks: tuple[WebhookConfig, ...] = ()
    uplink: UplinkConfig | None = None
    web: WebConfig = field(default_factory=WebConfig)
    source: Path | None = None  # the file it was read from
