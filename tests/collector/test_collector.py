"""The collector over real HTTPS (trustme certificates, the appliance's pinned client): enrolment
with one-time tokens, uploads acknowledged once, and everything it must refuse with a 4xx while
storing nothing."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector import views
from printwatch.collector.enrolment import add_site, new_secret
from printwatch.collector.server import create_app, renew_daily
from printwatch.collector.store import CollectorStore, CollectorStoreError
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity, seal
from printwatch.uplink.transport import Endpoint, TransportError, post

from tests.support.collector import start_collector
from tests.support.fakes import contract_doc
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"


def collector_now() -> dt.datetime:
    """The collector's clock: an hour after the tokens were made (never the real date)."""
    return (T0 + dt.timedelta(hours=1)).replace(tzinfo=None)


def counts(store: CollectorStore) -> dict[str, int]:
    tables = ("messages", "devices", "meter_reads", "supply_levels", "reorders", "snapshots", "device_days")
    return {t: int(store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}


def stored(store: CollectorStore) -> dict[str, Any]:
    sites = store.con.execute("SELECT site_id, key_id, last_seq, token_hash IS NULL FROM sites").fetchall()
    return {"counts": counts(store), "sites": sites}


async def upload(endpoint: Endpoint, body: bytes) -> tuple[int, dict[str, Any]]:
    r = await post(endpoint, "/v1/upload", body, ENVELOPE)
    return r.status, json.loads(r.body)


def register_and_aggregate(box: Outbox) -> list[bytes]:
    """Two messages the real way (register + billing), their envelopes in order."""
    doc = contract_doc(("10.1.0.1", 161), 5, T0)
    entry, _ = box.number(
        "serial:SER00001", {"serial": "SER00001", "supplies": [[1, "toner", "black", "Black"]]}
    )
    box.enqueue("register", {"devices": [{"n": entry.n, **entry.info}]}, T0, devices=[entry])
    box.enqueue("billing", {"cycle": "2026-11-01", "r": [[entry.n, doc["meters"]]]}, T0)
    envelopes = []
    while (head := box.head()) is not None:
        envelopes.append(head.envelope)
        box.acknowledge(head.seq)
    return envelopes


@pytest.mark.realtime
async def test_enrolment_uploads_and_every_refusal(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=T0.replace(tzinfo=None), contact="ops@example.com")
    collector = await start_collector(nursery, store, certs, now=collector_now)
    endpoint = collector.endpoint()
    me = Identity.generate()
    box = Outbox(tmp_path / "appliance.duckdb", me, "site-a")

    # A wrong token: 403, nothing stored, the site still open for its real token.
    before = stored(store)
    with pytest.raises(EnrolError, match=r"403.*enrolment refused: unknown site, or a wrong, spent"):
        await enrol(box, endpoint, "not-the-token", now=T0)
    assert stored(store) == before
    # Uploads before enrolment: the key is unknown (401), nothing stored.
    envelopes = register_and_aggregate(box)
    assert await upload(endpoint, envelopes[0]) == (401, {"error": f"unknown key {me.key_id.hex()}"})
    assert stored(store) == before
    # The right token: enrolled; the token is spent.
    assert await enrol(box, endpoint, token, now=T0) == me.key_id.hex()
    other = Outbox(tmp_path / "other.duckdb", Identity.generate(), "site-a")
    with pytest.raises(EnrolError, match=r"403.*enrolment refused"):
        await enrol(other, endpoint, token, now=T0)
    # The log keeps the enrolment with the token masked.
    logged = box.con.execute("SELECT request FROM uplink_log WHERE status = 200").fetchone()
    assert (
        logged is not None
        and token.encode() not in bytes(logged[0])
        and b"*" * len(token) in bytes(logged[0])
    )

    # In order: accepted and acknowledged, the registration answered with a sync.
    status, reply = await upload(endpoint, envelopes[0])
    assert status == 200 and reply["ack"] == 1 and reply["sync"]["billing"]["cycle"] == "monthly"
    status, reply = await upload(endpoint, envelopes[1])
    assert (status, reply) == (200, {"ack": 2})
    accepted = stored(store)
    assert accepted["counts"]["messages"] == 2 and accepted["counts"]["meter_reads"] == 3

    # A replayed old upload: 409 with what the collector expects, nothing stored.
    assert await upload(endpoint, envelopes[0]) == (
        409,
        {"error": "duplicate or replayed message 1 (site site-a has up to 2)", "expected": 3},
    )
    # A garbled body, a bit flipped in a signed one, a truncated one: 400.
    flipped = bytearray(envelopes[1])
    flipped[-5] ^= 0x40
    for body, why in [
        (b"hello collector", "shorter than its header"),
        (b"GARBAGE" * 20, "magic"),
        (bytes(flipped), "bad signature"),
        (envelopes[1][:-3], "bad signature"),
    ]:
        status, reply = await upload(endpoint, body)
        assert status == 400 and why in reply["error"]
    # Signed by the enrolled key but garbage inside (not deflate), or another site's name: 400 / 403.
    assert (await upload(endpoint, seal(me, b"\x00not deflate")))[0] == 400
    message = {"site": "site-b", "seq": 3, "kind": "sync", "at": 1, "data": {}}
    status, reply = await upload(endpoint, seal(me, encode_payload(message)))
    assert status == 403 and "site-b" in reply["error"]
    # A gap (message 4 before 3): 409, nothing stored.
    message = {"site": "site-a", "seq": 4, "kind": "sync", "at": 1, "data": {}}
    assert (await upload(endpoint, seal(me, encode_payload(message))))[1]["expected"] == 3
    # Oversized: 413 before it is read whole.
    assert (await upload(endpoint, b"PW\x01" + bytes(5 * 1024 * 1024)))[0] == 413
    # Malformed data in a well-signed message: 400, and the transaction left nothing behind.
    message = {
        "site": "site-a",
        "seq": 3,
        "kind": "aggregate",
        "at": 1,
        "data": {"n": [1], "polls": 1, "m": {"total": [1, 2]}},
    }
    status, reply = await upload(endpoint, seal(me, encode_payload(message)))
    assert status == 400 and "malformed" in reply["error"]
    assert stored(store) == accepted

    # The read-only view, as JSON over HTTPS (the CLI prints the same rows).
    assert views.sites(store.con)[0]["last_seq"] == 2
    r = await post(endpoint, "/api/reads", b"", "text/plain")  # POST is not the view's method
    assert r.status == 405
    await collector.stop()
    store.close()


@pytest.mark.realtime
async def test_the_pin_is_checked_and_an_unpinned_ca_verifies(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    collector = await start_collector(nursery, store, certs, now=collector_now)
    wrong = "sha256/" + base64.b64encode(bytes(32)).decode()
    with pytest.raises(TransportError, match="pin_mismatch"):
        await post(Endpoint(collector.url, pin=wrong), "/v1/upload", b"x", ENVELOPE)
    r = await post(Endpoint(collector.url, ca_file=certs.ca_file), "/v1/upload", b"x", ENVELOPE)
    assert r.status == 400  # through TLS verified against the CA, to the collector's answer
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        await post(Endpoint(collector.url), "/v1/upload", b"x", ENVELOPE)  # the system CAs do not know it
    await collector.stop()
    store.close()


def test_enrolment_tokens_never_look_like_an_option() -> None:
    # token_urlsafe starts with "-" one time in 64, and `printwatch enrol --token -x` then
    # fails with "argument --token: expected one argument".
    tokens = {new_secret() for _ in range(2000)}
    assert len(tokens) == 2000
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) == 32 for t in tokens)


@pytest.mark.realtime
async def test_the_collector_renews_its_store_between_uploads(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=T0.replace(tzinfo=None))
    app = create_app(store, now=collector_now)
    collector = await start_collector(nursery, store, certs, now=collector_now, app=app)
    endpoint = collector.endpoint()
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    await enrol(box, endpoint, token, now=T0)
    envelopes = register_and_aggregate(box)
    assert (await upload(endpoint, envelopes[0]))[0] == 200
    # Renewals every 50 ms through the server's database thread, while uploads go on.
    first = store.con
    async with trio.open_nursery() as renewals:
        renewals.start_soon(functools.partial(renew_daily, app.state.db, store, every_s=0.05))
        await trio.sleep(1.0)
        assert store.con is not first
        for _ in range(5):
            assert (await upload(endpoint, envelopes[1]))[0] in (200, 409)  # 409: the replay after it
            await trio.sleep(0.03)
        renewals.cancel_scope.cancel()
    assert views.sites(store.con)[0]["last_seq"] == 2
    await collector.stop()
    store.close()
    # A renewal that fails (here: the store closed under it) is an error naming the file.
    with pytest.raises(CollectorStoreError, match="not renewed"):
        store.renew()
