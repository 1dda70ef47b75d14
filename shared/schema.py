"""Each service's schema, versioned: an Alembic history of the service's own tables and
of the outbox, processed-event and failed-attempt tables every service database holds.

A service's history lives beside its tables, in ``services/<service>/migrations/``;
one environment (``shared/migrations/env.py``) runs them all. The version table
(``alembic_version``) is the service's own: in its SQLite file, or in its PostgreSQL
schema ``appeal_<service>``. Revisions are numbered ``0001``, ``0002``, … per service.

- ``upgrade`` brings a database to the newest revision, one process at a time. A
  database made before there were migrations (tables, no version table) is recognised
  by its tables and columns, stamped with the revision it matches, then upgraded.
- ``check`` is what a service does as it starts: unless its database is at the newest
  revision, it refuses, saying to run `appeal db upgrade`.
- ``differences`` compares the tables the code defines with the database's, as
  autogenerate does: empty when every model change has its migration.
"""

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from shared.db import Database

ENVIRONMENT = Path(__file__).with_name("migrations")
SERVICES = Path(__file__).resolve().parent.parent / "services"
VERSION_TABLE = "alembic_version"

Shape = dict[str, frozenset[str]]
"""A database's tables and, for each, its column names."""


class SchemaError(RuntimeError):
    """A database this code cannot work with as it is; the message says what to do."""


@dataclass(frozen=True)
class Upgrade:
    service: str
    before: str | None
    """The revision the database was at; None when it was empty."""
    after: str
    adopted: bool = False
    """Made before there were migrations: recognised as ``before`` and stamped with it."""

    @property
    def changed(self) -> bool:
        return self.adopted or self.before != self.after

    def __str__(self) -> str:
        start = "empty" if self.before is None else self.before
        if self.adopted:
            start = f"made before migrations, recognised as {self.before}"
        if self.before == self.after:
            return f"{self.service}: {start}, nothing {'more ' if self.adopted else ''}to do"
        return f"{self.service}: {start} → {self.after}"


def history(service: str) -> Config:
    """The Alembic configuration of one service's history."""
    config = Config()
    config.set_main_option("script_location", _escaped(ENVIRONMENT))
    config.set_main_option("version_locations", _escaped(SERVICES / service / "migrations"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def head(service: str) -> str:
    """The revision this code needs."""
    found = ScriptDirectory.from_config(history(service)).get_current_head()
    if found is None:
        raise SchemaError(f"the {service} service has no migrations in {SERVICES / service / 'migrations'}")
    return found


@dataclass(frozen=True)
class State:
    """Where a service's database stands against the revision this code needs."""

    service: str
    revision: str | None
    has_tables: bool
    needed: str
    known: bool
    """``revision`` is in this code's history (a newer version may have gone further)."""

    @property
    def current(self) -> bool:
        return self.revision == self.needed

    @property
    def problem(self) -> str | None:
        """Why a service cannot start on the database, and what to do; None when it can."""
        if self.current:
            return None
        if not self.known:
            return (f"the {self.service} database is at revision {self.revision}, which this code does not know: "
                    "a newer version of appeal loop upgraded it; run that version")
        return f"the {self.service} database {self._where()} but this code needs revision {self.needed}: " \
               "run `appeal db upgrade`"

    def __str__(self) -> str:
        if self.current:
            return f"{self.service}: {self.revision}, current"
        if not self.known:
            return f"{self.service}: {self.revision}, unknown to this version (which needs {self.needed})"
        start = self.revision or ("made before migrations" if self.has_tables else "empty")
        return f"{self.service}: {start}, needs {self.needed}"

    def _where(self) -> str:
        if self.revision is not None:
            return f"is at revision {self.revision}"
        return "was made before migrations" if self.has_tables else "is empty"


async def state(db: Database) -> State:
    service = _service(db)
    async for attempt in _patiently():
        with attempt:
            async with db.engine.connect() as connection:
                revision, has_tables = await connection.run_sync(_current, db.schema)
            break
    known = revision is None or _known(service, revision)
    return State(service, revision, has_tables, head(service), known)


async def check(db: Database) -> None:
    """Refuse, in one sentence that says what to do, a database not at the revision this code needs."""
    problem = (await state(db)).problem
    if problem is not None:
        raise SchemaError(problem)


async def upgrade(db: Database, to: str = "head") -> Upgrade:
    """Bring the database to revision ``to``, in one transaction (PostgreSQL and SQLite
    both undo half-done DDL). Processes upgrading together take turns: the second finds
    the work done."""
    service = _service(db)
    async for attempt in _patiently():
        with attempt:
            async with _migrating(db) as connection:
                return await connection.run_sync(_upgrade, service, to, _fresh_start(db))
    raise AssertionError("unreachable: the last attempt's error is raised")


async def differences(db: Database) -> list[Any]:
    """What autogenerate would write into a new migration: how the database's tables
    differ from the tables the code defines (``db.tables``)."""
    metadata = _metadata(db)
    async with _migrating(db) as connection:
        return await connection.run_sync(lambda sync: compare_metadata(_context(sync), metadata))


async def write_revision(db: Database, message: str) -> Path:
    """Write the next migration of the service's history: the difference between the
    code's tables and ``db`` (a scratch database) brought to the newest revision."""
    service = _service(db)
    await upgrade(db)
    metadata = _metadata(db)
    async with _migrating(db) as connection:
        return await connection.run_sync(_write_revision, service, metadata, message)


def render_type(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes a TypeDecorator (SQLModel's AutoString, a UTC datetime) as the
    plain column type it stores, so that no migration imports application code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _upgrade(connection: Connection, service: str, to: str, fresh_start: str) -> Upgrade:
    config = _config(service, connection)
    before = MigrationContext.configure(connection).get_current_revision()
    adopted = before is None and bool(_shape(connection))
    if adopted:
        before = _made_before_migrations(connection, service, fresh_start)
        command.stamp(config, before)
    elif before is not None and not _known(service, before):
        raise SchemaError(State(service, before, True, head(service), known=False).problem)
    command.upgrade(config, to)
    after = MigrationContext.configure(connection).get_current_revision()
    assert after is not None
    return Upgrade(service, before, after, adopted)


def _made_before_migrations(connection: Connection, service: str, fresh_start: str) -> str:
    """The first revision whose tables and columns the database has exactly: the
    create-what-is-missing code before migrations made those of ``0001`` and ``0002``
    (a later revision that changed only indexes has the same shape)."""
    found = _shape(connection)
    shapes = _revision_shapes(service)
    for revision, shape in shapes:
        if shape == found:
            return revision
    revision, nearest = min(shapes, key=lambda item: len(_compare(found, item[1])))
    raise SchemaError(
        f"the {service} database was made by a version of appeal loop from before migrations and matches none "
        f"of its revisions (nearest, {revision}: {'; '.join(_compare(found, nearest))}): it cannot be upgraded; "
        f"{fresh_start} and start empty")


@functools.cache
def _revision_shapes(service: str) -> tuple[tuple[str, Shape], ...]:
    """Every revision's tables, oldest first, read from an in-memory SQLite database
    migrated one revision at a time."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            config = _config(service, connection)
            shapes = []
            for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions())):
                command.upgrade(config, script.revision)
                shapes.append((script.revision, _shape(connection)))
            return tuple(shapes)
    finally:
        engine.dispose()


def _compare(found: Shape, expected: Shape) -> list[str]:
    problems = [f"no table {name}" for name in sorted(expected.keys() - found.keys())]
    problems += [f"a table {name} it should not have" for name in sorted(found.keys() - expected.keys())]
    for name in sorted(expected.keys() & found.keys()):
        problems += [f"no column {name}.{column}" for column in sorted(expected[name] - found[name])]
        problems += [f"a column {name}.{column} it should not have" for column in sorted(found[name] - expected[name])]
    return problems


def _shape(connection: Connection) -> Shape:
    inspector = inspect(connection)
    return {name: frozenset(column["name"] for column in inspector.get_columns(name))
            for name in inspector.get_table_names() if name != VERSION_TABLE}


def _current(connection: Connection, schema: str | None) -> tuple[str | None, bool]:
    revision = MigrationContext.configure(connection, opts={"version_table_schema": schema}).get_current_revision()
    tables = set(inspect(connection).get_table_names(schema=schema)) - {VERSION_TABLE}
    return revision, bool(tables)


def _known(service: str, revision: str) -> bool:
    return revision in {script.revision for script in ScriptDirectory.from_config(history(service)).walk_revisions()}


def _write_revision(connection: Connection, service: str, metadata: MetaData, message: str) -> Path:
    if not compare_metadata(_context(connection), metadata):
        raise SchemaError(f"the {service} tables are as its migrations leave them: there is nothing to write")
    config = _config(service, connection)
    config.attributes["metadata"] = metadata
    written = command.revision(config, message, autogenerate=True, rev_id=f"{int(head(service)) + 1:04d}")
    assert written is not None and not isinstance(written, list)
    return Path(written.path)


@asynccontextmanager
async def _migrating(db: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction on the service's database that holds its migration lock, and in
    which the service's tables are named without a schema, as its migrations name them."""
    if db.is_sqlite:
        # The engine begins with BEGIN IMMEDIATE (shared.db): another process upgrading
        # the same file waits here until this one has committed.
        async with db.engine.begin() as connection:
            yield connection
        return
    # An engine of its own: the service's engine translates schemas, which Alembic's
    # ALTERs would not honour, and the default schema below must not outlive the upgrade.
    engine = create_async_engine(db.url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await db.hold_lock(connection, "migrate")
            await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            await connection.execute(text(f'SET LOCAL search_path TO "{db.schema}"'))
            # Alembic and the inspector look for unqualified tables in the default schema.
            connection.dialect.default_schema_name = db.schema
            yield connection
    finally:
        await engine.dispose()


def _patiently() -> AsyncRetrying:
    """The database server may still be starting: services and server come up together."""
    return AsyncRetrying(stop=stop_after_delay(30), wait=wait_exponential(max=2),
                         retry=retry_if_exception_type(OSError), reraise=True)


def _config(service: str, connection: Connection) -> Config:
    config = history(service)
    config.attributes["connection"] = connection
    return config


def _context(connection: Connection) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"compare_type": True, "render_item": render_type})


def _metadata(db: Database) -> MetaData:
    metadata = MetaData()
    for table in db.tables:
        table.to_metadata(metadata)
    return metadata


def _fresh_start(db: Database) -> str:
    if db.is_sqlite:
        return f"move {make_url(db.url).database} aside"
    return f"drop the schema {db.schema} (after a backup)"


def _service(db: Database) -> str:
    if db.service is None:
        raise ValueError("this database belongs to no service, so it has no migrations")
    return db.service


def _escaped(path: Path) -> str:
    return str(path).replace("%", "%%")
