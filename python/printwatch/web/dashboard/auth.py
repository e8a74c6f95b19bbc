"""The dashboard's password: scrypt hashes in a file of the state directory.

One account (``admin``). On first start a random password is made, its hash written, and the
password itself returned once for the caller to print; it must be changed at the first login
(``must_change``). The file is replaced atomically and is readable by its owner only (0600).

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
from dataclasses import dataclass
from pathlib import Path

from printwatch import PrintwatchError

USER = "admin"
#: scrypt cost: 2**14 x 8 x 1 = 16 MiB and about 50 ms a try here (RFC 7914's interactive
#: login figure); stored with each hash, so raising it later keeps old hashes readable.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_CHARS = 10


class PasswordFileError(PrintwatchError):
    """The password file cannot be read, parsed or written."""


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in URL-safe base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=32)
    enc = base64.urlsafe_b64encode
    return f"scrypt${n}${r}${p}${enc(salt).decode()}${enc(digest).decode()}"


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
        self.account = self._load()

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
        """On the first start: a random password, set with ``must_change``, returned to be
        printed once; None when a password is already set."""
        if self.exists:
            return None
        password = secrets.token_urlsafe(12)
        self._save(Account(USER, hash_password(password), True))
        return password

    def verify(self, user: str, password: str) -> bool:
        """Whether ``user`` / ``password`` log in (slow on purpose: scrypt; call from a thread)."""
        ok_user = hmac.compare_digest(user.encode(), self.account.user.encode())
        ok = check_password(password, self.account.password_hash) if self.exists else False
        return ok and ok_user

    def change(self, new_password: str) -> None:
        """Sets the password (checked by :func:`password_problem` first) and clears ``must_change``."""
        self._save(Account(self.account.user, hash_password(new_password), False))

    def _save(self, account: Account) -> None:
        data = {"user": account.user, "hash": account.password_hash, "must_change": account.must_change}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".web-password-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), 0o600)
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as err:
            raise PasswordFileError(f"{self.path}: cannot write the dashboard password: {err}") from None
        self.account = account
