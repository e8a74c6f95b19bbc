"""History in DuckDB: the device registry, ingestion of poll documents, retention, public views.

See :class:`printwatch.store.store.Store` and docs/store.md. Other packages use the names
below, not the modules underneath: ``parse_time`` (a document's time as the store keeps it,
naive UTC), ``target_address`` (the address part of ``host[:port]``, the registry's key),
``transaction`` and ``migrate`` for the stores that share its DuckDB conventions.
"""

from printwatch.store.ingest import DocumentError, parse_time
from printwatch.store.registry import (
    Registry,
    Sighting,
    UpsertResult,
    normalize_mac,
    normalize_serial,
    resolve_ipv4,
    target_address,
)
from printwatch.store.schema import current_version, migrate
from printwatch.store.store import DUCKDB_CONFIG, Companion, IngestResult, Store, StoreError, StoreLockedError
from printwatch.store.transaction import transaction

__all__ = [
    "DUCKDB_CONFIG",
    "Companion",
    "DocumentError",
    "IngestResult",
    "Registry",
    "Sighting",
    "Store",
    "StoreError",
    "StoreLockedError",
    "UpsertResult",
    "current_version",
    "migrate",
    "normalize_mac",
    "normalize_serial",
    "parse_time",
    "resolve_ipv4",
    "target_address",
    "transaction",
]
