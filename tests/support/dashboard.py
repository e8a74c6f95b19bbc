"""The appliance's dashboard as the web tests reach it: a configuration for ``printwatch run``
with the dashboard on a port, and the login form's steps (its CSRF field, the session's token)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from printwatch.sim import Simulator


def daemon_config(tmp_path: Path, sim: Simulator, port: int, web: str = "") -> Path:
    """A configuration polling ``sim``'s printers, its dashboard on ``port`` (``web``: more
    ``[web]`` lines)."""
    path = tmp_path / "printwatch.toml"
    path.write_text(
        f'[appliance]\nstate_dir = "{tmp_path / "state"}"\n\n[snmp]\ntimeout_s = 0.5\nretries = 1\n\n'
        f'[devices]\ntargets = ["{sim.first}-{sim.last}:{sim.port}"]\n\n'
        f"[web]\nport = {port}\n{web}"
    )
    return path


def login_token(client: httpx.Client) -> str:
    """The login form's CSRF field."""
    r = client.get("/login")
    assert r.status_code == 200
    m = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1)


def csrf_of(html: str) -> str:
    """A logged-in page's CSRF token (its ``csrf-token`` meta element)."""
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def log_in(client: httpx.Client, password: str) -> httpx.Response:
    """The admin's login through the form; the answer (303 on success)."""
    token = login_token(client)
    return client.post("/login", data={"user": "admin", "password": password, "csrf": token})
