"""Async SQL storage chosen by URL: SQLite by default, PostgreSQL in production.

Each service owns its tables. On SQLite it gets its own file; on PostgreSQL its own
schema (``appeal_<service>``) through SQLAlchemy's schema translation, so the same
table classes serve every service without sharing rows.
"""

import asyncio
import fcntl
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from uuid import uuid4

import asyncpg
from sqlalchemy import Table, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from shared.sqlite import inline_connector

SQLITE_BUSY_SECONDS = 30
TURN_POLL_SECONDS = 0.01
_READING: ContextVar[bool] = ContextVar("appeal_db_reading", default=False)


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (server down or
    restarting, network gone, pool exhausted): nothing is wrong with the work itself,
    which must wait and be tried again, never be parked as a poison message."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE) or (isinstance(current, DBAPIError) and current.connection_invalidated):
            return True
        pending.extend(e for e in (current.__cause__, current.__context__, getattr(current, "orig", None))
                       if isinstance(e, BaseException))
    return False


_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                asyncpg.InterfaceError, PoolTimeout)


def async_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``, ``sqlite:///``) and pick the async driver."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    name = driver.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def service_url(base_url: str | None, data_dir: Path, service: str) -> str:
    """Where one service keeps its state, given the deployment's database URL."""
    if base_url is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(data_dir / f'{service}.db').resolve()}"
    url = make_url(async_url(base_url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        return url.set(database=str(path.with_name(f"{path.stem}-{service}{path.suffix or '.db'}"))).render_as_string(
            hide_password=False
        )
    return url.render_as_string(hide_password=False)


class Database:
    """One service's engine, its tables and a session factory. ``service`` names the
    migration history (``shared.schema``) that builds the tables; without one,
    ``create_tables`` creates them as they are defined."""

    def __init__(self, url: str, tables: Sequence[Table], *, schema: str | None = None,
                 service: str | None = None) -> None:
        self.url = url
        self.tables = list(tables)
        self.service = service
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.schema = None if self.is_sqlite else schema
        options = {"schema_translate_map": {None: self.schema}} if self.schema else {}
        if self.is_sqlite:
            # One connection, queued for in the event loop: SQLite has one writer anyway. Its
            # statements run in the loop too, without a thread each (``shared.sqlite``).
            path = make_url(url).database or ":memory:"
            engine_args = {"async_creator": inline_connector(path, SQLITE_BUSY_SECONDS),
                           "pool_size": 1, "max_overflow": 0, "pool_timeout": 120}
        else:
            engine_args = {"pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(url, execution_options=options, **engine_args)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_tables(self) -> None:
        """Wait for the server (it may still be starting), then bring the tables to what
        this code needs: a service's by running its migrations (``shared.schema.upgrade``),
        others by creating what is missing.

        Replicas starting together would race on ``CREATE SCHEMA``/``CREATE TABLE`` (even
        with IF NOT EXISTS, PostgreSQL's catalog rejects the second), so they take turns."""
        if self.service is not None:
            from shared.schema import upgrade  # imports this module

            await upgrade(self)
            return
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(30), wait=wait_exponential(max=2), retry=retry_if_exception_type(OSError),
            reraise=True,
        ):
            with attempt:
                async with self.engine.begin() as conn:
                    await self.hold_lock(conn, "create")
                    if self.schema:
                        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                    await conn.run_sync(SQLModel.metadata.create_all, tables=self.tables)

    async def hold_lock(self, connection: AsyncConnection | AsyncSession, name: str) -> None:
        """Wait for, then hold until the transaction ends, the lock ``name`` of this
        service: one holder across all its processes (a PostgreSQL advisory lock). SQLite
        needs none, having one writer."""
        if not self.is_sqlite:
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                                     {"name": f"{self.schema}:{name}"})

    async def hold_locks(self, connection: AsyncConnection | AsyncSession, names: Collection[str]) -> None:
        """``hold_lock`` for many names in one statement, taken in the order of the locks
        themselves, so that two holders of overlapping sets never wait on each other in a ring."""
        if self.is_sqlite or not names:
            return
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(h) FROM unnest(ARRAY("
                 "SELECT DISTINCT hashtext(k) FROM unnest(CAST(:names AS text[])) AS k ORDER BY 1)) AS h"),
            {"names": [f"{self.schema}:{name}" for name in names]})

    @asynccontextmanager
    async def turn(self, name: str) -> AsyncIterator[None]:
        """Hold the lock ``name`` of this SQLite database across its processes without a
        transaction: a lock file beside the database (none is needed in memory, where one
        process is all there is). The operating system lets go of it when a process dies,
        SIGKILL included."""
        assert self.is_sqlite, "on PostgreSQL, hold_lock inside a transaction"
        path = make_url(self.url).database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.{name}.lock", "a+b") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(TURN_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only. On SQLite its transaction does not take the write lock
        (every other one does, see ``_sqlite_pragmas``), so a long count never holds up the
        service's writers in other processes: in WAL mode readers and a writer go on together."""
        token = _READING.set(True)
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            _READING.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Take the write lock when a transaction begins, not when it first writes: a
    # read-then-write transaction can then never fail on a lock upgrade, it waits.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN" if _READING.get() else "BEGIN IMMEDIATE")


@asynccontextmanager
async def scratch_postgres(server_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database on the server, dropped afterwards even when the
    work in between fails: for benchmarks and tests that must not share state."""
    server = make_url(server_url).set(drivername="postgresql")
    name = f"{prefix}_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
