"""Reading what every service stored, for `appeal audit`.

Each service's database is opened as the service itself opens it
(``shared.runtime.service_database``: the PostgreSQL schema ``appeal_<service>`` of
``APPEAL_DATABASE_URL``, else that SQLite URL's ``-<service>`` file, else
``<data dir>/<service>.db``), read in one transaction and closed: one consistent moment
per service (PostgreSQL: ``REPEATABLE READ``, read only; SQLite: the services' own
transaction, which holds the file's write lock for the few moments of the read).
Nothing is created, migrated or written, and a database that is not there is an error,
not an empty system.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col

from services.audit.checks import (
    DEFAULT_OUTBOX_MAX_AGE,
    DEFAULT_SETTLE,
    Assignment,
    AuditReport,
    IntakeCase,
    OutboxRow,
    RatableCase,
    Rating,
    Settled,
    Snapshot,
    Task,
    TimelineEntry,
    Timer,
    Watch,
    run_checks,
)
from services.claim import store as claim
from services.dispatch import store as dispatch
from services.feedback import store as feedback
from services.intake import store as intake
from services.sla import store as sla
from services.system import SERVICE_NAMES
from shared.clock import SystemClock, as_utc
from shared.db import Database, database_unavailable
from shared.outbox import OutboxMessage
from shared.runtime import service_database
from shared.settings import Settings

READ_TIMEOUT_SECONDS = 120.0
Parts = dict[str, list[Any]]
"""Snapshot fields, as one service's reader fills them."""


class AuditError(Exception):
    """The audit could not read what it needs; the message says which database and why."""


async def audit(settings: Settings, *, now: datetime | None = None,
                settle_seconds: float = DEFAULT_SETTLE.total_seconds(),
                outbox_max_age_seconds: float = DEFAULT_OUTBOX_MAX_AGE.total_seconds(),
                read_timeout_seconds: float = READ_TIMEOUT_SECONDS) -> AuditReport:
    """Read every service's database and check what they stored against each other
    (``services.audit.checks`` has the rules). ``now`` defaults to the time the reading
    starts; raises ``AuditError`` when a database cannot be read."""
    now = now or SystemClock().now()
    snapshot = await read_snapshot(settings, read_timeout_seconds=read_timeout_seconds)
    return run_checks(snapshot, now=now, settle=timedelta(seconds=settle_seconds),
                      outbox_max_age=timedelta(seconds=outbox_max_age_seconds))


async def read_snapshot(settings: Settings, *, read_timeout_seconds: float = READ_TIMEOUT_SECONDS) -> Snapshot:
    """Upstream services first, so a case that appears during the reading is at worst
    newer downstream (and settling) rather than missing upstream."""
    if settings.database_url is None and not settings.data_dir.is_dir():
        raise AuditError(f"no data dir at {settings.data_dir.resolve()}: nothing has run there "
                         f"(give --data-dir, or set APPEAL_DATABASE_URL)")
    parts: Parts = {f.name: [] for f in fields(Snapshot)}
    for name in SERVICE_NAMES:
        tables, reader = READERS.get(name, ([], None))
        for key, rows in (await _read_service(settings, name, tables, reader, read_timeout_seconds)).items():
            parts[key].extend(rows)
    return Snapshot(**parts)


async def _read_service(settings: Settings, name: str, tables: list[Any],
                        reader: Callable[[AsyncConnection], Awaitable[Parts]] | None, timeout: float) -> Parts:
    db = service_database(settings, name, tables)
    where = _where(db)
    try:
        if db.is_sqlite and not Path(make_url(db.url).database or "").is_file():
            raise AuditError(f"no {name} database at {where}: has the system run with this data dir or "
                             f"APPEAL_DATABASE_URL?")
        async with asyncio.timeout(timeout):
            return await _read(db, name, reader)
    except TimeoutError:
        raise AuditError(f"the {name} database ({where}) did not answer within {timeout:.0f} s") from None
    except (OSError, DBAPIError) as error:
        reason = _first_line(getattr(error, "orig", None) or error)
        if database_unavailable(error):
            raise AuditError(f"cannot reach the {name} database ({where}): {reason}") from None
        raise AuditError(f"cannot read the {name} database ({where}): {reason}") from None
    finally:
        await db.dispose()


async def _read(db: Database, name: str, reader: Callable[[AsyncConnection], Awaitable[Parts]] | None) -> Parts:
    async with db.engine.connect() as connection:
        if not db.is_sqlite:
            await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with connection.begin():
            parts = await reader(connection) if reader else {}
            parts["outbox"] = await _outbox(connection, name)
    return parts


async def _rows(connection: AsyncConnection, model: type[SQLModel], *names: str) -> Sequence[Row[Any]]:
    """The named columns of every row of the model's table."""
    return (await connection.execute(select(*(col(getattr(model, name)) for name in names)))).all()


async def _intake(connection: AsyncConnection) -> Parts:
    cases = [IntakeCase(case_id=r.case_id, status=r.status, generation=r.generation, created_at=as_utc(r.created_at),
                        updated_at=_utc(r.updated_at), external_id=r.external_id,
                        escalation_count=r.escalation_count, extension_count=r.extension_count,
                        suspension_count=r.suspension_count)
             for r in await _rows(connection, intake.Case, "case_id", "status", "generation", "created_at",
                                  "updated_at", "external_id", "escalation_count", "extension_count",
                                  "suspension_count")]
    timeline = [_timeline_entry(r.case_id, r.type, as_utc(r.at), r.details)
                for r in await _rows(connection, intake.TimelineEntry, "case_id", "type", "at", "details")]
    return {"cases": cases, "timeline": timeline}


def _timeline_entry(case_id: str, kind: str, at: datetime, details: str) -> TimelineEntry:
    try:
        facts = json.loads(details)
    except ValueError:
        facts = {}
    if not isinstance(facts, dict):
        facts = {}
    generation = facts.get("generation")
    return TimelineEntry(case_id=case_id, type=kind, generation=generation if isinstance(generation, int) else 0,
                         at=at, reason=_text(facts.get("reason")), stage=_text(facts.get("stage")))


async def _dispatch(connection: AsyncConnection) -> Parts:
    return {"assignments": [
        Assignment(case_id=r.case_id, generation=r.generation, state=r.state, updated_at=as_utc(r.updated_at),
                   branch_code=r.branch_code, street_code=r.street_code)
        for r in await _rows(connection, dispatch.Assignment, "case_id", "generation", "state", "updated_at",
                             "branch_code", "street_code")]}


async def _claim(connection: AsyncConnection) -> Parts:
    return {"tasks": [
        Task(case_id=r.case_id, generation=r.generation, status=r.status, dispatched_at=as_utc(r.dispatched_at),
             branch_code=r.branch_code, claimed_at=_utc(r.claimed_at), responded_at=_utc(r.responded_at),
             resolved_at=_utc(r.resolved_at), suspended_at=_utc(r.suspended_at))
        for r in await _rows(connection, claim.Task, "case_id", "generation", "status", "dispatched_at",
                             "branch_code", "claimed_at", "responded_at", "resolved_at", "suspended_at")]}


async def _sla(connection: AsyncConnection) -> Parts:
    watches = [Watch(case_id=r.case_id, generation=r.generation, branch_code=r.branch_code, open=bool(r.open),
                     dispatched_at=as_utc(r.dispatched_at))
               for r in await _rows(connection, sla.Watch, "case_id", "generation", "branch_code", "open",
                                    "dispatched_at")]
    timers = [Timer(case_id=r.case_id, generation=r.generation, kind=r.kind, state=r.state, fired_at=_utc(r.fired_at))
              for r in await _rows(connection, sla.Timer, "case_id", "generation", "kind", "state", "fired_at")]
    settled = [Settled(case_id=r.case_id, generation=r.generation, stage=r.stage)
               for r in await _rows(connection, sla.Settled, "case_id", "generation", "stage")]
    return {"watches": watches, "timers": timers, "settled": settled}


async def _feedback(connection: AsyncConnection) -> Parts:
    ratable = [RatableCase(case_id=r.case_id, state=r.state, generation=r.generation,
                           has_tracking_code=bool(r.tracking_code_hash), resolved_at=_utc(r.resolved_at))
               for r in await _rows(connection, feedback.RatableCase, "case_id", "state", "generation",
                                    "tracking_code_hash", "resolved_at")]
    ratings = [Rating(case_id=r.case_id, generation=r.generation, at=as_utc(r.at))
               for r in await _rows(connection, feedback.CitizenRating, "case_id", "generation", "at")]
    return {"ratable": ratable, "ratings": ratings}


async def _outbox(connection: AsyncConnection, service: str) -> list[OutboxRow]:
    return [OutboxRow(service=service, id=r.id, key=r.key, event_type=r.event_type, created_at=as_utc(r.created_at))
            for r in await _rows(connection, OutboxMessage, "id", "key", "event_type", "created_at")]


READERS: dict[str, tuple[list[Any], Callable[[AsyncConnection], Awaitable[Parts]]]] = {
    "intake": (intake.TABLES, _intake),
    "dispatch": (dispatch.TABLES, _dispatch),
    "claim": (claim.TABLES, _claim),
    "sla": (sla.TABLES, _sla),
    "feedback": (feedback.TABLES, _feedback),
}
"""Each service's tables and what the audit reads of them; a service missing here has
only its outbox read."""


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _where(db: Database) -> str:
    url = make_url(db.url)
    if db.is_sqlite:
        return url.database or db.url
    return f"{url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)}, schema {db.schema}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
