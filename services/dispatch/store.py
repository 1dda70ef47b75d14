"""Dispatch's own copy of each case: where it is now and where it has been refused."""

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.dispatch.escalation import Escalation
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
    updated_at: datetime

    @property
    def case_summary(self) -> CaseSummary:
        return CaseSummary.model_validate_json(self.summary)

    @property
    def refused(self) -> list[str]:
        return json.loads(self.refused_by)

    def refuse(self, branch_code: str) -> None:
        self.refused_by = json.dumps(sorted({*self.refused, branch_code}))

    @property
    def frozen_escalation(self) -> Escalation | None:
        return Escalation.model_validate_json(self.escalation) if self.escalation else None

    def escalation_in_force(self) -> Escalation:
        """The frozen escalation a branch dispatch takes its deadlines and next branches from."""
        escalation = self.frozen_escalation
        if escalation is None:
            raise ValueError(f"case {self.case_id} has no escalation frozen for its dispatch")
        return escalation

    def freeze(self, escalation: Escalation) -> None:
        self.escalation = escalation.model_dump_json()


TABLES = [Assignment.__table__]  # type: ignore[attr-defined]  # SQLModel declares no __table__
ACTIVE = "active"


async def find(session: AsyncSession, case_id: str) -> Assignment | None:
    return await session.get(Assignment, case_id, with_for_update=True)


async def branch_load(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(col(Assignment.branch_code), func.count())
        .where(col(Assignment.state) == ACTIVE).group_by(col(Assignment.branch_code))
    )
    return {branch: count for branch, count in rows.all() if branch}
