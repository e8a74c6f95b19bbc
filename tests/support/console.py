"""The collector's console as a user reaches it in the tests: an HTTPS client trusting the test
CA, the login form (its CSRF field, then the session's token), and fast password hashes for the
test users (the login still runs the real scrypt check, at a lower cost)."""

from __future__ import annotations

import re
import ssl

import httpx
from printwatch.web.auth.passwords import hash_password

from tests.support.tls import Certs

PASSWORD = "console password 1"
#: Fast hashes for the test's users (the login still runs the real scrypt check).
FAST = hash_password(PASSWORD, n=2**14)


def client(certs: Certs, base: str, token: str | None = None) -> httpx.AsyncClient:
    """An HTTPS client of ``base`` trusting the test CA, with ``token`` as its bearer if given."""
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base, verify=context, headers=headers, timeout=30.0)


def field(html: str, name: str) -> str:
    """The value of the hidden field ``name`` of a page's form."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field"
    return found[1]


async def attempt(c: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    """One login through the form (its CSRF field from the page); the answer."""
    form = await c.get("/console/login")
    data = {"csrf": field(form.text, "csrf"), "user": user, "password": password, "next": ""}
    return await c.post("/console/login", data=data)


async def log_in(c: httpx.AsyncClient, user: str, password: str = PASSWORD) -> str:
    """Logs ``c`` in through the form; the session's CSRF token (from the page it lands on)."""
    r = await attempt(c, user, password)
    assert r.status_code == 303, r.text
    landed = await c.get(r.headers["location"])
    assert landed.status_code == 200
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', landed.text)[1]  # type: ignore[index]
