"""The appliance's configuration: one TOML file, validated on start, and its encrypted secrets.

>>> from printwatch.config import load_config
>>> config = load_config(Path("/etc/printwatch/printwatch.toml"))  # doctest: +SKIP

See appliance/printwatch.toml for every key, and :mod:`printwatch.config.secrets` for secrets.
"""

from printwatch.config.load import ConfigError, Problem, load_config, parse_config
from printwatch.config.model import (
    ApplianceConfig,
    Config,
    Intervals,
    Network,
    SmtpConfig,
    SnmpConfig,
    SnmpV3Profile,
    Thresholds,
    UplinkConfig,
    WebConfig,
)
from printwatch.config.secrets import SecretError, SecretStore

__all__ = [
    "ApplianceConfig",
    "Config",
    "ConfigError",
    "Intervals",
    "Network",
    "Problem",
    "SecretError",
    "SecretStore",
    "SmtpConfig",
    "SnmpConfig",
    "SnmpV3Profile",
    "Thresholds",
    "UplinkConfig",
    "WebConfig",
    "load_config",
    "parse_config",
]
