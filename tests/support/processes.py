"""The command line as a user runs it: ``python -m printwatch.cli ARGS`` in a child process, for
the end-to-end tests of ``printwatch poll``, ``discover``, ``collector`` and ``uplink``."""

from __future__ import annotations

import subprocess
import sys

PRINTWATCH = [sys.executable, "-m", "printwatch.cli"]


def printwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``printwatch ARGS`` (stdin closed, text output captured, 60 s at the most) in ``env``
    (None: this process's environment)."""
    return subprocess.run(
        [*PRINTWATCH, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
        env=env,
    )
