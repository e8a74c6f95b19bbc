"""Who is at the other end of a loopback connection: sock_diag and procfs give the same owner
for real connections (this process's, and a child's running as another user), and nothing for a
connection that does not exist."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from printwatch.web.dashboard import peer

NOBODY = 65534


@contextmanager
def listening(host: str) -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as server:
        server.bind((host, 0))
        server.listen()
        server.settimeout(10)
        yield server


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=pytest.mark.skipif(
    not ipv6_loopback(), reason="no IPv6 loopback"))])  # fmt: skip
def test_both_ways_name_this_process_as_the_owner_of_its_client_socket(host: str) -> None:
    with listening(host) as server, socket.create_connection(server.getsockname()[:2], timeout=10):
        accepted, client = server.accept()
        with accepted:
            ends = (client[0], client[1]), (server.getsockname()[0], server.getsockname()[1])
            assert peer.diag_uid(*ends) == peer.proc_uid(*ends) == os.geteuid()
            assert peer.is_own_user(*ends)
            # the server's own socket is not the client's: the lookup is by direction
            reverse = ends[1], ends[0]
            assert peer.diag_uid(*reverse) == os.geteuid()  # the server's socket, also ours
            gone = (client[0], client[1] ^ 1), ends[1]
            assert peer.diag_uid(*gone) is None and peer.proc_uid(*gone) is None
            assert not peer.is_own_user(*gone)


def test_addresses_that_cannot_name_a_socket_give_no_owner() -> None:
    assert peer.peer_uid(("not an address", 1), ("127.0.0.1", 2)) is None
    assert peer.peer_uid(("::1", 1), ("127.0.0.1", 2)) is None  # families differ
    assert not peer.is_own_user(None, ("127.0.0.1", 2))


#: An interpreter another user may run (the venv's lives under root's home).
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON), reason="connects as another user")
def test_a_connection_made_by_another_user_is_theirs_both_ways() -> None:
    with listening("127.0.0.1") as server:
        port = server.getsockname()[1]
        code = (
            f"import socket, sys; s = socket.create_connection(('127.0.0.1', {port})); "
            "sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()"
        )
        with subprocess.Popen(
            [SYSTEM_PYTHON, "-c", code], user=NOBODY, group=NOBODY, extra_groups=[],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        ) as child:  # fmt: skip
            try:
                assert child.stdout is not None and child.stdout.readline() == "ok\n"
                accepted, client = server.accept()
                with accepted:
                    ends = (client[0], client[1]), ("127.0.0.1", port)
                    assert peer.diag_uid(*ends) == peer.proc_uid(*ends) == NOBODY
                    assert not peer.is_own_user(*ends)
            finally:
                child.kill()


def test_without_sock_diag_procfs_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without sock_diag (or a sandbox that refuses netlink): the procfs table answers."""

    def refused(*_: object) -> int:
        raise PermissionError(13, "netlink refused")

    monkeypatch.setattr(peer, "diag_uid", refused)
    with listening("127.0.0.1") as server, socket.create_connection(server.getsockname(), timeout=10):
        accepted, client = server.accept()
        with accepted:
            assert peer.peer_uid(client, server.getsockname()) == os.geteuid()
