"""Every service's migrations, on SQLite and (with APPEAL_TEST_POSTGRES_URL) PostgreSQL:
from empty, from the first revision with data in it, from a database made before there
were migrations; the models and the migrations agreeing; services refusing a database
that is behind."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, insert, select
from sqlalchemy.types import TypeDecorator

from services.databases import SERVICE_TABLES
from services.intake.store import find_case
from services.sla.store import pending_count
from services.system import BUILDERS, build_context
from shared.db import Database
from shared.outbox import OutboxRelay
from shared.runtime import service_database
from shared.schema import SchemaError, check, differences, head, state, upgrade
from shared.settings import Settings
from shared.throttle import Scope
from shared.throttle_store import AttemptStore

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
FIRST, SECOND = "0001", "0002"
ADDED_SINCE_FIRST = "failed_attempt"
ADDED_COLUMNS = {"dispatch_assignment": {"standing": "{}"},
                 "claim_task": {"urge_count": 0, "urged_at": None, "urge_note": None}}
"""Columns added since the second revision, and what a row kept from before holds in each."""
ADDED_TABLES = {"claim_project", "claim_project_slot", "claim_project_day", "feedback_project",
                "feedback_project_completion", "feedback_project_evaluation", "feedback_points_entry"}
"""Tables added since the second revision: empty after an upgrade from before them."""
MEANINGFUL = {
    "intake_case": {"case_id": "00000000-0000-4000-8000-000000012345", "case_no": "350102-20261121-000001",
                    "description": "南后街12号楼下工地夜间施工，噪音很大", "citizen_name": "王女士",
                    "address": "南后街12号", "status": "dispatched"},
    "sla_timer": {"state": "pending", "kind": "accept", "stage": "accept"},
}
"""Columns the checks below read through the services' own queries; the rest is filler."""


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@asynccontextmanager
async def opened(settings: Settings, name: str) -> AsyncIterator[Database]:
    db = service_database(settings, name, SERVICE_TABLES[name])
    try:
        yield db
    finally:
        await db.dispose()


def sample_row(table: Table) -> dict[str, Any]:
    """One row with every column filled, the way the code's own types store it."""
    row: dict[str, Any] = {}
    for number, column in enumerate(table.columns, start=1):
        kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        if isinstance(kind, Boolean):
            row[column.name] = True
        elif isinstance(kind, Integer):
            row[column.name] = number
        elif isinstance(kind, Float):
            row[column.name] = number + 0.5
        elif isinstance(kind, DateTime):
            row[column.name] = T0 + timedelta(minutes=number)
        else:
            assert isinstance(kind, String), f"no sample for {table.name}.{column.name} ({kind!r})"
            row[column.name] = f"{column.name}-{number}"[: kind.length or 100]
    return row | MEANINGFUL.get(table.name, {})


def as_before_migrations(tables: list[Table], *, with_failed_attempt: bool = False) -> list[Table]:
    """The tables as the code from before migrations made them: those of the first
    revision, or with ``failed_attempt`` those of the second."""
    metadata = MetaData()
    old = []
    for table in tables:
        if table.name == ADDED_SINCE_FIRST and not with_failed_attempt or table.name in ADDED_TABLES:
            continue
        added = ADDED_COLUMNS.get(table.name)
        if added is None:
            old.append(table.to_metadata(metadata))
        else:
            old.append(Table(table.name, metadata, *[c._copy() for c in table.columns if c.name not in added]))
    return old


def kept(rows: dict[str, dict[str, Any]], table: Table) -> list[dict[str, Any]]:
    """A row filled before an upgrade, as it reads after it."""
    return [rows[table.name] | ADDED_COLUMNS.get(table.name, {})]


async def fill(db: Database, tables: list[Table]) -> dict[str, dict[str, Any]]:
    rows = {table.name: sample_row(table) for table in tables}
    async with db.engine.begin() as connection:
        for table in tables:
            await connection.execute(insert(table).values(rows[table.name]))
    return rows


async def read_back(db: Database, table: Table) -> list[dict[str, Any]]:
    async with db.engine.connect() as connection:
        return [dict(row._mapping) for row in await connection.execute(select(table))]


async def test_upgrade_from_empty_builds_what_the_models_define(settings):
    for name in SERVICE_TABLES:
        async with opened(settings, name) as db:
            done = await upgrade(db)
            assert (done.before, done.after, done.adopted) == (None, head(name), False)
            assert await differences(db) == [], f"{name}: the models and the migrations disagree"
            again = await upgrade(db)
            assert (again.before, again.after) == (head(name), head(name)), "a second upgrade changes nothing"
            await check(db)


async def test_a_model_change_without_its_migration_is_found(settings):
    async with opened(settings, "sla") as db:
        await upgrade(db)
        metadata = MetaData()
        tables = [table.to_metadata(metadata) for table in db.tables]
        timer = next(table for table in tables if table.name == "sla_timer")
        timer.append_column(Column("snoozed_until", DateTime(timezone=True)))
        changed = Database(db.url, tables, schema=db.schema, service="sla")
        try:
            found = await differences(changed)
        finally:
            await changed.dispose()
    assert [(diff[0], diff[2], diff[3].name) for diff in found] == [("add_column", "sla_timer", "snoozed_until")]


async def test_upgrade_from_the_first_revision_keeps_every_row(settings):
    for name in SERVICE_TABLES:
        async with opened(settings, name) as db:
            assert (await upgrade(db, FIRST)).after == FIRST
            rows = await fill(db, as_before_migrations(db.tables))
            with pytest.raises(SchemaError, match=f"at revision {FIRST} but this code needs revision {head(name)}"):
                await check(db)

            done = await upgrade(db)

            assert (done.before, done.after, done.adopted) == (FIRST, head(name), False)
            for table in db.tables:
                if table.name in rows:
                    assert await read_back(db, table) == kept(rows, table), f"{name}: {table.name} changed"
                elif table.name in ADDED_TABLES:
                    assert await read_back(db, table) == [], f"{name}: {table.name} is new and empty"
            assert await differences(db) == []
            attempts = AttemptStore(db)
            [(_, before, after)] = await attempts.count_failure([(Scope.LOGIN_USER, "hashed-u100")], T0)
            assert (before.failures, after.failures) == (0, 1), "the table the upgrade added works"
            await check(db)


async def test_the_services_read_what_the_first_revision_held(settings):
    for name in ("intake", "sla"):
        async with opened(settings, name) as db:
            await upgrade(db, FIRST)
            await fill(db, as_before_migrations(db.tables))
            await upgrade(db)
            async with db.session() as session:
                if name == "intake":
                    case = await find_case(session, MEANINGFUL["intake_case"]["case_id"])
                    assert case is not None and case.description == MEANINGFUL["intake_case"]["description"]
                    assert case.created_at.tzinfo is not None
                else:
                    assert await pending_count(session) == 1
            assert await OutboxRelay(db, publish=_nowhere, poll_seconds=60).pending() == 1


async def _nowhere(rows) -> None:
    raise AssertionError("nothing is published here")


@pytest.mark.parametrize(("made_with", "recognised_as"), [("without failed_attempt", FIRST), ("every table", SECOND)])
async def test_a_database_made_before_migrations_is_recognised_and_upgraded(settings, made_with, recognised_as):
    for name in SERVICE_TABLES:
        async with opened(settings, name) as db:
            old_tables = as_before_migrations(db.tables, with_failed_attempt=made_with == "every table")
            legacy = Database(db.url, old_tables, schema=db.schema)
            try:
                await legacy.create_tables()  # what every start did before there were migrations
                rows = await fill(legacy, old_tables)
            finally:
                await legacy.dispose()
            assert str(await state(db)).endswith(f"made before migrations, needs {head(name)}")
            with pytest.raises(SchemaError, match="was made before migrations but this code needs revision"):
                await check(db)

            done = await upgrade(db)

            assert (done.before, done.after, done.adopted) == (recognised_as, head(name), True)
            assert str(done) == (f"{name}: made before migrations, recognised as {recognised_as} → {head(name)}"
                                 if recognised_as != head(name) else
                                 f"{name}: made before migrations, recognised as {head(name)}, nothing more to do")
            for table in db.tables:
                if table.name in rows:
                    assert await read_back(db, table) == kept(rows, table)
            assert await differences(db) == []
            await check(db)


async def test_a_database_older_than_the_first_revision_is_refused_untouched(settings):
    async with opened(settings, "dispatch") as db:
        metadata = MetaData()
        tables = []
        for table in as_before_migrations(db.tables):
            columns = [column._copy() for column in table.columns if column.name != "escalation"]
            tables.append(Table(table.name, metadata, *columns))
        older = Database(db.url, tables, schema=db.schema)
        try:
            await older.create_tables()
        finally:
            await older.dispose()

        with pytest.raises(SchemaError, match=r"matches none of its revisions \(nearest, 0001: no column "
                                              r"dispatch_assignment\.escalation\).*start empty"):
            await upgrade(db)

        assert (await state(db)).revision is None, "a refused upgrade leaves no trace"
        assert not (await state(db)).current


async def test_services_refuse_to_start_on_a_database_that_is_behind(settings):
    context = build_context(settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"}))
    service = BUILDERS["claim"](context)
    try:
        with pytest.raises(SchemaError) as empty:
            await service.start(context.settings)
        assert str(empty.value) == ("the claim database is empty but this code needs revision "
                                    f"{head('claim')}: run `appeal db upgrade`")
        await upgrade(service.db, FIRST)
        with pytest.raises(SchemaError) as behind:
            await service.start(context.settings)
        assert str(behind.value) == (f"the claim database is at revision {FIRST} but this code needs revision "
                                     f"{head('claim')}: run `appeal db upgrade`")
    finally:
        await service.db.dispose()


async def test_a_revision_this_code_does_not_know_is_refused(settings):
    async with opened(settings, "feedback") as db:
        await upgrade(db)
        async with db.engine.begin() as connection:
            version = Table("alembic_version", MetaData(), Column("version_num", String(32)))
            await connection.execute(version.update().values(version_num="0099"))
        for attempt in (check(db), upgrade(db)):
            with pytest.raises(SchemaError, match="at revision 0099, which this code does not know"):
                await attempt


async def test_replicas_upgrading_together_take_turns(settings):
    replicas = [service_database(settings, "sla", SERVICE_TABLES["sla"]) for _ in range(4)]
    try:
        done = await asyncio.gather(*(upgrade(replica) for replica in replicas))
        assert sorted(str(d.before) for d in done) == [*[head("sla")] * 3, "None"], "one upgraded, three found it done"
        async with replicas[0].session() as session:
            assert await pending_count(session) == 0
    finally:
        for replica in replicas:
            await replica.dispose()
