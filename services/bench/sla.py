"""`appeal bench sla`: how fast and how on time the firing loop fires, with a big backlog.

Always on a database of its own: a fresh ``appeal_bench_<random>`` database on the named
PostgreSQL server (dropped afterwards) or a SQLite file in a temporary directory. The
firing loop first runs alone in a child process (``services.bench.sla_worker``), with no
broker: the outbox rows it writes stay in the table, which is also how a timer fired
twice would show. Then the whole sla service (``appeal run sla`` on an embedded broker)
fires another window of timers, and its peak is ``rss_mb``.

``fired_per_s`` is the sustained on-time rate: the window's timers that fired within the lag
target of their due time, divided by the window. It equals the offered rate (``--due`` /
``--window``) only if every timer fired on time and drops as soon as the loop falls behind,
so offering more than the target (``--due 40000``) shows the headroom; ``burst_drain_per_s``
is how fast a backlog goes, the loop's capacity.
"""

import asyncio
import json
import math
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import aiosqlite
import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from services.bench.sla_worker import peak_rss_mb
from services.sla.store import TABLES
from shared.db import Database, scratch_postgres
from shared.embedded import EmbeddedBroker, free_port
from shared.outbox import OutboxMessage
from shared.runtime import service_database
from shared.settings import Settings

COLUMNS = ("case_id", "correlation_id", "kind", "stage", "generation", "branch_code", "due_at", "deadline", "state")
FILL_CHUNK = 100_000
LEAD_SECONDS = 2.0
BURST_LEAD_SECONDS = 3.0
CHILD_START_SECONDS = 60.0
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class Targets:
    lag_p99_s: float = 1.0
    fired_per_s: float = 2000.0
    rss_mb: float = 150.0


@dataclass(frozen=True)
class Firing:
    """The timers of one phase as the database has them after the loop ran."""

    due: int
    fired: int
    lags: list[float]
    first_due: datetime


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def is_postgres(url: str) -> bool:
    if url == "sqlite":
        return False
    try:
        return make_url(url).get_backend_name() in ("postgresql", "postgres")
    except ArgumentError:
        raise ValueError(f"not a database URL: {url!r}") from None


@asynccontextmanager
async def bench_database(url: str) -> AsyncIterator[str]:
    """A database nobody else uses, gone afterwards. Any SQLite URL means a temporary file:
    the bench never writes into a file someone named."""
    if not is_postgres(url):
        with tempfile.TemporaryDirectory(prefix="appeal-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    async with scratch_postgres(url, "appeal_bench") as scratch:
        yield scratch


def timer_rows(count: int, branch: str, due_at: Callable[[int], datetime]) -> Iterable[tuple]:
    base = uuid.uuid4().int & ~((1 << 64) - 1)
    correlation = str(uuid.uuid4())
    for i in range(count):
        due = due_at(i)
        yield (str(uuid.UUID(int=base | i)), correlation, "accept", "accept", 1, branch, due,
               due + timedelta(minutes=10), "pending")


class TimerTable(Protocol):
    """The sla service's tables, reached directly for filling and checking."""

    async def insert(self, rows: Iterable[tuple]) -> None: ...
    async def now(self) -> datetime: ...
    async def firing(self, branch: str) -> Firing: ...
    async def fired_count(self, branch: str) -> int: ...
    async def outbox(self) -> tuple[int, int]:
        """(rows, event ids that occur more than once)"""
        ...
    async def close(self) -> None: ...


class PostgresTimers:
    def __init__(self, connection: asyncpg.Connection, schema: str) -> None:
        self.connection = connection
        self.schema = schema

    @classmethod
    async def open(cls, db: Database) -> "PostgresTimers":
        url = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(await asyncpg.connect(url), db.schema or "public")

    async def insert(self, rows: Iterable[tuple]) -> None:
        await self.connection.copy_records_to_table("sla_timer", records=rows, columns=COLUMNS,
                                                    schema_name=self.schema)

    async def now(self) -> datetime:
        return await self.connection.fetchval("SELECT clock_timestamp()")

    async def firing(self, branch: str) -> Firing:
        rows = await self.connection.fetch(
            f'SELECT due_at, fired_at FROM "{self.schema}".sla_timer WHERE branch_code = $1', branch)
        return _firing([(r["due_at"], r["fired_at"]) for r in rows])

    async def fired_count(self, branch: str) -> int:
        return await self.connection.fetchval(
            f'SELECT count(*) FROM "{self.schema}".sla_timer WHERE branch_code = $1 AND fired_at IS NOT NULL', branch)

    async def outbox(self) -> tuple[int, int]:
        total = await self.connection.fetchval(f'SELECT count(*) FROM "{self.schema}".outbox')
        repeated = await self.connection.fetchval(
            f'SELECT count(*) FROM (SELECT event_id FROM "{self.schema}".outbox GROUP BY event_id '
            "HAVING count(*) > 1) AS repeats")
        return total, repeated

    async def close(self) -> None:
        await self.connection.close()


class SqliteTimers:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, db: Database) -> "SqliteTimers":
        path = make_url(db.url).database
        assert path, "the bench runs SQLite on a file"
        connection = await aiosqlite.connect(path, timeout=30)
        await connection.execute("PRAGMA busy_timeout=30000")
        return cls(connection)

    async def insert(self, rows: Iterable[tuple]) -> None:
        stored = [(*row[:6], row[6].strftime(SQLITE_TIME), row[7].strftime(SQLITE_TIME), row[8]) for row in rows]
        await self.connection.executemany(
            f"INSERT INTO sla_timer ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", stored)
        await self.connection.commit()

    async def now(self) -> datetime:
        return datetime.now(UTC)

    async def firing(self, branch: str) -> Firing:
        async with self.connection.execute(
                "SELECT due_at, fired_at FROM sla_timer WHERE branch_code = ?", (branch,)) as cursor:
            rows = await cursor.fetchall()
        return _firing([(_sqlite_time(due), _sqlite_time(fired) if fired else None) for due, fired in rows])

    async def fired_count(self, branch: str) -> int:
        return await self._count("SELECT count(*) FROM sla_timer WHERE branch_code = ? AND fired_at IS NOT NULL",
                                 branch)

    async def outbox(self) -> tuple[int, int]:
        total = await self._count("SELECT count(*) FROM outbox")
        repeated = await self._count(
            "SELECT count(*) FROM (SELECT event_id FROM outbox GROUP BY event_id HAVING count(*) > 1)")
        return total, repeated

    async def _count(self, query: str, *parameters: str) -> int:
        async with self.connection.execute(query, parameters) as cursor:
            row = await cursor.fetchone()
        assert row is not None, "count(*) returns one row"
        return row[0]

    async def close(self) -> None:
        await self.connection.close()


async def write_outbox(url: str, path: Path) -> None:
    """The sla outbox's rows as JSON lines: topic, key, event type and id, and the payload."""
    db = service_database(Settings(database_url=url), "sla", TABLES, url)
    try:
        async with db.reading() as session:
            rows = (await session.execute(select(OutboxMessage.__table__).order_by(OutboxMessage.__table__.c.id))).all()  # type: ignore[attr-defined]  # SQLModel declares no __table__
    finally:
        await db.dispose()
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({"topic": row.topic, "key": row.key, "event_type": row.event_type,
                                  "event_id": row.event_id, "payload": json.loads(row.payload)},
                                 ensure_ascii=False) + "\n")


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _firing(rows: Sequence[tuple[datetime, datetime | None]]) -> Firing:
    fired = [(due, at) for due, at in rows if at is not None]
    return Firing(due=len(rows), fired=len(fired), lags=sorted((at - due).total_seconds() for due, at in fired),
                  first_due=min(due for due, _ in rows))


def on_time_rate(lags: Iterable[float], window: float, limit: float) -> float:
    """Not fired / (last fired - first due): that stays below the offered rate even when
    every timer is on time, and says nothing about lateness."""
    return round(sum(1 for lag in lags if lag <= limit) / window, 1)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest rank."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


async def fill(table: TimerTable, count: int, branch: str, due_at: Callable[[int], datetime]) -> None:
    done = 0
    started = time.monotonic()
    rows = iter(timer_rows(count, branch, due_at))
    while done < count:
        chunk = [row for _, row in zip(range(FILL_CHUNK), rows, strict=False)]
        await table.insert(chunk)
        done += len(chunk)
        progress(f"filled {done:,}/{count:,} {branch} timers ({done / (time.monotonic() - started):,.0f} rows/s)")


async def run_loop(database_url: str, expect: int, timeout: float, while_running: Callable) -> dict:
    """Start the firing loop in its own process, do ``while_running`` once it is up, and
    return what it reports when ``expect`` timers have fired."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.bench.sla_worker", "--database-url", database_url,
        "--expect", str(expect), "--timeout", str(timeout), stdout=asyncio.subprocess.PIPE)
    try:
        assert child.stdout is not None, "stdout=PIPE"
        ready = await asyncio.wait_for(child.stdout.readline(), CHILD_START_SECONDS)
        if not ready:
            raise RuntimeError("the firing loop process exited before it was ready")
        await while_running()
        report = await asyncio.wait_for(child.stdout.readline(), timeout + 30)
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if not report:
        raise RuntimeError(f"the firing loop process exited with {child.returncode} and no report")
    return json.loads(report)


async def run_service(database_url: str, expect: int, timeout: float, while_running: Callable) -> dict:
    """The whole sla service as `appeal run sla` runs it (consumers, outbox relay, HTTP)
    on an embedded broker: do ``while_running`` once it is ready, wait until its metrics
    say ``expect`` deadlines fired, and return its peak RSS. Watched the way Prometheus
    would, so the bench puts no load on the database the service is using."""
    broker = EmbeddedBroker()
    await broker.start()
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")},
           "APPEAL_KAFKA_BOOTSTRAP": broker.bootstrap, "APPEAL_DATABASE_URL": database_url,
           "APPEAL_HTTP_PORT": str(port), "APPEAL_LOG_LEVEL": "WARNING", "APPEAL_KAFKA_SESSION_TIMEOUT_MS": "3000",
           "APPEAL_SECRET_KEY": secrets.token_urlsafe(48)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from services.cli import main; main()", "run", "sla", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient() as http:
            await wait_until(lambda: answers_ready(http, port), CHILD_START_SECONDS, child,
                             "the sla service to be ready")
            await while_running()
            await wait_until(lambda: _fired(http, port, expect), timeout, child, f"{expect:,} timers to fire")
        return {"rss_mb": round(peak_rss_mb(child.pid), 1)}
    finally:
        if child.returncode is None:
            child.terminate()
            await child.wait()
        await broker.stop()


async def answers_ready(http: httpx.AsyncClient, port: int) -> bool:
    try:
        return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def metric_total(http: httpx.AsyncClient, port: int, name: str) -> float:
    """A sample of the service's /metrics, summed over its labels."""
    exposition = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(sample.value for family in text_string_to_metric_families(exposition) for sample in family.samples
               if sample.name == name)


async def _fired(http: httpx.AsyncClient, port: int, expect: int) -> bool:
    return await metric_total(http, port, "appeal_sla_deadlines_reached_total") >= expect


async def wait_until(probe: Callable, timeout: float, child: asyncio.subprocess.Process, what: str, *,
                     child_name: str = "the sla service", every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if child.returncode is not None:
            raise RuntimeError(f"{child_name} exited with {child.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def bench_sla(database_url: str, *, pending: int, due: int, window: float, burst: int,
                    targets: Targets = Targets(), keep_outbox: Path | None = None) -> dict:
    if not 0 < due <= pending:
        raise ValueError("--due must be between 1 and --pending")
    if window <= 0 or burst < 1:
        raise ValueError("--window must be positive and --burst at least 1")
    async with bench_database(database_url) as url:
        backend = "postgresql" if is_postgres(url) else "sqlite"
        progress(f"bench database: {backend} ({make_url(url).render_as_string(hide_password=True)})")
        db = service_database(Settings(database_url=url), "sla", TABLES, url)
        await db.create_tables()
        await db.dispose()
        table = await (PostgresTimers.open(db) if backend == "postgresql" else SqliteTimers.open(db))
        try:
            result = await _measure(table, url, backend, pending=pending, due=due, window=window, burst=burst,
                                    on_time_s=targets.lag_p99_s, keep_outbox=keep_outbox)
        finally:
            await table.close()
    print(summary(result, targets, window=window))
    return result


async def _measure(table: TimerTable, url: str, backend: str, *, pending: int, due: int, window: float,
                   burst: int, on_time_s: float, keep_outbox: Path | None) -> dict:
    later = await table.now() + timedelta(hours=2)
    far = pending - due
    await fill(table, far, "bench-later", lambda i: later + timedelta(seconds=86_400 * i / max(far, 1)))

    async def set_window_timers() -> None:
        start = await table.now() + timedelta(seconds=LEAD_SECONDS)
        await fill(table, due, "bench-window", lambda i: start + timedelta(seconds=window * i / due))

    progress(f"firing {due:,} timers due over {window:g} s with {far:,} more pending")
    steady = await run_loop(url, due, LEAD_SECONDS + window + 120, set_window_timers)
    fired = await table.firing("bench-window")

    async def set_burst_timers() -> None:
        instant = await table.now() + timedelta(seconds=BURST_LEAD_SECONDS)
        await fill(table, burst, "bench-burst", lambda _: instant)

    progress(f"firing a burst of {burst:,} timers due at one instant")
    drained = await run_loop(url, burst, BURST_LEAD_SECONDS + 120, set_burst_timers)
    burst_firing = await table.firing("bench-burst")
    outbox_rows, repeated = await table.outbox()
    if keep_outbox is not None:
        # Before the whole service runs: its relay publishes these rows and deletes them.
        await write_outbox(url, keep_outbox)

    async def set_service_timers() -> None:
        start = await table.now() + timedelta(seconds=LEAD_SECONDS)
        await fill(table, due, "bench-service", lambda i: start + timedelta(seconds=window * i / due))

    progress(f"the whole sla service (broker, consumers, outbox relay, HTTP) firing {due:,} more over {window:g} s")
    service = await run_service(url, due, LEAD_SECONDS + window + 120, set_service_timers)
    served = await table.firing("bench-service")
    stray = await table.fired_count("bench-later")

    def rate(count: int, since: datetime, last: datetime | None) -> float | None:
        if last is None or last <= since:
            return None
        return round(count / (last - since).total_seconds(), 1)

    return {
        "backend": backend, "pending": pending, "due": due, "window_s": window, "fired": fired.fired,
        "fired_once": (fired.fired == due and burst_firing.fired == burst and served.fired == due and stray == 0
                       and repeated == 0 and outbox_rows == due + burst),
        "offered_per_s": round(due / window, 1), "on_time_s": on_time_s,
        "fired_per_s": on_time_rate(fired.lags, window, on_time_s),
        "lag_p50_s": round(percentile(fired.lags, 0.50), 3),
        "lag_p99_s": round(percentile(fired.lags, 0.99), 3),
        "lag_max_s": round(percentile(fired.lags, 1.0), 3),
        "rss_mb": service["rss_mb"], "loop_rss_mb": max(steady["rss_mb"], drained["rss_mb"]),
        "service_lag_p99_s": round(percentile(served.lags, 0.99), 3),
        "burst": burst, "burst_fired": burst_firing.fired,
        # Every timer of a batch is stamped with the batch's claim time, so the drain is
        # timed to when the worker saw the last commit instead.
        "burst_drain_per_s": rate(burst_firing.fired, burst_firing.first_due,
                                  datetime.fromtimestamp(drained["done_at"], UTC)),
        "burst_lag_max_s": round(percentile(burst_firing.lags, 1.0), 3),
        "outbox_rows": outbox_rows, "outbox_repeated_event_ids": repeated, "stray_fired": stray,
        "outbox": "kept by the loop alone (no broker; rows accumulate and are counted)",
    }


def summary(result: dict, targets: Targets, *, window: float) -> str:
    def mark(met: bool) -> str:
        return "met" if met else "MISSED"

    def met_at_most(value: float | None, limit: float) -> bool:
        return value is not None and not math.isnan(value) and value <= limit

    offered = result["due"] / window
    lines = [
        (f"SLA firing loop on {result['backend']}: {result['pending']:,} pending, "
         f"{result['due']:,} due over {window:g} s (offered {offered:,.0f}/s), burst of {result['burst']:,}"),
        (f"  fired {result['fired']:,}/{result['due']:,}, burst {result['burst_fired']:,}/{result['burst']:,}; "
         f"outbox rows {result['outbox_rows']:,}, repeated event ids {result['outbox_repeated_event_ids']}, "
         f"far-future timers fired {result['stray_fired']}"),
        f"  all fired exactly once                      {mark(result['fired_once'])}",
        (f"  lag p99 {result['lag_p99_s']} s <= {targets.lag_p99_s:g} s"
         f"  (p50 {result['lag_p50_s']} s, max {result['lag_max_s']} s)"
         f"   {mark(met_at_most(result['lag_p99_s'], targets.lag_p99_s))}"),
        (f"  fired on time {result['fired_per_s']:,}/s >= {targets.fired_per_s:,.0f}/s"
         f"   {mark(result['fired_per_s'] >= targets.fired_per_s)}"
         f"   (within {result['on_time_s']:g} s of due; at most the offered {offered:,.0f}/s)"),
        (f"  peak RSS of the sla service {result['rss_mb']} MB <= {targets.rss_mb:g} MB"
         f"   {mark(met_at_most(result['rss_mb'], targets.rss_mb))}"
         f"   (the loop alone {result['loop_rss_mb']} MB; the service's lag p99 {result['service_lag_p99_s']} s)"),
        (f"  burst drained at {result['burst_drain_per_s']}/s, the loop's capacity"
         f" (last one claimed {result['burst_lag_max_s']} s after due)"),
    ]
    return "\n".join(lines)
