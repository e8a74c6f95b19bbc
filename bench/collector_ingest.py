"""A day of S sites x P printers ingested by real ``collector serve`` front ends (issue 21).

    python bench/collector_ingest.py [--sites 100 1000] [--printers 200] [--backends ...]
        [--sample-s 120] [--cache DIR] [--json bench/results/collector_ingest.json]

**The traffic** is made by the appliance's own uplink code before anything is timed: per site an
:class:`~printwatch.uplink.service.UplinkService` on an in-memory outbox (its own Ed25519 key)
observes four polls of P synthetic printers (about 60 % colour: 4 meters and 4 supplies, else 3
and 1; a few unreachable; eight named counters each) on the site's billing day, with the real
reorder decisions, the registrations, four aggregates and the day's sync, the billing read of
the cycle, and two assist snapshots. What its outbox then holds (signed, compressed envelopes in
sequence) is the site's day, sent as the appliance's sender sends it: one HTTPS request per
message (:func:`printwatch.uplink.transport.post`, the collector's certificate pinned), in order
per site, sites in parallel; the messages of one upload turn (the 4 polls and upload slots)
over one kept connection to a front end drawn at random (a load balancer), or with
``--connection-per message`` each message on a connection of its own.

**The collector** is ``printwatch collector serve`` (1 to 3 processes on one PostgreSQL, or one
on a DuckDB file), started fresh for every run on a fresh database where the sites are added
and their keys enrolled beforehand. PostgreSQL is Debian's, initdb'd by
``tests/support/postgres.py`` and run here with durable settings (fsync, synchronous commit and
full-page writes on, as in production; 256 MB of shared buffers).

**Measured** per run: messages/s and device rows/s (the devices each message names: registered,
aggregated, read, triggered, snapshotted) over the wall time of the sending, the latency of each
request (p50, p99), the CPU seconds (``/proc/PID/stat``) and peak RSS (VmHWM) of each front end,
the CPU of PostgreSQL's processes (every backend, the postmaster's tree) and their memory (the
sum of their PSS), and the client's own CPU (it must stay well under a core, else it is what is
measured). A run sends every site's day unless ``--sample-s`` ends it first: then the figures are
those of the sites sent whole (a measured sample of the day), and the day's time is extrapolated
linearly from them (sites are alike, and a site's work does not depend on the others').
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import pickle
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import trio

try:
    import bench  # noqa: F401
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import decode_payload, encode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import ENVELOPE_TYPE
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import HEADER_BYTES, Identity, key_id, seal
from printwatch.uplink.transport import Endpoint, Session, TransportError, post

from tests.support.ports import free_tcp_port
from tests.support.postgres import PostgresServer, _wait_ready, binaries, start_postgres
from tests.support.tls import Certs, make_certs

#: The day every site reports (its billing day: a monthly cycle from the 1st). Fixed, never today.
DAY = dt.date(2026, 11, 2)
T0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
CYCLE_DAY = 2
VENDORS = ("hp", "xerox", "canon", "ricoh", "brother", "lexmark", "kyocera", "konica_minolta")
SUPPLY_COLOURS = ("black", "cyan", "magenta", "yellow")
#: What the PostgreSQL of the bench runs with (on top of tests/support/postgres.py's cluster).
PG_SETTINGS = {
    "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "shared_buffers": "256MB",
    "max_wal_size": "4GB", "max_connections": "100", "log_min_messages": "warning",
    "shared_preload_libraries": "pg_stat_statements",
}  # fmt: skip


# -- the traffic -----------------------------------------------------------------------------------


def printer_doc(site: int, i: int, rng: random.Random) -> dict[str, Any]:
    """One synthetic printer's poll document (the keys the uplink reads)."""
    colour = rng.random() < 0.6
    vendor = VENDORS[i % len(VENDORS)]
    meters = {"total": rng.randrange(1_000, 900_000), "print_black": rng.randrange(500, 400_000)}
    meters["copy_black"] = rng.randrange(0, 200_000)
    if colour:
        meters["print_color"] = rng.randrange(0, 300_000)
    colours = SUPPLY_COLOURS if colour else SUPPLY_COLOURS[:1]
    supplies = [
        {"index": k + 1, "type": "toner", "color": c, "description": f"{c.title()} Toner",
         "percent": rng.randrange(3, 100)}
        for k, c in enumerate(colours)
    ]  # fmt: skip
    counters = [
        {"name": f"{vendor}.counter.{k}", "oid": f"1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.{k}",
         "value": rng.randrange(0, 500_000)}
        for k in range(8)
    ]  # fmt: skip
    return {
        "target": f"10.{site % 250}.{i // 250}.{i % 250 + 1}",
        "reachable": rng.random() > 0.03,
        "serial": f"CN{site:05d}X{i:05d}",
        "vendor": vendor,
        "model": f"{vendor} model {i % 7}",
        "mac": f"00:1b:{site % 256:02x}:{i // 256 % 256:02x}:{i % 256:02x}:01",
        "sys": {"name": f"prn-{site}-{i}"},
        "status": {"device": "running" if rng.random() > 0.05 else "warning"},
        "meters": meters,
        "supplies": supplies,
        "counters": counters,
    }


def advance(docs: list[dict[str, Any]], rng: random.Random) -> None:
    """A quarter of a day: pages printed, toner used, a few printers off or back."""
    for doc in docs:
        doc["reachable"] = rng.random() > 0.03
        for name in doc["meters"]:
            doc["meters"][name] += rng.randrange(0, 120)
        for supply in doc["supplies"]:
            supply["percent"] = max(0, supply["percent"] - rng.randrange(0, 3))
        for counter in doc["counters"]:
            counter["value"] += rng.randrange(0, 60)


@dataclass
class SiteDay:
    """One site's day as its outbox holds it: its key, and its envelopes in sequence with the
    kind and the device rows (devices named) of each."""

    site_id: str
    public_key: bytes
    envelopes: list[bytes]
    kinds: list[str]
    rows: list[int]


def _device_rows(kind: str, data: dict[str, Any]) -> int:
    if kind == "register":
        return len(data.get("devices", []))
    if kind == "aggregate":
        return len(data.get("n", []))
    if kind == "billing":
        return len(data.get("r", []))
    if kind == "reorder":
        return len(data.get("t", []))
    return 1 if kind == "snapshot" else 0


def site_uplink(
    site: int, printers: int, start: dt.datetime
) -> tuple[UplinkService, dict[str, dt.datetime], list[dict[str, Any]], random.Random]:
    """Site ``site``'s appliance uplink on an in-memory outbox (its own key, nothing sent), its
    clock (``clock["now"]``, from ``start``), its ``printers`` synthetic printers and their rng."""
    rng = random.Random(site)
    box = Outbox(":memory:", Identity.generate(), f"site-{site:05d}")
    clock = {"now": start}
    svc = UplinkService(
        box, Endpoint("https://127.0.0.1:9"), now=lambda: clock["now"], budget_bytes_per_day=1 << 30
    )
    return svc, clock, [printer_doc(site, i, rng) for i in range(printers)], rng


def outbox_messages(svc: UplinkService) -> list[dict[str, Any]]:
    """What ``svc``'s outbox holds, decoded, in order; the outbox is closed."""
    rows = svc.outbox.con.execute("SELECT envelope FROM uplink_outbox ORDER BY seq").fetchall()
    svc.outbox.close()
    return [decode_payload(bytes(e)[HEADER_BYTES:]) for (e,) in rows]


async def _template_day(site: int, printers: int) -> list[dict[str, Any]]:
    """One site's day through the appliance's uplink: what its outbox holds, decoded, in order."""
    svc, clock, docs, rng = site_uplink(site, printers, T0)
    for part in range(4):
        clock["now"] = T0 + dt.timedelta(hours=6 * part + 5)
        if part:
            advance(docs, rng)
        await svc.observe(docs)
        if part == 0:
            await svc.billing_cycle(DAY, docs)
        await svc.upload(clock["now"])
        if part in (1, 2):
            first = part * 7 % len(docs)
            await svc.snapshot(next(d for d in docs[first:] + docs if d["reachable"]))
    return outbox_messages(svc)


def _templates(first: int, count: int, printers: int) -> list[list[dict[str, Any]]]:
    async def run() -> list[list[dict[str, Any]]]:
        return [await _template_day(site, printers) for site in range(first, first + count)]

    return trio.run(run)


def _own(message: dict[str, Any], site: int, site_id: str) -> dict[str, Any]:
    """A template's message as site ``site``'s: its id, and its devices' own serials and MACs."""
    out = {**message, "site": site_id}
    if message["kind"] == "register":
        out["data"] = {**message["data"], "devices": [
            {**d, "serial": f"CN{site:05d}X{d['n']:05d}", "mac": f"02:{site >> 8 & 255:02x}:"
             f"{site & 255:02x}:{d['n'] >> 8 & 255:02x}:{d['n'] & 255:02x}:01"}
            for d in message["data"]["devices"]
        ]}  # fmt: skip
    return out


def _seal_sites(first: int, count: int, templates: list[list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """Sites ``first`` to ``first + count``, each on a template's day, with its own key: every
    message encoded and sealed again by the uplink's codec and signing. Tuples, not
    :class:`SiteDay`: a spawned worker's classes of a script are ``__mp_main__``'s."""
    days = []
    for site in range(first, first + count):
        site_id, identity = f"site-{site:05d}", Identity.generate()
        messages = [_own(m, site, site_id) for m in templates[site % len(templates)]]
        days.append((
            site_id,
            identity.public_raw,
            [seal(identity, encode_payload(m)) for m in messages],
            [str(m["kind"]) for m in messages],
            [_device_rows(str(m["kind"]), m["data"]) for m in messages],
        ))  # fmt: skip
    return days


#: Distinct site days made through the whole uplink (the others are these, re-sealed).
TEMPLATES = 16


def make_traffic(
    sites: int, printers: int, *, workers: int = 2, cache: Path | None = None, log: Callable[[str], None]
) -> list[SiteDay]:
    """Every site's day, made in ``workers`` processes (or read from ``cache``, where it is kept):
    :data:`TEMPLATES` days through the appliance's uplink service and outbox (its DuckDB writes
    are the slow part: 2 s a site of 200 printers), then each site one of them, with its own
    site id, serials and key, encoded and sealed again."""
    path = None if cache is None else cache / f"traffic-v2-{sites}x{printers}.pickle"
    if path is not None and path.exists():
        with path.open("rb") as f:
            return [SiteDay(*t) for t in pickle.load(f)]  # the bench's own file, written below
    started = time.monotonic()
    count = min(sites, TEMPLATES)
    kept = None if cache is None else cache / f"templates-{printers}.pickle"
    # Spawned, not forked: under pytest the parent has threads (DuckDB's, psycopg's, trio's) by
    # now, and a child forked while one of them held a lock crashed CI (BrokenProcessPool).
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        if kept is not None and kept.exists():
            with kept.open("rb") as f:
                templates = pickle.load(f)[:count]  # plain data, the bench's own file
        else:
            half = -(-count // workers)
            starts = list(range(0, count, half))
            parts = pool.map(
                _templates, starts, [min(half, count - s) for s in starts], [printers] * len(starts)
            )
            templates = [t for part in parts for t in part]
            if kept is not None and count == TEMPLATES:
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_bytes(pickle.dumps(templates))
        chunk = -(-sites // workers)
        starts = list(range(0, sites, chunk))
        sealed = pool.map(
            _seal_sites, starts, [min(chunk, sites - s) for s in starts], [templates] * len(starts)
        )
        days = [SiteDay(*d) for part in sealed for d in part]
    log(f"  traffic of {sites} sites x {printers} printers made in {time.monotonic() - started:.0f} s")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:  # tuples: a script's classes are __main__'s
            pickle.dump([(d.site_id, d.public_key, d.envelopes, d.kinds, d.rows) for d in days], f)
    return days


# -- processes and their cost ----------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of a live process (``/proc/PID/stat``), 0 for one gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(root: int) -> list[int]:
    """``root`` and its children (PostgreSQL's postmaster and its backends)."""
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == root:
                pids.append(int(entry.name))
    return pids


def start_bench_postgres(folder: Path) -> PostgresServer:
    """tests/support/postgres.py's cluster, started again with :data:`PG_SETTINGS`."""
    server = start_postgres(folder)
    server.stop()
    port = free_tcp_port()
    settings = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(folder), "port": str(port)}
    args = [str(binaries() / "postgres"), "-D", str(folder / "data")]
    for key, value in {**settings, **PG_SETTINGS}.items():
        args += ["-c", f"{key}={value}"]
    as_user: dict[str, Any] = {}
    if os.getuid() == 0:
        as_user = {"user": 65534, "group": 65534, "extra_groups": []}
    with (folder / "postgres.log").open("ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, **as_user)
    server = PostgresServer(folder, port, proc)
    _wait_ready(server)
    return server


def front_end(port: int, certs: Certs, store: str, duration_s: float) -> subprocess.Popen[str]:
    """``printwatch collector serve`` on ``port``, answering when this returns."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "printwatch.cli", "collector", "serve", "--port", str(port),
         "--cert", str(certs.certfile), "--key", str(certs.keyfile), "--store", store,
         "--duration", str(duration_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    if not line.startswith("collector: https://"):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"collector serve did not start: {line!r} {err[-2000:]}")
    proc.stderr.close()  # its warnings (none expected) are not read: the pipe would fill
    return proc


def spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (50 a second, raw stacks to ``out``) until SIGINT."""
    py_spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "-f", "raw", "-r", "50", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


# -- one run ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    rows: int = 0
    sites: int = 0
    retries: int = 0
    refused: dict[str, int] = field(default_factory=dict)


#: The kinds that begin an upload turn when they follow the end of one: a poll's registrations
#: and reorder triggers after the previous part's aggregate (and its sync or snapshot).
TURN_ENDS = ("aggregate", "sync", "snapshot")


def turns(kinds: Sequence[str]) -> list[range]:
    """A site's day cut into its upload turns (the 4 polls and upload slots: the messages each
    makes, sent one after the other), as ranges of its message indexes."""
    starts = [0] + [
        i for i in range(1, len(kinds)) if kinds[i] not in TURN_ENDS and kinds[i - 1] in TURN_ENDS
    ]
    return [range(a, b) for a, b in zip(starts, [*starts[1:], len(kinds)], strict=True)]


class Client:
    """The appliances' side: each site's envelopes in order over HTTPS (the uplink's transport).
    ``per_turn`` (what the appliance's sender does): one kept connection for the messages of an
    upload turn (:func:`turns`), to a front end drawn at random (a load balancer passes a
    connection to one); else a connection per message, each to a front end drawn at random. A
    refusal (503 busy, a transport error) is tried again after 0.2 s, as the sender's backoff
    would, on a new connection."""

    def __init__(self, endpoints: list[Endpoint], seed: int, *, per_turn: bool = True) -> None:
        self.endpoints = endpoints
        self.rng = random.Random(seed)
        self.sent = Sent()
        self.per_turn = per_turn
        self.connections = 0

    async def site(self, day: SiteDay) -> None:
        for turn in turns(day.kinds) if self.per_turn else [range(len(day.kinds))]:
            session = Session() if self.per_turn else None
            endpoint = self.rng.choice(self.endpoints)
            try:
                for i in turn:
                    endpoint = await self.one(day.envelopes[i], day.rows[i], endpoint, session)
            finally:
                if session is not None:
                    await session.aclose()
                    self.connections += session.opened
        self.sent.sites += 1

    async def one(self, envelope: bytes, rows: int, endpoint: Endpoint, session: Session | None) -> Endpoint:
        """Sends until accepted; the front end it went to (drawn again after a refusal)."""
        sent = self.sent
        for _attempt in range(50):
            if session is None:
                endpoint = self.rng.choice(self.endpoints)
                self.connections += 1
            t = time.perf_counter()
            try:
                r = await post(endpoint, "/v1/upload", envelope, ENVELOPE_TYPE, session=session)
            except TransportError as err:
                self.refused(str(err)[:60])
                endpoint = await self.again(session)
                continue
            if r.status == 200:
                sent.latencies.append(time.perf_counter() - t)
                sent.messages += 1
                sent.rows += rows
                return endpoint
            if r.status not in (503, 429):
                raise RuntimeError(f"upload refused {r.status}: {r.body[:200]!r}")
            self.refused(str(r.status))
            endpoint = await self.again(session)
        raise RuntimeError("an upload was refused 50 times")

    async def again(self, session: Session | None) -> Endpoint:
        """After a refusal: the connection closed (as the sender does), 0.2 s, a front end drawn."""
        if session is not None:
            self.connections += session.opened
            session.opened = 0
            await session.aclose()
        await trio.sleep(0.2)
        return self.rng.choice(self.endpoints)

    def refused(self, why: str) -> None:
        self.sent.refused[why] = self.sent.refused.get(why, 0) + 1
        self.sent.retries += 1


async def send_sites(
    days: Sequence[SiteDay],
    endpoints: list[Endpoint],
    concurrency: int,
    deadline: float,
    seed: int,
    per_turn: bool = True,
) -> tuple[Sent, int]:
    """Every site's day, ``concurrency`` sites at a time; a site not begun by ``deadline``
    (monotonic) is left out. What was sent, and over how many connections."""
    client = Client(endpoints, seed, per_turn=per_turn)
    queue = iter(days)

    async def stream() -> None:
        for day in queue:
            if time.monotonic() > deadline:
                return
            await client.site(day)

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(stream)
    return client.sent, client.connections


#: Sites added and enrolled one by one (``add_site``, ``enrol``); the rest in one insert.
ENROLLED_ONE_BY_ONE = 100


def prepare_store(where: str, days: Sequence[SiteDay]) -> None:
    """Every site added and its appliance's key enrolled (what happens once, before a day): the
    first :data:`ENROLLED_ONE_BY_ONE` through the collector's own enrolment, the others as the
    same rows in one insert (10,000 sites one by one take minutes on a loaded machine)."""
    store = CollectorStore(where)
    enrolled_at = dt.datetime(2026, 10, 1)
    try:
        for day in days[:ENROLLED_ONE_BY_ONE]:
            token = add_site(store, day.site_id, now=enrolled_at, valid_days=3650)
            enrol(store, day.site_id, token, day.public_key, now=enrolled_at)
        rows = [
            (d.site_id, enrolled_at, enrolled_at, d.public_key, key_id(d.public_key).hex())
            for d in days[ENROLLED_ONE_BY_ONE:]
        ]
        columns = ["site_id", "created_at", "enrolled_at", "public_key", "key_id"]
        with store.transaction() as con:
            if rows:
                store.bulk(con, "sites", columns, rows)
            con.execute("UPDATE sites SET billing_day = ?", [CYCLE_DAY])
    finally:
        store.close()


def store_bytes(where: str) -> int:
    """The store's size: the database's (``pg_database_size``), or the DuckDB file and its log."""
    if where.startswith("postgresql://"):
        with psycopg.connect(where, autocommit=True) as con:
            row = con.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0
    return sum(p.stat().st_size for p in (Path(where), Path(where + ".wal")) if p.exists())


def stored_messages(where: str) -> int:
    """The messages the store holds (every one answered 200 must be there, once)."""
    store = CollectorStore(where)
    try:
        row = store.con.execute("SELECT count(*), count(DISTINCT (site_id, seq)) FROM messages").fetchone()
    finally:
        store.close()
    if row[0] != row[1]:
        raise RuntimeError(f"{row[0]} messages stored, {row[1]} distinct")
    return int(row[0])


def top_statements(where: str, count: int = 12) -> list[dict[str, Any]]:
    """PostgreSQL's own account of the run (pg_stat_statements): the statements that took most."""
    with psycopg.connect(where, autocommit=True) as con:
        rows = con.execute(
            "SELECT calls, round(total_exec_time::numeric, 1), rows, left(regexp_replace(query, "
            "'\\s+', ' ', 'g'), 160) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT %s",
            [count],
        ).fetchall()
    return [{"calls": int(c), "ms": float(ms), "rows": int(r), "query": str(q)} for c, ms, r, q in rows]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def fresh_store(
    backend: str, days: Sequence[SiteDay], work: Path, pg: PostgresServer | None, name: str
) -> str:
    """A store named ``name`` with every site added and enrolled: a copy of one prepared once per
    site count (a template database, a copied file), so that each run starts alike and quickly."""
    prepared = f"prepared_{backend}_{len(days)}"
    if backend == "duckdb":
        source = work / f"{prepared}.duckdb"
        if not source.exists():
            prepare_store(str(source), days)
        shutil.copy(source, work / f"{name}.duckdb")
        return str(work / f"{name}.duckdb")
    assert pg is not None
    with pg.admin() as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [prepared]).fetchall():
            admin.execute(f"CREATE DATABASE {prepared}")
            prepare_store(pg.url(prepared), days)
            with psycopg.connect(pg.url(prepared), autocommit=True) as con:
                con.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {prepared}")
    with psycopg.connect(pg.url(name), autocommit=True) as con:
        con.execute("ANALYZE")  # as autovacuum would have by the time a day begins
        con.execute("SELECT pg_stat_statements_reset()")
    return pg.url(name)


def run_one(
    backend: str,
    fronts: int,
    days: Sequence[SiteDay],
    work: Path,
    certs: Certs,
    pg: PostgresServer | None,
    *,
    sample_s: float,
    concurrency: int,
    log: Callable[[str], None],
    profile: Path | None = None,
    per_turn: bool = True,
) -> dict[str, Any]:
    """One configuration: a fresh store, ``fronts`` front ends, every site's day sent (or the
    sites begun within ``sample_s``), a connection per upload turn (or per message)."""
    name = f"b{os.getpid()}_{backend}_{fronts}_{len(days)}_{time.monotonic_ns() % 10**9}"
    where = fresh_store(backend, days, work, pg, name)
    ports = [free_tcp_port() for _ in range(fronts)]
    procs = [front_end(port, certs, where, sample_s + 600) for port in ports]
    endpoints = [Endpoint(f"https://127.0.0.1:{port}", pin=certs.pin, timeout_s=60.0) for port in ports]
    pg_pids = tree(pg.proc.pid) if pg is not None and backend == "postgres" else []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        spies += [spy(p.pid, profile / f"{name}-fe{k}.txt") for k, p in enumerate(procs)] if profile else []
        size0 = store_bytes(where)
        cpu0 = [cpu_s(p.pid) for p in procs]
        pg0 = {pid: cpu_s(pid) for pid in pg_pids}
        client0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        sent, connections = trio.run(
            send_sites, days, endpoints, concurrency, t0 + sample_s, len(days), per_turn
        )
        wall = time.monotonic() - t0
        client1 = resource.getrusage(resource.RUSAGE_SELF)
        fronts_cpu = [cpu_s(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
        fronts_rss = [status_kb(p.pid, "VmHWM") / 1024 for p in procs]
        pg_now = tree(pg.proc.pid) if pg_pids and pg is not None else []
        pg_cpu = sum(cpu_s(pid) - pg0.get(pid, 0.0) for pid in pg_now)
        pg_pss = sum(pss_kb(pid) for pid in pg_now) / 1024
        load = os.getloadavg()
    finally:
        for spying in spies:
            spying.send_signal(signal.SIGINT)
            spying.wait(60)
        for proc in procs:
            stop(proc)
    client_cpu = client1.ru_utime + client1.ru_stime - client0.ru_utime - client0.ru_stime
    sample = sent.sites < len(days)
    per_site = wall / max(sent.sites, 1)
    result = {
        "backend": backend,
        "front_ends": fronts,
        "sites": len(days),
        "sites_sent": sent.sites,
        "sample": sample,
        "messages": sent.messages,
        "connections": connections,
        "connection_per": "turn" if per_turn else "message",
        "device_rows": sent.rows,
        "wall_s": round(wall, 2),
        "messages_per_s": round(sent.messages / wall, 1),
        "device_rows_per_s": round(sent.rows / wall, 0),
        "p50_ms": round(percentile(sent.latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(sent.latencies, 0.99) * 1000, 1),
        "front_end_cpu_s": [round(c, 2) for c in fronts_cpu],
        "front_end_peak_rss_mb": [round(r, 1) for r in fronts_rss],
        "postgres_cpu_s": round(pg_cpu, 2) if backend == "postgres" else None,
        "postgres_pss_mb": round(pg_pss, 1) if backend == "postgres" else None,
        "client_cpu_s": round(client_cpu, 2),
        "client_cpu_share": round(client_cpu / wall, 2),
        "retries": sent.retries,
        "refused": sent.refused,
        "day_s": round(per_site * len(days), 1),
        "front_end_cpu_s_per_site": round(sum(fronts_cpu) / max(sent.sites, 1), 4),
        "postgres_cpu_s_per_site": round(pg_cpu / max(sent.sites, 1), 4) if backend == "postgres" else None,
        "cores": os.cpu_count() or 1,
        "day_cpu_bound_s": round(
            (sum(fronts_cpu) + (pg_cpu if backend == "postgres" else 0.0))
            / max(sent.sites, 1)
            * len(days)
            / (os.cpu_count() or 1),
            1,
        ),
        "loadavg": [round(x, 2) for x in load],
    }
    result["store_bytes_per_site"] = round((store_bytes(where) - size0) / max(sent.sites, 1))
    result["stored_messages"] = stored_messages(where)
    if backend == "postgres":
        assert pg is not None
        result["top_statements"] = top_statements(where)
        with pg.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    log(summary(result))
    return result


def summary(r: dict[str, Any]) -> str:
    sample = f" (a sample: {r['sites_sent']} sent)" if r["sample"] else ""
    return (
        f"  {r['backend']} x{r['front_ends']}, {r['sites']} sites{sample}: {r['messages_per_s']:.0f} msg/s, "
        f"{r['device_rows_per_s']:,.0f} device rows/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; CPU per "
        f"site: front ends {r['front_end_cpu_s_per_site']} s, PostgreSQL {r['postgres_cpu_s_per_site']} s; "
        f"client {r['client_cpu_share']:.2f} of a core; the day {r['day_s']} s (CPU-bound on "
        f"{r['cores']} cores: {r['day_cpu_bound_s']} s); load {r['loadavg'][0]:.2f}"
    )


CONFIGS = {"duckdb": [1], "postgres": [1, 2, 3]}


def in_process(days: Sequence[SiteDay], sites: int, rounds: int, label: str | None = None) -> dict[str, Any]:
    """The store's own cost, without HTTPS or a server: ``sites`` sites' days stored by
    :func:`~printwatch.collector.ingest.receive` in this process (each aggregate and reorder
    followed by the site's supplies refresh, as ``collector serve`` does), on a fresh database of
    a PostgreSQL run as the bench's, ``rounds`` times (a fresh database and other sites each):
    this process's CPU (opening, checking, row making, psycopg) and its PostgreSQL backend's,
    per site, the medians. Less noisy than the whole bench on a shared machine."""
    from printwatch.collector import supplies
    from printwatch.collector.ingest import receive

    folder = Path(tempfile.mkdtemp(prefix="collector-ingest-pg-"))
    pg = start_bench_postgres(folder)
    now = dt.datetime(2026, 11, 2, 23)
    measured = []
    statements: list[list[dict[str, Any]]] = []
    try:
        for r in range(rounds):
            with pg.admin() as admin:
                admin.execute(f"CREATE DATABASE ip{r}")
            prepare_store(pg.url(f"ip{r}"), days)
            with psycopg.connect(pg.url(f"ip{r}"), autocommit=True) as con:
                con.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                con.execute("ANALYZE")  # as fresh_store: as autovacuum would have by then
                con.execute("SELECT pg_stat_statements_reset()")
            store = CollectorStore(pg.url(f"ip{r}"))
            backend = int(store.con.execute("SELECT pg_backend_pid()").fetchone()[0])
            here, there = time.process_time(), cpu_s(backend)
            for day in [days[(r * sites + k) % len(days)] for k in range(sites)]:
                for envelope, kind in zip(day.envelopes, day.kinds, strict=True):
                    receive(store, envelope, now=now)
                    if kind in ("aggregate", "reorder"):
                        supplies.refresh(store, day.site_id)
            measured.append(((time.process_time() - here) / sites, (cpu_s(backend) - there) / sites))
            store.close()
            statements.append(top_statements(pg.url(f"ip{r}"), 8))
            with pg.admin() as admin:
                admin.execute(f"DROP DATABASE ip{r} WITH (FORCE)")
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "code": label, "sites": sites, "rounds": rounds, "loadavg": [round(x, 2) for x in os.getloadavg()],
        "client_cpu_s_per_site": round(statistics.median(m[0] for m in measured), 4),
        "postgres_cpu_s_per_site": round(statistics.median(m[1] for m in measured), 4),
        "each": [[round(a, 4), round(b, 4)] for a, b in measured],
        "top_statements": statements,
    }  # fmt: skip


def run(
    sites: Sequence[int],
    printers: int,
    *,
    backends: Sequence[str] = ("duckdb", "postgres"),
    front_ends: Sequence[int] = (1, 2, 3),
    sample_s: float = 180.0,
    concurrency_per_front_end: int = 6,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
    profile: Path | None = None,
    out: Path | None = None,
    per_turn: bool = True,
    label: str | None = None,
) -> dict[str, Any]:
    """Every (sites, backend, front ends) configuration; the results as written to the JSON
    (each run named ``label``, the code measured, when given)."""
    work = Path(tempfile.mkdtemp(prefix="collector-ingest-"))
    runs: list[dict[str, Any]] = []
    pg = None
    try:
        certs = make_certs(work / "certs")
        if "postgres" in backends:
            pg_folder = Path(tempfile.mkdtemp(prefix="collector-ingest-pg-"))  # chowned to its user
            pg = start_bench_postgres(pg_folder)
        for count in sites:
            days = make_traffic(count, printers, cache=cache, log=log)
            for backend in backends:
                for fronts in CONFIGS[backend]:
                    if fronts not in front_ends:
                        continue
                    r = run_one(
                        backend, fronts, days, work, certs, pg, sample_s=sample_s,
                        concurrency=concurrency_per_front_end * fronts, log=log, profile=profile,
                        per_turn=per_turn,
                    )  # fmt: skip
                    r["printers"] = printers
                    if label is not None:
                        r["code"] = label
                    r["messages_per_site"] = round(statistics.mean(len(d.envelopes) for d in days), 1)
                    runs.append(r)
                    if out is not None:  # after each run: a long one cut short keeps the others
                        out.write_text(json.dumps(results(printers, sites, sample_s, runs), indent=1) + "\n")
    finally:
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.folder, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return results(printers, sites, sample_s, runs)


def results(
    printers: int, sites: Sequence[int], sample_s: float, runs: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "printers": printers,
        "sites": list(sites),
        "sample_s": sample_s,
        "postgres_settings": PG_SETTINGS,
        "cores": os.cpu_count(),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--printers", type=int, default=200)
    parser.add_argument("--backends", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--front-ends", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sample-s", type=float, default=180.0, help="stop beginning sites after S s")
    parser.add_argument("--concurrency", type=int, default=6, help="sites in flight per front end")
    parser.add_argument("--cache", type=Path, default=None, help="keep the made traffic here")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy each front end into DIR")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--connection-per", choices=["turn", "message"], default="turn",
        help="one kept connection per upload turn (the appliance's sender), or one per message",
    )  # fmt: skip
    parser.add_argument("--label", default=None, help="the code measured, named in each run")
    parser.add_argument(
        "--in-process", type=int, nargs=2, metavar=("SITES", "ROUNDS"), default=None,
        help="only the store's own cost: SITES sites' days stored in this process, ROUNDS times",
    )  # fmt: skip
    args = parser.parse_args()
    if args.in_process is not None:
        days = make_traffic(args.sites[0], args.printers, cache=args.cache, log=print)
        sites, rounds = args.in_process
        found = in_process(days, sites, rounds, label=args.label)
        print(json.dumps(found))
        if args.json is not None:
            args.json.write_text(json.dumps(found, indent=1) + "\n")
        return
    out = run(
        args.sites, args.printers, backends=args.backends, front_ends=args.front_ends,
        sample_s=args.sample_s, concurrency_per_front_end=args.concurrency, cache=args.cache,
        profile=args.profile, out=args.json, per_turn=args.connection_per == "turn", label=args.label,
    )  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
