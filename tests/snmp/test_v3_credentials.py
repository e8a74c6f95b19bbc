"""``V3Credentials`` and credential profiles (``printwatch.v3``): what is accepted, what is
refused (and how the message names it), and that neither passwords nor keys ever show."""

from __future__ import annotations

import pytest
from printwatch.config import SnmpV3Profile
from printwatch.config.v3 import credentials_from_config
from printwatch.engine import Plan, Target, V3Credentials
from printwatch.v3 import credentials_from_profile


def test_levels_and_protocol_names() -> None:
    assert V3Credentials("u").level == "noAuthNoPriv"
    a = V3Credentials("u", "sha256", "auth-secret")
    assert (a.level, a.auth_proto, a.priv_proto) == ("authNoPriv", "SHA-256", None)
    p = V3Credentials(b"u", "SHA1", b"auth-secret", "aes256", "priv-secret", context="Jetdirect")
    assert (p.level, p.auth_proto, p.priv_proto, p.context) == ("authPriv", "SHA", "AES-256", "Jetdirect")
    assert "secret" not in repr(p) and "Jetdirect" in repr(p)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth_proto": "SHA"}, "auth_proto needs auth_pass"),
        ({"auth_pass": "auth-secret"}, "auth_pass needs auth_proto"),
        ({"auth_proto": "SHA3", "auth_pass": "auth-secret"}, 'unknown auth_proto "SHA3"'),
        ({"auth_proto": "SHA", "auth_pass": "short"}, "at least 8 characters"),
        ({"priv_proto": "AES", "priv_pass": "priv-secret"}, "privacy needs authentication"),
        (
            {"auth_proto": "MD5", "auth_pass": "auth-secret", "priv_proto": "3DES", "priv_pass": "x" * 8},
            "3DES",
        ),
    ],
)
def test_refused_with_a_reason(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        V3Credentials("u", **kwargs)


def test_user_name_bounds() -> None:
    with pytest.raises(ValueError, match="1 to 32 bytes"):
        V3Credentials("")
    with pytest.raises(ValueError, match="1 to 32 bytes"):
        V3Credentials("u" * 33)


def test_target_takes_v3_and_checks_the_version() -> None:
    plan = Plan(gets=["1.3.6.1.2.1.1.5.0"])
    c = V3Credentials("u", "MD5", "auth-secret", "DES", "priv-secret")
    t = Target("127.0.0.1", 161, plan=plan, v3=c)
    assert t.version == "3" and t.v3 is not None and t.v3.priv_proto == "DES"
    with pytest.raises(ValueError, match="must be '3' or 'auto'"):
        Target("127.0.0.1", plan=plan, v3=c, version="2c")
    with pytest.raises(ValueError, match="needs v3="):
        Target("127.0.0.1", plan=plan, version="3")


def test_profiles_name_the_key_and_the_place() -> None:
    good = {
        "user": "pw",
        "auth_proto": "SHA-512",
        "auth_pass": "auth-secret",
        "priv_proto": "AES-192",
        "priv_pass": "priv-secret",
        "context": "",
    }
    c = credentials_from_profile(good, where="profile 'site-a'")
    assert (c.auth_proto, c.priv_proto, c.context) == ("SHA-512", "AES-192", "")
    for bad, message in [
        ({**good, "community": "x"}, "unknown key 'community'"),
        ({**good, "user": ""}, "'user' is required"),
        ({**good, "priv_pass": None}, "'priv_proto' needs 'priv_pass'"),
        ({**good, "auth_pass": "short"}, "at least 8"),
    ]:
        with pytest.raises(ValueError, match=message) as info:
            credentials_from_profile(bad, where="profile 'site-a'")
        assert str(info.value).startswith("profile 'site-a': ")


def test_config_profiles_become_credentials() -> None:
    profile = SnmpV3Profile("pw", "SHA-256", "auth-secret", "AES", "priv-secret", context="Jetdirect")
    c = credentials_from_config(profile, where="snmp.v3[0]")
    assert (c.user, c.level, c.auth_proto, c.priv_proto, c.context) == (
        "pw",
        "authPriv",
        "SHA-256",
        "AES",
        "Jetdirect",
    )
    with pytest.raises(ValueError, match=r"^snmp.v3\[1\]: .*'auth_proto' needs 'auth_pass'"):
        credentials_from_config(SnmpV3Profile("pw", "SHA"), where="snmp.v3[1]")
