"""Volunteer projects' tables and the statements that settle their races.

A slot is taken by one conditional UPDATE of the project's ``filled`` count, in the
transaction that writes the member's slot row: of any number of members claiming at once,
exactly as many as there are free slots change the row, the others change nothing and
are refused. Every transaction that writes both takes the project row first, then the
slot row, so two of them never wait on each other in a ring.
"""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.claim.projects import ProjectStatus, SlotStatus


class Project(SQLModel, table=True):
    __tablename__ = "claim_project"

    project_id: str = Field(primary_key=True, max_length=36)
    project_no: str = Field(max_length=20, unique=True)
    title: str = Field(max_length=100)
    description: str
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    place: str = Field(max_length=200)
    street_code: str = Field(max_length=32, index=True)
    branch_code: str | None = Field(default=None, max_length=32)
    publisher_id: str = Field(max_length=32)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    claim_cutoff: datetime
    slots: int
    filled: int = Field(default=0, description="Slots taken, late withdrawals included.")
    points: int
    series_id: str | None = Field(default=None, max_length=36)
    occurrence: int = 1
    case_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    evaluation_code_hash: str = Field(max_length=64)
    status: str = Field(default=ProjectStatus.OPEN, max_length=16)
    published_at: datetime


class ProjectSlot(SQLModel, table=True):
    """A member's slot; it stays when they withdraw, and ``claims`` counts their claims, so
    a claim after a withdrawal makes events of its own."""

    __tablename__ = "claim_project_slot"

    project_id: str = Field(primary_key=True, max_length=36)
    member_id: str = Field(primary_key=True, max_length=32, index=True)
    branch_code: str = Field(max_length=32, description="The member's own branch.")
    status: str = Field(max_length=16)
    claims: int = 1
    claimed_at: datetime
    withdrawn_at: datetime | None = None
    late: bool = Field(default=False, description="Withdrew after the claim cut-off.")
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    reported_at: datetime | None = None
    note: str | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = Field(default=None, max_length=32)


class ProjectDay(SQLModel, table=True):
    """The last project number given on each local day."""

    __tablename__ = "claim_project_day"

    day: str = Field(primary_key=True, max_length=8)
    last: int


PROJECTS: Table = Project.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
SLOTS: Table = ProjectSlot.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
DAYS: Table = ProjectDay.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
PROJECT_TABLES = [PROJECTS, SLOTS, DAYS]


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def number_projects(session: AsyncSession, day: str, count: int) -> list[int]:
    """``count`` sequence numbers of ``day`` no other transaction gets: one upsert adds them
    to the day's counter and returns the new last, holding the day's row until commit."""
    statement = _dialect(session).insert(DAYS).values(day=day, last=count)
    last = (await session.execute(
        statement.on_conflict_do_update(index_elements=[DAYS.c.day], set_={"last": DAYS.c.last + count})
        .returning(DAYS.c.last))).scalar_one()
    return list(range(last - count + 1, last + 1))


async def insert_projects(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(PROJECTS.insert(), list(rows))


async def find_project(session: AsyncSession, project_id: str) -> Project | None:
    return await session.get(Project, project_id)


async def find_slot(session: AsyncSession, project_id: str, member_id: str) -> ProjectSlot | None:
    return await session.get(ProjectSlot, (project_id, member_id))


async def slots_of(session: AsyncSession, project_ids: Collection[str]) -> list[ProjectSlot]:
    if not project_ids:
        return []
    rows = await session.execute(select(ProjectSlot).where(col(ProjectSlot.project_id).in_(sorted(project_ids)))
                                 .order_by(col(ProjectSlot.claimed_at)))
    return list(rows.scalars())


async def projects(session: AsyncSession, street_code: str | None, *, claimable_at: datetime | None = None,
                   limit: int = 200) -> list[Project]:
    """A street's projects (every street's for None): with ``claimable_at`` those whose
    claims have not closed by then, soonest first; without, the latest ``limit`` by start,
    latest first."""
    query = select(Project)
    if street_code is not None:
        query = query.where(col(Project.street_code) == street_code)
    if claimable_at is not None:
        query = query.where(col(Project.claim_cutoff) > claimable_at, col(Project.status) == ProjectStatus.OPEN)
    order = (col(Project.starts_at), col(Project.project_no)) if claimable_at is not None else (
        col(Project.starts_at).desc(), col(Project.project_no).desc())
    rows = await session.execute(query.order_by(*order).limit(limit))
    return list(rows.scalars())


async def projects_of_member(session: AsyncSession, member_id: str) -> list[tuple[Project, ProjectSlot]]:
    rows = await session.execute(
        select(Project, ProjectSlot).join(ProjectSlot, col(ProjectSlot.project_id) == col(Project.project_id))
        .where(col(ProjectSlot.member_id) == member_id).order_by(col(Project.starts_at).desc()).limit(200))
    return [(project, slot) for project, slot in rows.tuples()]


async def take_slot(session: AsyncSession, project_id: str, now: datetime) -> int | None:
    """Slots taken once this one is, or None when none was free, the cut-off passed or the
    project is no longer open: the fence of every claim."""
    p = PROJECTS.c
    result = await session.execute(
        update(PROJECTS).where(p.project_id == project_id, p.filled < p.slots, p.claim_cutoff > now,
                               p.status == ProjectStatus.OPEN)
        .values(filled=p.filled + 1).returning(p.filled))
    return result.scalar_one_or_none()


async def give_back_slot(session: AsyncSession, project_id: str, now: datetime) -> int | None:
    """Reopen a slot, only before the cut-off; slots taken after, or None after the cut-off."""
    p = PROJECTS.c
    result = await session.execute(
        update(PROJECTS).where(p.project_id == project_id, p.claim_cutoff > now, p.filled > 0)
        .values(filled=p.filled - 1).returning(p.filled))
    return result.scalar_one_or_none()


async def filled(session: AsyncSession, project_id: str) -> int:
    return (await session.execute(select(PROJECTS.c.filled).where(PROJECTS.c.project_id == project_id))).scalar_one()


async def add_slot(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A member's first claim of the project; False when they already have a slot row
    (a second claim of theirs running at the same time)."""
    statement = _dialect(session).insert(SLOTS).values(**row).on_conflict_do_nothing(
        index_elements=[SLOTS.c.project_id, SLOTS.c.member_id]).returning(SLOTS.c.member_id)
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def move_slot(session: AsyncSession, slot: ProjectSlot, from_statuses: Sequence[SlotStatus],
                    values: dict[str, Any]) -> bool:
    """Change the slot only if it is still as read (status and claim count)."""
    s = SLOTS.c
    result = await session.execute(
        update(SLOTS).where(s.project_id == slot.project_id, s.member_id == slot.member_id,
                            s.status.in_([str(status) for status in from_statuses]), s.claims == slot.claims)
        .values(**values))
    return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult


async def completions(session: AsyncSession, project_ids: Collection[str]) -> dict[str, int]:
    """How many confirmed completions each project has."""
    if not project_ids:
        return {}
    s = SLOTS.c
    rows = await session.execute(
        select(s.project_id, func.count()).where(s.project_id.in_(sorted(project_ids)),
                                                 s.status == SlotStatus.CONFIRMED).group_by(s.project_id))
    return dict(rows.tuples().all())
