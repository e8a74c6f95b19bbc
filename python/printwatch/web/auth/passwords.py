"""The dashboard's password: scrypt hashes in a file of the state directory.

One account (``admin``). On first start a random password is made, its hash written, the
password itself written to ``first-password.txt`` beside it (0600, removed when the password is
changed) and returned once for the caller to show or point to; it must be changed at the first
login (``must_change``). The file is replaced atomically and is readable by its owner only (0600).
A hash made with lower scrypt costs than today's is replaced at the next successful login.

Error handling: a password file that cannot be read or parsed is a :class:`PasswordFileError`
naming the file and the key (the appliance refuses to start rather than fall back to a default
password); a wrong password is ``False`` from :meth:`PasswordFile.verify`, never an exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from printwatch import PrintwatchError

USER = "admin"
#: scrypt cost (OWASP's password storage guidance): 2**17 x 8 x 1 = 128 MiB (128 * r * N bytes)
#: and about 0.46 s a try on the appliance's cores; stored with each hash, so older hashes (2**14
#: before) keep working and are replaced at their next successful login (:meth:`PasswordFile.verify`).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_CHARS = 10
#: Where the first-run password waits for its reader (0600), beside the password file.
FIRST_PASSWORD_FILE = "first-password.txt"


class PasswordFileError(PrintwatchError):
    """The password file cannot be read, parsed or written."""


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in URL-safe base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=32)
    enc = base64.urlsafe_b64encode
    return f"scrypt${n}${r}${p}${enc(salt).decode()}${enc(digest).decode()}"


def _costs(stored: str) -> tuple[int, int, int] | None:
    """The ``(n, r, p)`` a stored hash was made with, or None when it is malformed."""
    try:
        kind, n_s, r_s, p_s, _salt, _hash = stored.split("$")
        return (int(n_s), int(r_s), int(p_s)) if kind == "scrypt" else None
    except ValueError:
        return None


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with costs below today's (:data:`SCRYPT_N`, R, P)."""
    costs = _costs(stored)
    return costs is not None and (costs[0] < SCRYPT_N or costs[1] < SCRYPT_R or costs[2] < SCRYPT_P)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare); a malformed hash is False."""
    try:
        kind, n_s, r_s, p_s, salt_s, hash_s = stored.split("$")
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt = base64.urlsafe_b64decode(salt_s)
        expected = base64.urlsafe_b64decode(hash_s)
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=len(expected)
    )
    return hmac.compare_digest(digest, expected)


def password_problem(new: str, old: str | None = None) -> str | None:
    """Why ``new`` is not acceptable as a password, or None."""
    if len(new) < MIN_PASSWORD_CHARS:
        return f"the new password needs at least {MIN_PASSWORD_CHARS} characters"
    if old is not None and new == old:
        return "the new password must differ from the current one"
    return None


@dataclass
class Account:
    user: str
    password_hash: str
    must_change: bool


class PasswordFile:
    """``path`` (JSON: ``{"user", "hash", "must_change"}``); see the module's docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first_password_path = path.parent / FIRST_PASSWORD_FILE
        self.account = self._load()
        # verify() runs in worker threads: a rehash must not overwrite a change made meanwhile
        self._lock = threading.Lock()

    def _load(self) -> Account:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Account(USER, "", True)
        except (OSError, ValueError) as err:
            raise PasswordFileError(f"{self.path}: cannot read the dashboard password: {err}") from None
        for key, kind in (("user", str), ("hash", str), ("must_change", bool)):
            if not isinstance(data.get(key), kind):
                raise PasswordFileError(f"{self.path}: {key}: missing or not a {kind.__name__}")
        return Account(data["user"], data["hash"], data["must_change"])

    @property
    def exists(self) -> bool:
        return bool(self.account.password_hash)

    def first_run(self) -> str | None:
        """On the first start: a random password, set with ``must_change``, written to
        :attr:`first_password_path` (0600) and returned; None when a password is already set."""
        if self.exists:
            return None
        password = secrets.token_urlsafe(12)
        _write_private(self.first_password_path, f"{password}\n", ".first-password-")
        self._save(Account(USER, hash_password(password), True))
        return password

    def verify(self, user: str, password: str) -> bool:
        """Whether ``user`` / ``password`` log in (slow on purpose: scrypt; call from a thread).

        A right password whose hash was made with lower costs than today's is hashed again with
        today's and saved (the login then takes two hashes' time, once)."""
        account = self.account
        ok_user = hmac.compare_digest(user.encode(), account.user.encode())
        ok = check_password(password, account.password_hash) if account.password_hash else False
        if ok and ok_user and needs_rehash(account.password_hash):
            fresh = hash_password(password)
            with self._lock:  # unless the password was changed while this one was checked
                if self.account.password_hash == account.password_hash:
                    self._save(replace(self.account, password_hash=fresh))
        return ok and ok_user

    def change(self, new_password: str) -> None:
        """Sets the password (checked by :func:`password_problem` first), clears ``must_change``
        and removes the first-run password's file."""
        fresh = hash_password(new_password)
        with self._lock:
            self._save(Account(self.account.user, fresh, False))
        try:
            self.first_password_path.unlink(missing_ok=True)
        except OSError as err:
            raise PasswordFileError(f"{self.first_password_path}: cannot remove: {err}") from None

    def _save(self, account: Account) -> None:
        data = {"user": account.user, "hash": account.password_hash, "must_change": account.must_change}
        _write_private(self.path, json.dumps(data), ".web-password-")
        self.account = account


def _write_private(path: Path, text: str, prefix: str) -> None:
    """``text`` to ``path``, mode 0600 from its creation, replaced atomically (fsync, rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise PasswordFileError(f"{path}: cannot write the dashboard password: {err}") from None
