"""History in DuckDB: the device registry, ingestion of poll documents, retention, public views.

See :class:`printwatch.store.store.Store` and docs/store.md.
"""

from printwatch.store.registry import Registry, Sighting, UpsertResult, normalize_mac, normalize_serial
from printwatch.store.store import IngestResult, Store, StoreError, StoreLockedError

__all__ = [
    "IngestResult",
    "Registry",
    "Sighting",
    "Store",
    "StoreError",
    "StoreLockedError",
    "UpsertResult",
    "normalize_mac",
    "normalize_serial",
]
