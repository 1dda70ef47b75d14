"""Feedback's tables for volunteer projects: what it keeps of each project, the confirmed
completions, the evaluations, and the points ledger — with the queries they need.

The ledger's key (member, project, reason) is what makes every credit happen once: each
entry is an INSERT … ON CONFLICT DO NOTHING, so a redelivery, a second copy in one batch,
a replay or a concurrent consumer writes nothing the second time, and RETURNING tells
which entries were really written (only those are counted).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.feedback.points import Completion, Credit, Reason
from shared.clock import as_utc


class Side(StrEnum):
    RESIDENT = "resident"
    MEMBER = "member"


class Project(SQLModel, table=True):
    """What feedback keeps of a published project: enough to show it and check its code."""

    __tablename__ = "feedback_project"

    project_id: str = Field(primary_key=True, max_length=36)
    project_no: str = Field(max_length=40, index=True)
    title: str
    branch_code: str | None = Field(default=None, max_length=32)
    street_code: str = Field(max_length=32)
    points: int
    evaluation_code_hash: str = Field(max_length=64)
    starts_at: datetime
    ends_at: datetime
    rated_good_at: datetime | None = None
    """When the first good resident evaluation came; from then on completions earn the bonus."""


class ProjectCompletion(SQLModel, table=True):
    """A confirmed completion, kept whether or not its project is known yet: the bonus
    for a good evaluation reaches every member on file."""

    __tablename__ = "feedback_project_completion"

    project_id: str = Field(primary_key=True, max_length=36)
    member_id: str = Field(primary_key=True, max_length=32)
    branch_code: str = Field(max_length=32)
    street_code: str = Field(max_length=32)
    points: int
    confirmed_at: datetime

    def as_completion(self) -> Completion:
        return Completion(self.member_id, self.branch_code, self.street_code)


class ProjectEvaluation(SQLModel, table=True):
    """Residents' evaluations (many per project, member_id empty) and members' (one each)."""

    __tablename__ = "feedback_project_evaluation"
    __table_args__ = (UniqueConstraint("project_id", "member_id", name="uq_feedback_project_evaluation_member"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(max_length=36, index=True)
    side: str = Field(max_length=16, description="resident or member")
    member_id: str | None = Field(default=None, max_length=32)
    rating: int
    comment: str | None = None
    at: datetime


class PointsEntry(SQLModel, table=True):
    __tablename__ = "feedback_points_entry"
    __table_args__ = (UniqueConstraint("member_id", "project_id", "reason", name="uq_feedback_points_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(max_length=32, index=True)
    branch_code: str = Field(max_length=32, index=True)
    street_code: str = Field(max_length=32)
    project_id: str = Field(max_length=36)
    reason: str = Field(max_length=32)
    points: int
    at: datetime = Field(index=True)


TABLES = [Project.__table__, ProjectCompletion.__table__, ProjectEvaluation.__table__,  # type: ignore[attr-defined]  # SQLModel declares no __table__
          PointsEntry.__table__]  # type: ignore[attr-defined]  # SQLModel declares no __table__


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


async def credit(session: AsyncSession, project_id: str, credits: Sequence[Credit], at: datetime) -> list[Credit]:
    """Writes the entries not written before; the ones written now."""
    if not credits:
        return []
    table = PointsEntry.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    rows = [{"member_id": c.member_id, "branch_code": c.branch_code, "street_code": c.street_code,
             "project_id": project_id, "reason": c.reason.value, "points": c.points, "at": at.astimezone(UTC)}
            for c in credits]
    statement = (_insert(session, table).values(rows)
                 .on_conflict_do_nothing(index_elements=["member_id", "project_id", "reason"])
                 .returning(table.c.member_id, table.c.reason))
    written = {(member, reason) for member, reason in (await session.execute(statement)).all()}
    return [c for c in credits if (c.member_id, c.reason.value) in written]


async def keep_completion(session: AsyncSession, project_id: str, completion: Completion, points: int,
                          at: datetime) -> None:
    table = ProjectCompletion.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    await session.execute(_insert(session, table).values(
        project_id=project_id, member_id=completion.member_id, branch_code=completion.branch_code,
        street_code=completion.street_code, points=points, confirmed_at=at.astimezone(UTC),
    ).on_conflict_do_nothing(index_elements=["project_id", "member_id"]))


async def keep_project(session: AsyncSession, values: dict[str, Any]) -> None:
    """The first ProjectPublished of a project wins; a repeat changes nothing."""
    table = Project.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
    await session.execute(_insert(session, table).values(values).on_conflict_do_nothing(index_elements=["project_id"]))


async def locked_project(session: AsyncSession, project_id: str) -> Project | None:
    """The project's row, locked: a completion and a good evaluation of one project are
    decided one after the other, so neither misses the other's bonus."""
    return (await session.execute(select(Project).where(col(Project.project_id) == project_id)
                                  .with_for_update())).scalar_one_or_none()


async def completions(session: AsyncSession, project_id: str, member_id: str | None = None) -> list[ProjectCompletion]:
    query = select(ProjectCompletion).where(col(ProjectCompletion.project_id) == project_id)
    if member_id is not None:
        query = query.where(col(ProjectCompletion.member_id) == member_id)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Entry:
    reason: Reason
    project_id: str
    project_no: str | None
    title: str | None
    points: int
    at: datetime


async def entries(session: AsyncSession, member_id: str, since: datetime | None) -> list[Entry]:
    """A member's entries, newest first, with the project's number and title when known."""
    query = (select(PointsEntry, col(Project.project_no), col(Project.title))
             .join(Project, col(Project.project_id) == col(PointsEntry.project_id), isouter=True)
             .where(col(PointsEntry.member_id) == member_id)
             .order_by(col(PointsEntry.at).desc(), col(PointsEntry.id).desc()))
    if since is not None:
        query = query.where(col(PointsEntry.at) >= since)
    return [Entry(Reason(e.reason), e.project_id, no, title, e.points, as_utc(e.at))
            for e, no, title in (await session.execute(query)).all()]


async def balance(session: AsyncSession, member_id: str, since: datetime | None = None) -> int:
    query = select(func.coalesce(func.sum(col(PointsEntry.points)), 0)).where(col(PointsEntry.member_id) == member_id)
    if since is not None:
        query = query.where(col(PointsEntry.at) >= since)
    return int((await session.execute(query)).scalar_one())


async def totals(session: AsyncSession, branch_codes: Sequence[str],
                 since: datetime | None) -> dict[tuple[str, str], int]:
    """Points by (member, branch) earned in these branches since ``since``."""
    query = (select(col(PointsEntry.member_id), col(PointsEntry.branch_code), func.sum(col(PointsEntry.points)))
             .where(col(PointsEntry.branch_code).in_(branch_codes))
             .group_by(col(PointsEntry.member_id), col(PointsEntry.branch_code)))
    if since is not None:
        query = query.where(col(PointsEntry.at) >= since)
    return {(member, branch): int(points) for member, branch, points in (await session.execute(query)).all()}


async def member_evaluated(session: AsyncSession, project_id: str, member_id: str) -> bool:
    query = select(col(ProjectEvaluation.id)).where(col(ProjectEvaluation.project_id) == project_id,
                                                   col(ProjectEvaluation.member_id) == member_id)
    return (await session.execute(query)).first() is not None


async def project_by_no(session: AsyncSession, project_no: str) -> Project | None:
    query = select(Project).where(col(Project.project_no) == project_no).limit(1)
    return (await session.execute(query)).scalar_one_or_none()
