"""Secrets at rest: community strings, SMTP and uplink credentials, SNMPv3 passwords.

Each secret is encrypted with Fernet (AES-128-CBC plus HMAC-SHA256, from ``cryptography``) under
one key kept in a key file that only the service may read: the key file must be a regular file
owned by the current user with mode 0600 or narrower, else it is refused. The secrets
themselves live in a JSON file (``{"name": "<fernet token>", ...}``), also written 0600,
replaced atomically (temporary file, fsync, rename) so a crash leaves the old or the new file.

The configuration names a secret as ``"secret:NAME"``; ``printwatch secret set NAME`` stores one,
reading the value from standard input.

Error handling: :class:`SecretError` (a ``PrintwatchError``) names the file and what is wrong:
a key file with a wider mode or another owner, a key that is not a Fernet key, a secrets file
that is not JSON, a token that does not decrypt under this key, a name that is not stored.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from printwatch import PrintwatchError

SECRET_PREFIX = "secret:"
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SecretError(PrintwatchError):
    """A secret, the key file or the secrets file cannot be used."""


def check_key_file(path: Path) -> None:
    """Refuses a key file that someone other than this user could read or write.

    Error handling: :class:`SecretError` naming the file and its mode or owner.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretError(f"{path}: key file does not exist (`printwatch secret set` creates it)") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretError(f"{path}: key file is not a regular file")
    if st.st_mode & 0o077:
        raise SecretError(
            f"{path}: key file mode is {stat.S_IMODE(st.st_mode):04o}; it must be readable by the "
            f"service only (chmod 600 {path})"
        )
    if st.st_uid != os.geteuid():
        raise SecretError(
            f"{path}: key file is owned by uid {st.st_uid}, not by this service (uid {os.geteuid()})"
        )


def _write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Writes ``data`` to ``path`` with mode 0600: atomically by rename, or exclusively (no
    overwrite) when ``exclusive``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class SecretStore:
    """The encrypted secrets of one appliance: ``key_file`` and ``secrets_file``.

    >>> store = SecretStore(Path("secret.key"), Path("secrets.json"))  # doctest: +SKIP
    >>> store.set("site_community", "s3cret")  # doctest: +SKIP
    >>> store.get("site_community")  # doctest: +SKIP
    's3cret'
    """

    def __init__(self, key_file: Path, secrets_file: Path) -> None:
        self.key_file = key_file
        self.secrets_file = secrets_file

    def _fernet(self, *, create: bool) -> Fernet:
        if create and not self.key_file.exists():
            _write_private(self.key_file, Fernet.generate_key(), exclusive=True)
        check_key_file(self.key_file)
        try:
            return Fernet(self.key_file.read_bytes().strip())
        except ValueError as err:
            raise SecretError(f"{self.key_file}: not a Fernet key ({err})") from None

    def _tokens(self) -> dict[str, str]:
        try:
            text = self.secrets_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SecretError(f"{self.secrets_file}:{err.lineno}: not JSON ({err.msg})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretError(f"{self.secrets_file}: expected an object of name -> token")
        return data

    def names(self) -> list[str]:
        """The names stored (no key needed)."""
        return sorted(self._tokens())

    def get(self, name: str) -> str:
        """The decrypted value of ``name``.

        Error handling: :class:`SecretError` when it is not stored or does not decrypt.
        """
        tokens = self._tokens()
        if name not in tokens:
            raise SecretError(
                f"{self.secrets_file}: no secret named {name!r} (`printwatch secret set {name}`)"
            )
        fernet = self._fernet(create=False)
        try:
            return fernet.decrypt(tokens[name].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError(
                f"{self.secrets_file}: secret {name!r} does not decrypt with the key in {self.key_file}"
            ) from None

    def set(self, name: str, value: str) -> None:
        """Encrypts and stores ``value`` under ``name`` (creating the key file, 0600, if missing).

        Error handling: ``ValueError`` for a bad name or an empty value; :class:`SecretError`
        for an unusable key or secrets file (the old file is kept).
        """
        if not NAME_RE.match(name):
            raise ValueError(f"secret name {name!r}: use 1 to 64 letters, digits, '_', '.', '-'")
        if not value:
            raise ValueError(f"secret {name!r}: the value is empty")
        fernet = self._fernet(create=True)
        tokens = self._tokens()
        tokens[name] = fernet.encrypt(value.encode("utf-8")).decode("ascii")
        _write_private(self.secrets_file, (json.dumps(tokens, indent=1, sort_keys=True) + "\n").encode())
