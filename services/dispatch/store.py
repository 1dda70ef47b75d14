"""Dispatch's own copy of each case: where it is now and where it has been refused."""

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.dispatch.escalation import Escalation
from services.dispatch.risk import Standing
from shared.events import CaseSummary


class Assignment(SQLModel, table=True):
    __tablename__ = "dispatch_assignment"

    case_id: str = Field(primary_key=True, max_length=36)
    correlation_id: str = Field(max_length=36)
    summary: str
    generation: int = 0
    state: str = Field(default="new", max_length=16, index=True)
    branch_code: str | None = Field(default=None, max_length=32, index=True)
    street_code: str | None = Field(default=None, max_length=32)
    refused_by: str = Field(default="[]", description="JSON list of branches that returned or let it expire.")
    hops: int = Field(default=0, description="Accept expiries since the case arrived or was reopened.")
    escalation: str | None = Field(default=None, description="The frozen Escalation (JSON) of the current chain.")
    standing: str = Field(default="{}", description="The SLA Standing (JSON) of the dispatch in force.")
    updated_at: datetime

    @property
    def case_summary(self) -> CaseSummary:
        return _summary(self.summary)

    @property
    def refused(self) -> list[str]:
        return json.loads(self.refused_by)

    def refuse(self, branch_code: str) -> None:
        self.refused_by = json.dumps(sorted({*self.refused, branch_code}))

    @property
    def frozen_escalation(self) -> Escalation | None:
        return _escalation(self.escalation) if self.escalation else None

    def escalation_in_force(self) -> Escalation:
        """The frozen escalation a branch dispatch takes its deadlines and next branches from."""
        escalation = self.frozen_escalation
        if escalation is None:
            raise ValueError(f"case {self.case_id} has no escalation frozen for its dispatch")
        return escalation

    def freeze(self, escalation: Escalation) -> None:
        self.escalation = escalation.model_dump_json()

    @property
    def sla_standing(self) -> Standing:
        return Standing.model_validate_json(self.standing)

    def stand(self, standing: Standing) -> None:
        self.standing = standing.model_dump_json()


# Both frozen, so a copy read once serves every look: a dispatch reads its case's summary
# and escalation several times, and a street's cases share a handful of escalations.
@lru_cache(maxsize=1024)
def _summary(text: str) -> CaseSummary:
    return CaseSummary.model_validate_json(text)


@lru_cache(maxsize=256)
def _escalation(text: str) -> Escalation:
    return Escalation.model_validate_json(text)


TABLES = [Assignment.__table__]  # type: ignore[attr-defined]  # SQLModel declares no __table__
ACTIVE = "active"


async def insert_assignments(session: AsyncSession, assignments: Sequence[Assignment]) -> None:
    """New cases' rows in one statement; a case another replica inserted meanwhile fails it."""
    if assignments:
        await session.execute(insert(Assignment.__table__),  # type: ignore[attr-defined]  # SQLModel declares no __table__
                              [assignment.model_dump() for assignment in assignments])


async def find(session: AsyncSession, case_id: str) -> Assignment | None:
    return await session.get(Assignment, case_id, with_for_update=True)


async def current(session: AsyncSession, case_id: str) -> Assignment | None:
    """Read without a lock, for a change that ``advance`` then makes only if nothing moved the case meanwhile."""
    return await session.get(Assignment, case_id)


async def advance(session: AsyncSession, read: Assignment, values: dict[str, Any]) -> bool:
    """Take the case to its next generation only if it is still as ``read``: same generation,
    state and SLA standing. Of two supervisors reassigning at once, or one racing a return,
    an expiry, a resolve or a response, one changes the row and the other none."""
    result = await session.execute(update(Assignment).where(
        col(Assignment.case_id) == read.case_id, col(Assignment.generation) == read.generation,
        col(Assignment.state) == read.state, col(Assignment.standing) == read.standing).values(**values))
    return result.rowcount == 1  # type: ignore[attr-defined]  # SQLAlchemy types Result; an UPDATE gives a CursorResult


async def branch_load(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(col(Assignment.branch_code), func.count())
        .where(col(Assignment.state) == ACTIVE).group_by(col(Assignment.branch_code))
    )
    return {branch: count for branch, count in rows.all() if branch}
