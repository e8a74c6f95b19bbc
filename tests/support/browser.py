"""The browser tests' Chromium (Debian's build, driven by Playwright: no browser download) and
where they leave their screenshots (``artifacts/``, gitignored; ``PRINTWATCH_ARTIFACTS`` names
another folder).

:func:`chromium` launches it for a block, :func:`new_page` opens a page in a context of its own,
:func:`console_log_in` logs a page in through the collector's console form. Playwright is
imported when they are called: a test module asks for it first with ``pytest.importorskip``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright, closed after the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, *, height: int = 900, **options: Any) -> Page:
    """A page 1400 pixels wide in a browser context of its own (``options``: Playwright's
    ``new_context``'s; ``page.context.close()`` closes it). It accepts the test CA's certificate
    (the test's CA is not the browser's: its warning is what ``ignore_https_errors`` skips)."""
    context = browser.new_context(
        viewport={"width": 1400, "height": height}, ignore_https_errors=True, **options
    )
    return context.new_page()


def console_log_in(page: Page, url: str, user: str, password: str) -> None:
    """Logs ``page`` in as ``user`` through the console's login form, which it shows, and waits
    for the sites list the form leads to."""
    from playwright.sync_api import expect

    page.fill("#user", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(url + "/console/sites")
