"""Notifications to real servers: aiosmtpd with STARTTLS and AUTH, a local HTTP receiver."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.alerts import AlertService
from printwatch.config.model import AlertsConfig, SmtpConfig, Thresholds, WebhookConfig
from printwatch.store import Store

from tests.alerts.docs import at, doc, down, toner
from tests.alerts.servers import http_receiver
from tests.support.ports import free_tcp_port
from tests.support.smtp import USER, Mailbox, smtp_config, smtp_server
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime


class Clock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "h.duckdb") as s:
        yield s


def open_offline_alert(store: Store, service: AlertService, start: int = 0) -> None:
    """A printer that answered once, then missed three status polls: one alert opens."""
    docs = [doc(at(start))] + [down(at(start + 5 * n)) for n in (1, 2, 3)]
    for d in docs:
        store.ingest([d])
        service.evaluate([d])


def outbox(store: Store) -> list[tuple[Any, ...]]:
    return (
        store.reader()
        .execute(
            "SELECT channel, event, attempts, sent_at IS NOT NULL, last_error FROM alert_outbox "
            "ORDER BY notification_id"
        )
        .fetchall()
    )


def parsed(envelope: Any) -> Message:
    return message_from_bytes(envelope.original_content)


async def test_email_over_starttls_with_auth_reaches_every_recipient(store: Store, tmp_path: Path) -> None:
    tls = make_certs(tmp_path)
    port = free_tcp_port()
    mailbox = Mailbox()
    clock = Clock(at(60))
    service = AlertService(store, smtp=smtp_config(port, tls.ca_file), site="acme-hq", now=clock)
    open_offline_alert(store, service)
    with smtp_server(port, tls, mailbox):
        assert await service.deliver() == (1, 0)
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["fleet@example.com", "it@example.com"]
    assert mailbox.logins == [(USER, True)] and mailbox.tls_sessions == 1
    message = parsed(envelope)
    assert (
        "OPEN critical printer offline" in message["Subject"]
        and "lj-lobby at 127.0.0.7" in message["Subject"]
    )
    body = message.get_payload(decode=True).decode()
    assert "serial CNB1234567" in body and "site acme-hq" in body
    [(alert_notified,)] = store.reader().execute("SELECT notified_at FROM alerts").fetchall()
    assert alert_notified == clock.t
    assert outbox(store) == [("email", "opened", 1, True, None)]


async def test_smtp_down_then_up_the_notification_arrives_once(store: Store, tmp_path: Path) -> None:
    tls = make_certs(tmp_path)
    port = free_tcp_port()
    mailbox = Mailbox()
    clock = Clock(at(60))
    service = AlertService(store, smtp=smtp_config(port, tls.ca_file), now=clock)
    open_offline_alert(store, service)
    # Nobody listens: the try fails, the notification stays queued with the reason.
    assert await service.deliver() == (0, 1)
    [(channel, event, attempts, sent, error)] = outbox(store)
    assert (channel, event, attempts, sent) == ("email", "opened", 1, False)
    assert "SMTP 127.0.0.1" in error and "refused" in error.lower()
    # Too early for the next try (a minute's wait): nothing is sent even though nothing is up.
    assert await service.deliver() == (0, 0)
    with smtp_server(port, tls, mailbox):
        clock.advance(30)
        assert await service.deliver() == (0, 0)  # still waiting its turn
        clock.advance(31)
        assert await service.deliver() == (1, 0)
        for _ in range(3):
            clock.advance(3600)
            assert await service.deliver() == (0, 0)
    assert len(mailbox.messages) == 1
    assert outbox(store) == [("email", "opened", 2, True, None)]


async def test_wrong_password_and_no_starttls_are_refused_and_kept(store: Store, tmp_path: Path) -> None:
    tls = make_certs(tmp_path)
    port = free_tcp_port()
    mailbox = Mailbox()
    clock = Clock(at(60))
    wrong = AlertService(store, smtp=smtp_config(port, tls.ca_file, password="nope"), now=clock)
    open_offline_alert(store, wrong)
    with smtp_server(port, tls, mailbox):
        assert await wrong.deliver() == (0, 1)
        [(*_, error)] = outbox(store)
        assert "authentication" in error and USER in error
        # A client that skips STARTTLS may not authenticate at all: the server says so.
        plain = AlertService(
            store,
            smtp=SmtpConfig(**{**smtp_config(port, tls.ca_file).__dict__, "security": "none"}),
            now=clock,
        )
        clock.advance(120)
        assert await plain.deliver() == (0, 1)
        # An untrusted certificate (another CA) is refused before any password is sent.
        (tmp_path / "other").mkdir()
        other = make_certs(tmp_path / "other")
        bad_ca = AlertService(store, smtp=smtp_config(port, other.ca_file), now=clock)
        clock.advance(600)
        assert await bad_ca.deliver() == (0, 1)
        [(*_, error)] = outbox(store)
        assert "CERTIFICATE_VERIFY_FAILED" in error
    assert mailbox.messages == [] and set(mailbox.logins) == {(USER, False)}  # (smtplib tries PLAIN, LOGIN)


async def test_webhooks_json_and_chat_text_with_a_retry(store: Store) -> None:
    clock = Clock(at(60))
    with http_receiver() as json_rx, http_receiver() as text_rx:
        hooks = (
            WebhookConfig(url=json_rx.url, format="json", token="t0ken"),
            WebhookConfig(url=text_rx.url, format="text"),
        )
        service = AlertService(
            store,
            thresholds=Thresholds(supply_low_percent=20),
            alerts=AlertsConfig(clear_after_polls=1),
            webhooks=hooks,
            site="acme-hq",
            now=clock,
        )
        text_rx.answers = [503]  # the chat server is busy once
        for n, level in enumerate((50.0, 12.0)):
            d = doc(at(5 * n), supplies=[toner(level)], errors=["jammed"] if n else [])
            store.ingest([d])
            service.evaluate([d])
        assert await service.deliver() == (2, 2)
        [got] = json_rx.received
        assert got.path == "/hooks/printwatch" and got.headers["Authorization"] == "Bearer t0ken"
        assert got.headers["Content-Type"] == "application/json"
        payload = json.loads(got.body)
        assert payload["source"] == "printwatch" and payload["site"] == "acme-hq"
        events = {(a["event"], a["kind"], a["severity"]) for a in payload["alerts"]}
        assert events == {("opened", "supply_low", "warning"), ("opened", "fault", "critical")}
        assert all(a["device"]["serial"] == "CNB1234567" for a in payload["alerts"])
        assert all(a["opened_at"] == "2026-11-02T08:05:00Z" for a in payload["alerts"])
        assert text_rx.received == []
        clock.advance(61)
        assert await service.deliver() == (2, 0)
        [chat] = text_rx.received
        text = json.loads(chat.body)["text"]
        assert text.startswith("printwatch (acme-hq): 2 alerts opened")
        assert (
            "OPEN critical printer fault: lj-lobby at 127.0.0.7 (serial CNB1234567) - "
            "the printer reports jammed" in text
        )
        # A new cartridge and the jam cleared: both close, one message per webhook.
        d = doc(at(10), supplies=[toner(100.0)])
        store.ingest([d])
        service.evaluate([d])
        assert await service.deliver() == (4, 0)
        closed = json.loads(json_rx.received[-1].body)["alerts"]
        assert {a["event"] for a in closed} == {"closed"} and all(a["closed_at"] for a in closed)
        assert len(json_rx.received) == 2 and len(text_rx.received) == 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_webhook_that_redirects_is_not_followed_and_not_delivered(store: Store, status: int) -> None:
    """Issue 17: the receiver answers a redirect to another server (another port: another origin).
    Before: urllib followed 301/302/303 as an empty GET carrying the Bearer token, and the alert
    counted as delivered. Now nothing reaches the other server, and the alert waits in the outbox
    with an error that names the redirect and where it pointed."""
    clock = Clock(at(60))
    with http_receiver() as hook, http_receiver() as elsewhere:
        hook.answers = [status]
        hook.location = elsewhere.url.replace("/hooks/printwatch", "/collect")
        service = AlertService(
            store,
            thresholds=Thresholds(supply_low_percent=20),
            webhooks=(WebhookConfig(url=hook.url, token="t0ken-not-for-others", timeout_s=5.0),),
            now=clock,
        )
        d = doc(at(0), supplies=[toner(12.0)])
        store.ingest([d])
        service.evaluate([d])
        assert await service.deliver() == (0, 1)
        assert elsewhere.requests == []
        assert [(r.method, r.path) for r in hook.requests] == [("POST", "/hooks/printwatch")]
        [(_, _, attempts, sent, error)] = outbox(store)
        assert (attempts, sent) == (1, False)
        assert error == (
            f"webhook {hook.url}: answered HTTP {status} (a redirect to {hook.location}), not "
            "followed: the alert and its token go to the configured URL only (set the [[webhooks]] url to "
            "where it should go)"
        )
        # the receiver fixed (it answers 204 again): the retry delivers to the configured URL
        clock.advance(61)
        assert await service.deliver() == (1, 0)
        assert len(hook.received) == 1 and elsewhere.requests == []


async def test_two_deliveries_at_once_send_each_notification_once(store: Store) -> None:
    """A status poll's and a meter read's evaluations can end together, each delivering what is
    due: the second waits for the first, and finds nothing left to send."""
    clock = Clock(at(60))
    with http_receiver() as hook:
        service = AlertService(store, webhooks=(WebhookConfig(url=hook.url),), now=clock)
        open_offline_alert(store, service)
        results: list[tuple[int, int]] = []

        async def deliver() -> None:
            results.append(await service.deliver())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(deliver)
            nursery.start_soon(deliver)
        received = [json.loads(r.body) for r in hook.received]
    assert sorted(results) == [(0, 0), (1, 0)]
    assert [[a["event"] for a in body["alerts"]] for body in received] == [["opened"]]
    assert outbox(store) == [(f"webhook:{hook.url}", "opened", 1, True, None)]
