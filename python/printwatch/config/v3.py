"""SNMPv3 users of the configuration as the engine's :class:`~printwatch.engine.V3Credentials`.

Error handling: ``ValueError`` from :func:`printwatch.v3.credentials_from_profile` (an unknown
protocol, a protocol without its password, privacy without authentication, a short password);
the configuration's validation reports it with the profile's key and line.
"""

from __future__ import annotations

from printwatch.config.model import SnmpConfig, SnmpV3Profile
from printwatch.v3 import V3Credentials, credentials_from_profile


def credentials_from_config(profile: SnmpV3Profile, *, where: str | None = None) -> V3Credentials:
    """The credentials of one ``[[snmp.v3]]`` entry (its passwords resolved from the secrets
    store), through :func:`printwatch.v3.credentials_from_profile` (its checks and messages,
    which start with ``where``, by default ``user 'NAME'``)."""
    return credentials_from_profile(
        {
            "user": profile.user,
            "auth_proto": profile.auth_protocol,
            "auth_pass": profile.auth_password,
            "priv_proto": profile.priv_protocol,
            "priv_pass": profile.priv_password,
            "context": profile.context or None,
        },
        where=where if where is not None else f"user {profile.user!r}",
    )


def v3_credentials(snmp: SnmpConfig) -> list[V3Credentials]:
    """One per ``[[snmp.v3]]`` profile, in order."""
    return [credentials_from_config(p) for p in snmp.v3]
