"""Feedback's tables: which cases await the citizen's rating, and the ratings given."""

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from services.feedback import ledger


class RatableCase(SQLModel, table=True):
    __tablename__ = "feedback_case"

    case_id: str = Field(primary_key=True, max_length=36)
    correlation_id: str = Field(max_length=36)
    tracking_code_hash: str = Field(max_length=64)
    state: str = Field(default="open", max_length=16, description="open, awaiting, closed or reopened")
    generation: int = 0
    branch_code: str | None = Field(default=None, max_length=32)
    member_id: str | None = Field(default=None, max_length=32)
    resolved_at: datetime | None = None


async def insert_cases(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Newly registered cases in one plain INSERT: a quarter of what ORM objects cost."""
    if rows:
        await session.execute(insert(RatableCase.__table__), rows)  # type: ignore[attr-defined]  # SQLModel declares no __table__


class CitizenRating(SQLModel, table=True):
    __tablename__ = "feedback_rating"
    __table_args__ = (UniqueConstraint("case_id", "generation", name="uq_feedback_rating_case_generation"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=36, index=True)
    generation: int
    branch_code: str = Field(max_length=32)
    rating: int
    resolved: bool
    satisfied: bool
    comment: str | None = None
    at: datetime


class MemberEvaluation(SQLModel, table=True):
    __tablename__ = "feedback_evaluation"
    __table_args__ = (UniqueConstraint("case_id", "generation", name="uq_feedback_evaluation_case_generation"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=36, index=True)
    generation: int
    member_id: str = Field(max_length=32)
    rating: int
    comment: str | None = None
    at: datetime


TABLES = [RatableCase.__table__, CitizenRating.__table__, MemberEvaluation.__table__,  # type: ignore[attr-defined]  # SQLModel declares no __table__
          *ledger.TABLES]
