"""SNMPv3 (USM) credentials from plain data: what a credential profile in the appliance config,
the command line or a script gives, checked and turned into :class:`V3Credentials`.

A profile is a mapping with the keys ``user`` (required), ``auth_proto``, ``auth_pass``,
``priv_proto``, ``priv_pass`` and ``context``. The appliance's encrypted secrets store keeps the
passwords; it hands the decrypted profile to :func:`credentials_from_profile` and forgets it.
The appliance config's ``[[snmp.v3]]`` entries go through it too
(:func:`printwatch.config.v3.credentials_from_config`).

>>> creds = credentials_from_profile(
...     {"user": "pw", "auth_proto": "SHA256", "auth_pass": "auth-secret", "priv_proto": "AES",
...      "priv_pass": "priv-secret"}, where="profile 'office'")
>>> creds.level, creds.auth_proto, creds.priv_proto
('authPriv', 'SHA-256', 'AES')

Error handling: ``ValueError`` naming ``where`` and the key for an unknown key, a missing user,
a protocol without its password (or the reverse), an unknown protocol, or a short password.
"""

from __future__ import annotations

from collections.abc import Mapping

from printwatch._core import V3Credentials

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "PROFILE_KEYS",
    "V3Credentials",
    "credentials_from_profile",
]

#: The authentication protocols (as net-snmp's tools name them; case and dashes are optional).
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
#: The privacy protocols (``AES`` is AES-128; 192 and 256 use the Blumenthal key extension).
PRIV_PROTOCOLS = ("DES", "AES", "AES-192", "AES-256")
PROFILE_KEYS = frozenset({"user", "auth_proto", "auth_pass", "priv_proto", "priv_pass", "context"})


def credentials_from_profile(profile: Mapping[str, str | bytes | None], *, where: str) -> V3Credentials:
    """Builds the credentials a profile describes (see the module docstring)."""
    unknown = sorted(set(profile) - PROFILE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(PROFILE_KEYS))})")
    user = profile.get("user")
    if not user:
        raise ValueError(f"{where}: 'user' is required for SNMPv3")
    pairs = (("auth_proto", "auth_pass"), ("priv_proto", "priv_pass"))
    for proto_key, pass_key in pairs:
        if bool(profile.get(proto_key)) != bool(profile.get(pass_key)):
            have, need = (proto_key, pass_key) if profile.get(proto_key) else (pass_key, proto_key)
            raise ValueError(f"{where}: {have!r} needs {need!r}")
    auth_proto, priv_proto = profile.get("auth_proto"), profile.get("priv_proto")
    if isinstance(auth_proto, bytes) or isinstance(priv_proto, bytes):
        raise ValueError(f"{where}: protocol names are text")
    try:
        return V3Credentials(
            user,
            auth_proto or None,
            profile.get("auth_pass") or None,
            priv_proto or None,
            profile.get("priv_pass") or None,
            context=profile.get("context") or None,
        )
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
