"""``printwatch run [--config FILE]``: the appliance daemon (what the systemd unit starts)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import trio

from printwatch import PrintwatchError
from printwatch.cli.assembly import assemble
from printwatch.cli.options import DEFAULT_CONFIG, Subparsers, config_file, duration
from printwatch.config import ConfigError, load_config
from printwatch.scheduler import StateFile, SystemClock
from printwatch.service import slowsteps
from printwatch.service.daemon import run_until_stopped
from printwatch.store import StoreError

log = logging.getLogger("printwatch")


def setup_logging(level: int = logging.INFO) -> None:
    """One line per event on stderr (journald adds the time)."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def run_daemon(config_path: Path, *, duration_s: float | None = None) -> int:
    """Exit status 0 after a clean stop, 2 for a bad configuration, 1 when it cannot start.
    Files it makes (history, scheduler state, sessions) are 0600, folders 0700, whatever the
    umask (the systemd unit says the same)."""
    umask = os.umask(0o077)
    try:
        return _run_daemon(config_path, duration_s=duration_s)
    finally:
        os.umask(umask)


def _run_daemon(config_path: Path, *, duration_s: float | None = None) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(f"printwatch run: the configuration has problems:\n{err}", file=sys.stderr)
        return 2
    try:
        instruments = slowsteps.from_environment()  # a diagnostic (docs/operations.md)
    except ValueError as err:
        print(f"printwatch run: {err}", file=sys.stderr)
        return 2
    state_dir = config.appliance.state_dir
    try:
        parts = assemble(
            config,
            clock=SystemClock(),
            state=StateFile(state_dir / "scheduler.json"),
            seed=config.uplink.site_id if config.uplink else str(state_dir),
        )
    except (OSError, ValueError, RuntimeError, StoreError, PrintwatchError) as err:
        print(f"printwatch run: {err}", file=sys.stderr)
        return 1
    appliance, web = parts.appliance, parts.web
    if web.tls is not None:
        log.info("dashboard TLS certificate %s, SHA-256 %s", web.tls.cert, web.tls.fingerprint_sha256)
    first_file = web.dashboard.passwords.first_password_path
    if web.dashboard.passwords.account.must_change and first_file.exists():
        # stderr is the journal, readable by more people than the dashboard's admin: it names the
        # file (0600, removed when the password is changed), never the password itself
        print(
            f"printwatch run: dashboard first-run password for admin is in {first_file} "
            "(readable by this user only; it must be changed at the first login)",
            file=sys.stderr,
            flush=True,
        )

    def started(address: tuple[str, int] | None) -> None:
        where = web.url(address) if address else "no HTTP server"
        log.info(
            "printwatch run: %d devices, %d networks, history: %s, %s (dashboard, /health, /metrics)",
            len(appliance.devices()),
            len(config.networks),
            appliance.sink.describe(),
            where,
        )

    try:
        trio.run(
            lambda: run_until_stopped(appliance, http=web.serve, duration_s=duration_s, on_started=started),
            instruments=instruments,
        )
    except OSError as err:
        print(f"printwatch run: {err}", file=sys.stderr)
        return 1
    finally:
        web.dashboard.sessions.save()  # the sessions' seen times since the last write
    return 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description="Run the appliance with the configuration FILE until SIGTERM or SIGINT (a write "
        "in hand finishes, the history is flushed, exit status 0). Exit status 2 for a configuration "
        "with problems (each named with its line), 1 when it cannot start.",
        parents=[config_file(), duration()],
    )


def run(args: argparse.Namespace) -> int:
    setup_logging()
    return run_daemon(args.config or DEFAULT_CONFIG, duration_s=args.duration)
