"""Who may do what on the collector: the roles, and the principal a request acts as.

Roles (issue 22): ``admin`` (sites, tokens, users, settings: everything), ``billing``,
``supplies``, ``support``, ``viewer`` (the MSP's staff: every site) and ``customer`` (its own
sites only, listed per user or token). A console user (:mod:`printwatch.collector.users`) and
an API token (:mod:`printwatch.collector.tokens`) carry the same role and site scope;
:func:`printwatch.collector.access.require` checks them on every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from printwatch.collector.storage import Connection

ROLES = ("admin", "billing", "supplies", "support", "viewer", "customer")
#: The roles that see every site.
STAFF = ("admin", "billing", "supplies", "support", "viewer")


@dataclass(frozen=True)
class Principal:
    """A user (by session) or an API token (by bearer secret) with its role; ``sites`` is the
    customer's own sites, ``None`` for staff (every site)."""

    name: str
    role: str
    kind: Literal["user", "token"]
    sites: frozenset[str] | None

    def may_see(self, site_id: str) -> bool:
        """Whether this principal may see anything of ``site_id``."""
        return self.sites is None or site_id in self.sites

    def scope_sql(self, column: str = "site_id") -> tuple[str, list[str]]:
        """A SQL condition limiting ``column`` to the principal's sites and its parameters:
        ``("TRUE", [])`` for staff, ``("site_id IN (?, ...)", sites)`` for a customer
        (``"FALSE"`` for one without sites)."""
        if self.sites is None:
            return "TRUE", []
        if not self.sites:
            return "FALSE", []
        ordered = sorted(self.sites)
        return f"{column} IN ({', '.join('?' for _ in ordered)})", ordered


def checked_role(role: str, sites: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``role`` and ``sites`` if they go together (a customer has one or more sites, staff none);
    else ``ValueError`` saying why."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if role == "customer" and not sites:
        raise ValueError("a customer needs its sites (--site SITE, repeatable)")
    if role != "customer" and sites:
        raise ValueError(f"the {role} role sees every site: --site is for customers only")
    return role, tuple(sorted(set(sites)))


def check_sites_exist(con: Connection, sites: Iterable[str]) -> None:
    """``ValueError`` naming the first of ``sites`` the store does not know."""
    for site in sites:
        if con.execute("SELECT 1 FROM sites WHERE site_id = ?", [site]).fetchone() is None:
            raise ValueError(f"no site {site!r} (collector site add {site})")
