"""The dashboard's sessions on disk, so that a restart of the appliance logs nobody out.

``state_dir/web-sessions.json`` (beside ``web-password.json``), readable by its owner only
(0600) and replaced atomically (a temporary file in the same directory, fsync, ``os.replace``,
then an fsync of the directory), so a crash mid-write leaves the old file or the new one, never
half of one. It holds, per session, the **SHA-256 of its token** (never the token: reading the
file does not let anyone take over a session), the user, the CSRF token, ``must_change`` and
``created`` / ``seen`` (Unix seconds)::

    {"version": 1, "sessions": [{"token_sha256": "9f86...", "user": "admin", "csrf": "...",
                                 "must_change": false, "created": 1795000000.0,
                                 "seen": 1795000100.0}]}

Writes are made by :class:`~printwatch.web.auth.sessions.Sessions` (which decides when) in
worker threads: :meth:`SessionFile.snapshot` encodes the sessions in the caller's thread and
numbers the snapshot; :meth:`SessionFile.write` writes it unless a later snapshot has already
been written (writes from two threads never put an older set of sessions back).

Error handling: :meth:`SessionFile.load` never raises: a missing file is no sessions; a file that
cannot be read or is not what is written here (bad JSON, another version, an entry without one of
its keys...) is a warning naming the file and why, and no sessions (everybody logs in again).
:meth:`SessionFile.write` raises ``OSError`` (its caller logs it and tries again later).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SESSIONS_FILE = "web-sessions.json"
VERSION = 1
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Session:
    """One session as the server keeps it (known by its token's hash; see
    :mod:`~printwatch.web.auth.sessions`, which opens and ends them)."""

    user: str
    csrf: str
    must_change: bool
    created: float  # Unix seconds (wall clock: it outlives the process)
    seen: float


@dataclass(frozen=True)
class Snapshot:
    generation: int
    data: bytes


class CorruptSessionFile(ValueError):
    """The file is not a sessions file (the message says where)."""


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _flag(value: object) -> bool:
    return isinstance(value, bool)


_FIELDS: tuple[tuple[str, Callable[[object], bool], str], ...] = (
    ("user", _text, "a non-empty string"),
    ("csrf", _text, "a non-empty string"),
    ("must_change", _flag, "true or false"),
    ("created", _number, "a number"),
    ("seen", _number, "a number"),
)


def decode(raw: bytes) -> dict[str, Session]:
    """Sessions by token hash from the file's bytes.

    Error handling: :class:`CorruptSessionFile` naming the entry and the key."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise CorruptSessionFile(f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise CorruptSessionFile("not a JSON object")
    if data.get("version") != VERSION:
        raise CorruptSessionFile(f"version: {data.get('version')!r}, expected {VERSION}")
    entries = data.get("sessions")
    if not isinstance(entries, list):
        raise CorruptSessionFile("sessions: missing or not a list")
    sessions: dict[str, Session] = {}
    for i, entry in enumerate(entries):
        where = f"sessions[{i}]"
        if not isinstance(entry, dict):
            raise CorruptSessionFile(f"{where}: not an object")
        digest = entry.get("token_sha256")
        if not isinstance(digest, str) or not _HASH.match(digest):
            raise CorruptSessionFile(f"{where}.token_sha256: missing or not 64 hex digits")
        for key, ok, kind in _FIELDS:
            if not ok(entry.get(key)):
                raise CorruptSessionFile(f"{where}.{key}: missing or not {kind}")
        sessions[digest] = Session(
            entry["user"], entry["csrf"], entry["must_change"], float(entry["created"]), float(entry["seen"])
        )
    return sessions


def encode(sessions: Mapping[str, Session]) -> bytes:
    """The file's bytes for sessions by token hash."""
    entries = [
        {
            "token_sha256": digest,
            "user": s.user,
            "csrf": s.csrf,
            "must_change": s.must_change,
            "created": s.created,
            "seen": s.seen,
        }
        for digest, s in sessions.items()
    ]
    return json.dumps({"version": VERSION, "sessions": entries}, indent=1).encode() + b"\n"


class SessionFile:
    """``path`` (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._generation = 0  # of the last snapshot taken
        self._written = 0  # of the last snapshot written

    def load(self) -> dict[str, Session]:
        """Sessions by token hash as the file holds them (expired ones included: the caller
        drops them); empty, with a warning, when the file cannot be read or parsed."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as err:
            self._warn(f"cannot be read: {err.strerror or err}")
            return {}
        try:
            return decode(raw)
        except CorruptSessionFile as err:
            self._warn(f"is corrupt: {err}")
            return {}

    def _warn(self, why: str) -> None:
        log.warning(
            "dashboard sessions file %s %s; starting with no sessions (everybody logs in again)",
            self.path,
            why,
        )

    def snapshot(self, sessions: Mapping[str, Session]) -> Snapshot:
        """``sessions`` encoded now (in the thread that owns them), numbered for :meth:`write`."""
        self._generation += 1
        return Snapshot(self._generation, encode(sessions))

    def write(self, snapshot: Snapshot) -> bool:
        """Writes ``snapshot`` atomically (from any thread); False when a later one was written
        already (nothing done).

        Error handling: ``OSError`` when the directory or the file cannot be written (the old
        file is left as it was, no temporary file is left behind)."""
        with self._lock:
            if snapshot.generation <= self._written:
                return False
            directory = self.path.parent
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".web-sessions-", dir=directory)
            try:
                with os.fdopen(fd, "wb") as f:
                    os.fchmod(f.fileno(), 0o600)
                    f.write(snapshot.data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the rename itself survives a power cut
            finally:
                os.close(dir_fd)
            self._written = snapshot.generation
            return True
