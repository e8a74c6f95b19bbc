"""``printwatch secret set NAME`` (value from standard input) and ``printwatch secret list``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from printwatch.config import ConfigError, SecretError, SecretStore
from printwatch.config.load import load_appliance_table
from printwatch.config.model import ApplianceConfig


def secret_store(config_path: Path | None) -> SecretStore:
    """The secret store that the configuration's ``[appliance]`` table names (its defaults when
    there is no file). The rest of the file is not read: it may name secrets not set yet."""
    appliance = ApplianceConfig() if config_path is None else load_appliance_table(config_path)
    return SecretStore(appliance.key_path, appliance.secrets_path)


def run_secret(action: str, name: str | None, config_path: Path | None, stdin: TextIO = sys.stdin) -> int:
    try:
        store = secret_store(config_path)
        if action == "list":
            for n in store.names():
                print(n)
            return 0
        if name is None:
            raise ValueError("a secret name is needed")
        value = stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
        store.set(name, value)
    except (ConfigError, SecretError, ValueError, OSError) as err:
        print(f"printwatch secret: {err}", file=sys.stderr)
        return 2
    print(f"stored secret {name!r} in {store.secrets_file} (key {store.key_file})", file=sys.stderr)
    return 0
