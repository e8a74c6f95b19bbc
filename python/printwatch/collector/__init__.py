"""The MSP's collector: enrols appliances, receives their signed uploads exactly once, answers
their sync, and shows sites, devices, reads and reorder triggers (``printwatch collector``).

* :mod:`.store` — its own store over :mod:`.storage`: a DuckDB file (one writer) or PostgreSQL
  (several front ends; monthly partitions, retention);
* :mod:`.enrolment` — one-time tokens per site, appliance keys;
* :mod:`.ingest` — checks a message and writes it (duplicates and gaps refused);
* :mod:`.server` — HTTPS on Trio (hypercorn's Trio worker, Starlette);
* :mod:`.views` — the read-only view (CLI and JSON API).
"""
