"""The browser tests' Chromium (Debian's build, driven by Playwright: no browser download) and
where they leave their screenshots (``artifacts/``, gitignored; ``PRINTWATCH_ARTIFACTS`` names
another folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Where the browser tests leave their screenshots; each path is printed by the test.
ARTIFACTS = Path(os.environ.get("PRINTWATCH_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
#: A browser test's marks: paced by the wall clock, and skipped (saying why) without Chromium.
BROWSER_TEST = [
    pytest.mark.realtime,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (make system-deps installs it)"
    ),
]


def screenshot(page: object, part: str, name: str) -> Path:
    """``page`` whole as ``ARTIFACTS/part/name.png``; the path, also printed."""
    folder = ARTIFACTS / part
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(f"screenshot: {path}")
    return path
