"""The missing-billing-read e-mail from the collector, through a real SMTP server (aiosmtpd,
STARTTLS with trustme's certificate, AUTH) — the alerts' channel."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.ingest import receive
from printwatch.collector.notices import notify_missing
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.signing import Identity, seal

from tests.support.ports import free_tcp_port
from tests.support.smtp import PASSWORD, USER, Mailbox, smtp_config, smtp_server
from tests.support.tls import make_certs as make_tls

NOW = dt.datetime(2026, 11, 3, 9, 0)


@pytest.mark.realtime
def test_a_missing_billing_read_is_mailed_to_the_site_contact_once(
    tmp_path: Path, collector_store: str | Path
) -> None:
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=NOW, contact="keycontact@example.com")
    me = Identity.generate()
    enrol(store, "site-a", token, me.public_raw, now=NOW)
    devices = [{"n": 1, "serial": "S1", "address": "10.0.0.1:161"}, {"n": 2, "serial": "S2"}]
    at = int(dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC).timestamp())
    for seq, kind, data in [
        (1, "register", {"devices": devices}),
        (2, "billing", {"cycle": "2026-11-01", "r": [[2, {"total": 100}]]}),  # device 1's read is missing
    ]:
        message = {"site": "site-a", "seq": seq, "kind": kind, "at": at, "data": data}
        receive(store, seal(me, encode_payload(message)), now=NOW)
    tls, mailbox, port = make_tls(tmp_path), Mailbox(), free_tcp_port()
    smtp = smtp_config(port, tls.ca_file)
    with smtp_server(port, tls, mailbox):
        assert notify_missing(store, smtp, now=NOW) == ["site-a: sent to keycontact@example.com (1 devices)"]
        assert notify_missing(store, smtp, now=NOW) == []  # once per device and cycle
    [mail] = mailbox.messages
    assert mail.rcpt_tos == ["keycontact@example.com"] and mailbox.tls_sessions == 1
    text = mail.content.decode()
    assert "1 billing meter reads missing for site-a (cycle 2026-11-01)" in text and "serial S1" in text
    assert "serial S2" not in text
    # The server gone: the failure is named and nothing recorded, so the next call tries again.
    store.con.execute("DELETE FROM billing_notices")
    failed = notify_missing(store, smtp, now=NOW)
    assert len(failed) == 1 and failed[0].startswith("site-a: not sent: SMTP 127.0.0.1")
    assert store.con.execute("SELECT count(*) FROM billing_notices").fetchall() == [(0,)]
    assert json.loads(json.dumps(failed))  # plain strings
    store.close()


def test_collector_notify_needs_an_smtp_table(tmp_path: Path, collector_store: str | Path) -> None:
    from printwatch.cli.main import main

    config = tmp_path / "c.toml"
    config.write_text('[appliance]\nstate_dir = "/tmp"\n')
    assert main(["collector", "notify", "--config", str(config), "--store", str(collector_store)]) == 2
    config.write_text('[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n')
    # no site misses anything: nothing to send, exit 0
    assert main(["collector", "notify", "--config", str(config), "--store", str(collector_store)]) == 0


@pytest.mark.realtime
def test_collector_serve_mails_missing_reads_by_itself(tmp_path: Path, collector_store: str | Path) -> None:
    """``collector serve --notify-config``: the check runs on its own, every few seconds here, and
    the contact gets one mail however many times it runs."""
    store_path = collector_store
    store = CollectorStore(store_path)
    token = add_site(store, "site-a", now=NOW, contact="keycontact@example.com")
    me = Identity.generate()
    enrol(store, "site-a", token, me.public_raw, now=NOW)
    at = int(dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC).timestamp())
    register = {"devices": [{"n": 1, "serial": "S1", "address": "10.0.0.1:161"}]}
    message = {"site": "site-a", "seq": 1, "kind": "register", "at": at, "data": register}
    receive(store, seal(me, encode_payload(message)), now=NOW)
    store.close()
    tls, mailbox, port = make_tls(tmp_path), Mailbox(), free_tcp_port()
    config = tmp_path / "notify.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\nusername = "{USER}"\n'
        f'password = "{PASSWORD}"\nsender = "printwatch@example.com"\nrecipients = ["x@example.com"]\n'
        f'ca_file = "{tls.ca_file}"\n'
    )
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    server_cert = tls.ca.issue_cert("127.0.0.1")
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    server_cert.private_key_pem.write_to_path(str(key))
    with smtp_server(port, tls, mailbox):
        done = subprocess.run(
            [sys.executable, "-m", "printwatch.cli", "collector", "serve", "--port", "0", "--cert", str(cert),
             "--key", str(key), "--store", str(store_path), "--notify-config", str(config),
             "--notify-every-min", "0.02", "--grace-hours", "0", "--duration", "4"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "billing reads missing: mailed, checked every 0.02 min" in done.stdout
    [mail] = mailbox.messages  # checked about three times in 4 s, mailed once
    assert mail.rcpt_tos == ["keycontact@example.com"] and "serial S1" in mail.content.decode()
