"""The collector's migrations that both backends run in the same words (numbered in step in
:mod:`.duck` and :mod:`.pg_schema`, which list them in their places).

Only statements both dialects read alike and make alike belong here: ``VARCHAR``, ``BIGINT``,
``TIMESTAMP``, ``DOUBLE PRECISION`` (DuckDB's ``DOUBLE``), primary keys, ``ALTER TABLE ... ADD
COLUMN``. A migration whose tables differ between the two (``BLOB`` or ``BYTEA``, partitions,
storage options, indexes) stays in its backend's list.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        5,
        "console users with roles and site scopes; API tokens with roles; console sessions",
        """
        -- The console's people: a password hash as the dashboard stores it (scrypt$n$r$p$salt$hash),
        -- a role (admin, billing, supplies, support, viewer, customer) and, for a customer, the
        -- sites it may see (user_sites; staff see every site).
        CREATE TABLE users (
            username VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, role VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, password_changed_at TIMESTAMP NOT NULL
        );
        CREATE TABLE user_sites (
            username VARCHAR NOT NULL, site_id VARCHAR NOT NULL, PRIMARY KEY (username, site_id)
        );
        -- API tokens get the same roles and site scopes: the 'read' scope of earlier tokens is
        -- the viewer role.
        ALTER TABLE api_tokens ADD COLUMN role VARCHAR NOT NULL DEFAULT 'viewer';
        CREATE TABLE api_token_sites (
            token_id VARCHAR NOT NULL, site_id VARCHAR NOT NULL, PRIMARY KEY (token_id, site_id)
        );
        -- Console sessions, known by the SHA-256 of their cookie (in the store, so that several
        -- front ends on one PostgreSQL share them and a restart logs nobody out).
        CREATE TABLE console_sessions (
            session_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, csrf VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, seen_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        6,
        "closed billing cycles; the supplies queue and its history; settings history",
        """
        -- A billing cycle closed by a user: its reads are those of messages up to closed_seq
        -- (the site's last sequence number when it closed); later ones are kept, shown as late.
        CREATE TABLE billing_closed (
            site_id VARCHAR NOT NULL, cycle VARCHAR NOT NULL, closed_at TIMESTAMP NOT NULL,
            closed_by VARCHAR NOT NULL, closed_seq BIGINT NOT NULL, PRIMARY KEY (site_id, cycle)
        );
        -- The reorder queue: one order per supply and cartridge life (the reorder triggers of one
        -- life folded into it), new -> ordered -> shipped -> installed.
        CREATE TABLE supply_orders (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER NOT NULL,
            opened_seq BIGINT NOT NULL, opened_at TIMESTAMP NOT NULL, last_seq BIGINT NOT NULL,
            last_at TIMESTAMP NOT NULL, triggers INTEGER NOT NULL, percent DOUBLE PRECISION,
            why VARCHAR NOT NULL, days_to_empty DOUBLE PRECISION, state VARCHAR NOT NULL,
            state_at TIMESTAMP NOT NULL, state_by VARCHAR NOT NULL,
            PRIMARY KEY (site_id, n, supply_index, opened_seq)
        );
        -- Every change of an order's state: who ('auto' for an installation seen in the levels)
        -- and when.
        CREATE TABLE supply_order_events (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER NOT NULL,
            opened_seq BIGINT NOT NULL, state VARCHAR NOT NULL, event_at TIMESTAMP NOT NULL,
            by_user VARCHAR NOT NULL, note VARCHAR
        );
        -- How far each site's reorder triggers are folded into the queue.
        CREATE TABLE supply_queue_marks (site_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL);
        -- Every version of a site's settings, who set it and when.
        CREATE TABLE settings_changes (
            site_id VARCHAR NOT NULL, version INTEGER NOT NULL, settings JSON NOT NULL,
            changed_at TIMESTAMP NOT NULL, changed_by VARCHAR NOT NULL, PRIMARY KEY (site_id, version)
        );
        """,
    ),
    (
        10,
        "API tokens expire",
        """
        -- When a token stops answering (401, saying so). Tokens made before this migration keep
        -- NULL: they never expire until revoked (listed as such; reissue them to give them one).
        ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
        """,
    ),
    (
        11,
        "the console's login throttle in the store",
        """
        -- Failed console logins per key (an address's user, a user from anywhere): how many
        -- followed each other within the throttle's window, and the latest. In the store, so
        -- that every front end of one PostgreSQL counts the same attempts.
        CREATE TABLE login_failures (
            throttle_key VARCHAR PRIMARY KEY, failures INTEGER NOT NULL, last_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        13,
        "a tag of each site's device numbers, new at each registration",
        """
        -- A random number a registration sets (0: none since this migration): a front end keeps
        -- a site's device numbers while the site's row still has the tag they were read under.
        ALTER TABLE sites ADD COLUMN devices_tag BIGINT DEFAULT 0;
        """,
    ),
]


def numbered(first: int, last: int) -> list[tuple[int, str, str]]:
    """The migrations numbered ``first`` to ``last``, for a backend's list to take in its place."""
    return [m for m in MIGRATIONS if first <= m[0] <= last]
