"""net-snmp's snmpd with SNMPv3 users at every level and with every protocol Debian's
net-snmp 5.9 supports (MD5, SHA, SHA-224..512; DES, AES, AES-192, AES-256), started on a free
high loopback port with its own persistent directory (its engine ID, boots and users live
there, not in /var/lib/snmp)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.peers import NET_SNMP_ENV, net_snmp, snmpd_command, stop
from tests.support.ports import free_udp_port


@dataclass(frozen=True)
class User:
    name: str
    auth_proto: str | None = None
    auth_pass: str | None = None
    priv_proto: str | None = None
    priv_pass: str | None = None

    @property
    def level(self) -> str:
        return "authPriv" if self.priv_proto else "authNoPriv" if self.auth_proto else "noAuthNoPriv"

    def net_snmp_args(self) -> list[str]:
        args = ["-v3", "-u", self.name, "-l", self.level]
        if self.auth_proto:
            args += ["-a", self.auth_proto, "-A", str(self.auth_pass)]
        if self.priv_proto:
            args += ["-x", self.priv_proto, "-X", str(self.priv_pass)]
        return args


AUTH_PROTOCOLS = ["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
PRIV_PROTOCOLS = ["DES", "AES", "AES-192", "AES-256"]


def _users() -> list[User]:
    users = [User("pw-none")]
    for a in AUTH_PROTOCOLS:
        tag = a.lower().replace("-", "")
        users.append(User(f"pw-{tag}", a, f"auth-{tag}-pass"))
    for p in PRIV_PROTOCOLS:
        tag = p.lower().replace("-", "")
        users.append(User(f"pw-sha-{tag}", "SHA", f"auth-sha-{tag}", p, f"priv-{tag}-pass"))
    # Old printers: MD5 with DES; and the strongest pair.
    users.append(User("pw-md5-des", "MD5", "auth-md5-des", "DES", "priv-md5-des"))
    users.append(User("pw-sha512-aes256", "SHA-512", "auth-sha512-aes", "AES-256", "priv-sha512-aes"))
    return users


USERS = _users()


def snmpd_conf(users: list[User]) -> str:
    lines = [
        "sysDescr printwatch v3 test agent",
        "sysLocation lab bench 3",
        "sysContact ops@example.invalid",
        "sysName pw-v3",
        # A fixed engine ID: boots (kept in the persistent directory) count the restarts.
        "engineID printwatch-test",
        "rocommunity public 127.0.0.1",
    ]
    for u in users:
        create = f"createUser {u.name}"
        if u.auth_proto:
            create += f' {u.auth_proto} "{u.auth_pass}"'
        if u.priv_proto:
            create += f' {u.priv_proto} "{u.priv_pass}"'
        lines.append(create)
        level = {"noAuthNoPriv": "noauth", "authNoPriv": "auth", "authPriv": "priv"}[u.level]
        lines.append(f"rouser {u.name} {level}")
    return "\n".join(lines) + "\n"


@contextmanager
def running_snmpd_v3(workdir: Path, users: list[User] = USERS, port: int = 0) -> Iterator[int]:
    """snmpd with ``users`` (createUser lines in a config written here) on ``port`` (0: a free
    one); yields the port."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "snmpd.conf"
    conf.write_text(snmpd_conf(users))
    persistent = workdir / "persistent"
    persistent.mkdir(exist_ok=True)
    port = port or free_udp_port()
    log = (workdir / "snmpd.log").open("wb")
    cmd = snmpd_command(workdir, conf, f"udp:127.0.0.1:{port}", only_conf=False)
    # No -C: the persistent directory's file must be read (boots). SNMPCONFPATH keeps the
    # system's configuration files out.
    env = {**NET_SNMP_ENV, "SNMP_PERSISTENT_DIR": str(persistent), "SNMPCONFPATH": str(persistent)}
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        _wait_v3(port, users[-1], proc)
        yield port
    finally:
        stop(proc)
        log.close()


def _wait_v3(port: int, user: User, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(40):
        if proc.poll() is not None:
            raise RuntimeError(f"snmpd exited early with status {proc.returncode}")
        args = ["snmpget", *user.net_snmp_args(), "-t", "0.5", "-r", "0"]
        r = net_snmp(*args, f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0")
        if r.returncode == 0:
            return
    raise RuntimeError(f"snmpd on 127.0.0.1:{port} did not answer {user.name} over SNMPv3")
