"""The claim service's task board: one row per case, for its current dispatch generation."""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, SQLModel, col

from services.claim.boarding import SUSPEND_LIMIT_SECONDS, Boarded
from services.claim.project_store import PROJECT_TABLES
from shared.events import CaseSummary, SlaStage


class Task(SQLModel, table=True):
    __tablename__ = "claim_task"

    case_id: str = Field(primary_key=True, max_length=36)
    correlation_id: str = Field(max_length=36)
    generation: int
    branch_code: str | None = Field(default=None, max_length=32, index=True)
    street_code: str = Field(max_length=32)
    status: str = Field(max_length=16, index=True)
    member_id: str | None = Field(default=None, max_length=32)
    summary: str
    dispatched_at: datetime
    accept_deadline: datetime | None = None
    respond_deadline: datetime | None = None
    claimed_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    warning: str | None = Field(default=None, max_length=16, description="SLA stage warned or breached.")
    suspend_limit_seconds: float = SUSPEND_LIMIT_SECONDS
    suspend_used_seconds: float = Field(default=0.0, description="Suspension taken, the running one in full.")
    suspended_at: datetime | None = None
    suspended_until: datetime | None = None
    suspensions: int = 0
    urge_count: int = Field(default=0, description="Urges (督办) of this dispatch.")
    urged_at: datetime | None = None
    urge_note: str | None = Field(default=None, description="What the latest urge said, if anything.")
    revision: int = Field(default=0, description="Bumped by every change, so a move can insist on what it read.")

    @property
    def case_summary(self) -> CaseSummary:
        return CaseSummary.model_validate_json(self.summary)

    def deadline(self, stage: SlaStage) -> datetime | None:
        return self.accept_deadline if stage == SlaStage.ACCEPT else self.respond_deadline

    def move_deadline(self, stage: SlaStage, by: timedelta) -> None:
        deadline = self.deadline(stage)
        assert deadline is not None, "only a dispatched task's deadlines are extended"
        if stage == SlaStage.ACCEPT:
            self.accept_deadline = deadline + by
        else:
            self.respond_deadline = deadline + by


class EarlyExtension(SQLModel, table=True):
    """An extension (延期) seen before its own dispatch: the two travel on different
    topics, and a lagging consumer of one may see them the other way round."""

    __tablename__ = "claim_early_extension"

    case_id: str = Field(primary_key=True, max_length=36)
    generation: int = Field(primary_key=True)
    stage: str = Field(primary_key=True, max_length=16)
    seconds: float = 0.0


TASKS: Table = Task.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
EARLY_EXTENSIONS: Table = EarlyExtension.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
TABLES = [TASKS, EARLY_EXTENSIONS, *PROJECT_TABLES]


async def remember_extension(session: AsyncSession, case_id: str, generation: int, stage: str,
                             seconds: float) -> None:
    """Add to what waits for the dispatch, in one statement. The session is not flushed
    first: this depends on no task, and flushing the batch's changed tasks costs one
    statement each."""
    table = EARLY_EXTENSIONS
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table).values(case_id=case_id, generation=generation, stage=stage, seconds=seconds)
    with session.no_autoflush:
        await session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.case_id, table.c.generation, table.c.stage],
            set_={"seconds": table.c.seconds + statement.excluded.seconds}))


async def take_early_extensions(session: AsyncSession, dispatches: Collection[tuple[str, int]]) \
        -> dict[tuple[str, int], dict[str, timedelta]]:
    """Remove and return the extensions waiting for these (case, generation) dispatches,
    in one statement: what it returns is exactly what it removed."""
    if not dispatches:
        return {}
    table = EARLY_EXTENSIONS
    taken = await session.execute(
        delete(table).where(tuple_(table.c.case_id, table.c.generation).in_(sorted(set(dispatches))))
        .returning(table.c.case_id, table.c.generation, table.c.stage, table.c.seconds))
    early: dict[tuple[str, int], dict[str, timedelta]] = defaultdict(dict)
    for case_id, generation, stage, seconds in taken:
        early[case_id, generation][stage] = timedelta(seconds=seconds)
    return early


async def boarded(session: AsyncSession, case_ids: Collection[str]) -> dict[str, Boarded]:
    """What a dispatch reads of these cases' rows, in one query, without ORM objects."""
    table = TASKS
    rows = await session.execute(
        select(table.c.case_id, table.c.generation, table.c.branch_code, table.c.suspend_limit_seconds)
        .where(table.c.case_id.in_(sorted(case_ids))))
    return {case_id: Boarded(generation, branch_code, limit) for case_id, generation, branch_code, limit in rows}


async def put(session: AsyncSession, added: Mapping[str, dict[str, Any]], replaced: Mapping[str, dict[str, Any]]) \
        -> None:
    """Insert and replace task rows, a statement for each kind, in case order (the order
    the sla consumer locks rows in, so the two never wait on each other in a ring).

    A replacement only writes over an older generation: should another writer of this
    consumer's have put a newer one there meanwhile, the replacement is stale."""
    if added:
        await session.execute(insert(TASKS), [added[case_id] for case_id in sorted(added)])
    if replaced:
        table = TASKS
        statement = update(table).where(table.c.case_id == bindparam("b_case_id"),
                                        table.c.generation < bindparam("b_generation"))
        await session.execute(statement, [{"b_case_id": case_id, "b_generation": row["generation"], **row}
                                          for case_id, row in sorted(replaced.items())])


CLOCK_COLUMNS = ("status", "warning", "accept_deadline", "respond_deadline", "revision")
"""What the clock's events (warnings, extensions, breaches) change on a task."""


async def save_clock_marks(session: AsyncSession, tasks: Iterable[Task]) -> None:
    """Write what the clock's events changed on these tasks, which the batch holds locked, in
    one statement; then the session forgets them, or it would write them again a row at a time."""
    ordered = sorted(tasks, key=lambda task: task.case_id)
    if not ordered:
        return
    table = TASKS
    with session.no_autoflush:
        await session.execute(update(table).where(table.c.case_id == bindparam("b_case_id")),
                              [{"b_case_id": task.case_id, **{name: getattr(task, name) for name in CLOCK_COLUMNS}}
                               for task in ordered])
    for task in ordered:
        session.expunge(task)


async def find(session: AsyncSession, case_id: str, *, lock: bool = False) -> Task | None:
    """``lock`` for a read-modify-write of the row outside ``move``."""
    return await session.get(Task, case_id, with_for_update=lock)


async def board(session: AsyncSession, unit: str, statuses: tuple[str, ...]) -> list[Task]:
    """A branch's tasks, or, for a street code, the street's queue of escalated cases."""
    branch_code = col(Task.branch_code)
    in_unit = or_(branch_code == unit, and_(branch_code.is_(None), col(Task.street_code) == unit))
    rows = await session.execute(
        select(Task).where(in_unit, col(Task.status).in_(statuses)).order_by(col(Task.dispatched_at))
    )
    return list(rows.scalars())


async def move(session: AsyncSession, task: Task, from_statuses: tuple[str, ...], values: dict[str, Any],
               holder: str | None = None, where: Sequence[ColumnElement[bool]] = ()) -> bool:
    """Apply a transition only if the row is still as it was read: the winner of a race
    changes one row, every loser changes none."""
    table = TASKS
    condition = [table.c.case_id == task.case_id, table.c.generation == task.generation,
                 table.c.status.in_(from_statuses), *where]
    if holder is not None:
        condition.append(table.c.member_id == holder)
    # A Core UPDATE (``where`` too, over TASKS' columns): the ORM's would compare the condition with
    # every row the session holds, a batch's hundreds for each move. The winner sets its row below.
    result = await session.execute(update(table).where(*condition).values(**values, revision=table.c.revision + 1))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # SQLAlchemy types Result; an UPDATE gives a CursorResult
        return False
    for name, value in {**values, "revision": task.revision + 1}.items():
        set_committed_value(task, name, value)
    return True


async def cases_on_board(session: AsyncSession, case_ids: Collection[str]) -> dict[str, str]:
    """Each of these cases on the task board, with its street."""
    if not case_ids:
        return {}
    rows = await session.execute(select(TASKS.c.case_id, TASKS.c.street_code)
                                 .where(TASKS.c.case_id.in_(sorted(case_ids))))
    return dict(rows.tuples().all())


async def recent_street_tasks(session: AsyncSession, street_code: str, limit: int = 100) -> list[Task]:
    """The street's tasks, newest first, for linking appeals to a project."""
    rows = await session.execute(select(Task).where(col(Task.street_code) == street_code)
                                 .order_by(col(Task.dispatched_at).desc()).limit(limit))
    return list(rows.scalars())
