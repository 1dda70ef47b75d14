"""Volunteer projects' HTTP routes: the residents' and the members' evaluations (双向评单),
a member's points ledger, and the leaderboards."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.feedback import boards, crediting, ledger
from services.feedback.ledger import Side
from services.feedback.metrics import FeedbackMetrics
from services.feedback.points import Period, Reason, period_start
from shared.auth import Identity
from shared.errors import refusals
from shared.events import FreeText
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.throttle_http import tracking_code_attempts

UnitCode = Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                description="A branch code (its members) or a street code (its members and branches).")]


class ResidentEvaluationBody(BaseModel):
    evaluation_code: str = Field(min_length=1, max_length=32, description="The code the project gave the residents "
                                                                          "it served.")
    rating: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied).")
    comment: FreeText | None = Field(default=None, max_length=2000, examples=["志愿者很耐心，谢谢"])


class MemberEvaluationBody(BaseModel):
    rating: int = Field(ge=1, le=5, description="How the member rates the project (organisation, usefulness).")
    comment: FreeText | None = Field(default=None, max_length=2000)


class Evaluated(BaseModel):
    project_id: str
    side: Side


class LedgerEntry(BaseModel):
    reason: Reason
    project_id: str
    project_no: str | None = Field(description="Unknown until feedback has learnt the project.")
    title: str | None
    points: int
    at: datetime


class MemberPoints(BaseModel):
    member_id: str
    name: str
    branch_code: str
    balance: int = Field(description="All the member's points, whatever the period.")
    period: Period
    since: datetime | None = Field(description="Where the period began (local calendar); none for all.")
    period_points: int
    entries: list[LedgerEntry] = Field(description="The period's entries, newest first.")


class MemberRank(BaseModel):
    rank: int = Field(description="Equal points share a rank (1, 1, 3).")
    member_id: str
    name: str
    branch_code: str
    points: int


class BranchRank(BaseModel):
    rank: int
    branch_code: str
    name: str
    points: int


class Leaderboard(BaseModel):
    unit: str
    period: Period
    since: datetime | None
    members: list[MemberRank]
    branches: list[BranchRank] = Field(description="A street's branches ranked; empty for a branch.")


def build_router(uow: UnitOfWork, context: Context, metrics: FeedbackMetrics) -> APIRouter:
    router = APIRouter(tags=["points"])
    clock, district = context.clock, context.district
    code_attempts = tracking_code_attempts(uow.db, context, case_in_path="project_id")
    reader = Depends(context.auth.require("member", "supervisor", "command_center"))

    @router.post("/api/projects/{project_id}/evaluation", status_code=201, response_model=Evaluated,
                 dependencies=[code_attempts],
                 responses=refusals(400, {403: "Wrong evaluation code.", 404: "No such project.",
                                     409: "No member's completion is confirmed yet.",
                                     429: "Too many wrong codes for this project or from this address."}))
    async def evaluate_as_resident(project_id: str,
                                   body: ResidentEvaluationBody) -> Evaluated:
        verdict = crediting.ResidentVerdict(body.evaluation_code, body.rating, body.comment)
        async with uow.begin() as tx:
            await crediting.evaluate_as_resident(tx, project_id, verdict, district.points, clock.now(),
                                                 metrics.credited)
        metrics.project_evaluations.labels(Side.RESIDENT).inc()
        return Evaluated(project_id=project_id, side=Side.RESIDENT)

    @router.post("/api/projects/{project_id}/member-evaluation", status_code=201, response_model=Evaluated,
                 responses=refusals(400, 401, {403: "Only members whose completion was confirmed evaluate it.",
                                          404: "No such project.", 409: "Already evaluated."}))
    async def evaluate_as_member(project_id: str, body: MemberEvaluationBody,
                                 who: Annotated[Identity, Depends(context.auth.require("member"))]) -> Evaluated:
        async with uow.begin() as tx:
            await crediting.evaluate_as_member(tx, project_id, who, body.rating, body.comment, clock.now())
        metrics.project_evaluations.labels(Side.MEMBER).inc()
        return Evaluated(project_id=project_id, side=Side.MEMBER)

    @router.get("/api/points/members/{member_id}", response_model=MemberPoints,
                responses=refusals(401, {403: "Not the member, their secretary or their street's supervisor.",
                                         404: "No such member."}))
    async def member_points(member_id: str,
                            who: Annotated[Identity, reader], period: Period = Period.ALL) -> MemberPoints:
        branch = boards.check_ledger_reader(who, member_id, district)
        since = period_start(period, clock.now())
        async with uow.db.session() as session:
            total = await ledger.balance(session, member_id)
            rows = await ledger.entries(session, member_id, since)
        return MemberPoints(member_id=member_id, name=district.member_by_id[member_id].name, branch_code=branch,
                            balance=total, period=period, since=since, period_points=sum(e.points for e in rows),
                            entries=[LedgerEntry(**vars(e)) for e in rows])

    @router.get("/api/points/leaderboard", response_model=Leaderboard,
                responses=refusals(401, {403: "Not a board of the caller's street.", 404: "No such branch or street."}))
    async def leaderboard(unit: UnitCode, who: Annotated[Identity, reader], period: Period = Period.ALL) -> Leaderboard:
        branch_codes = boards.check_board_reader(who, unit, district)
        since = period_start(period, clock.now())
        async with uow.db.session() as session:
            totals = await ledger.totals(session, branch_codes, since)
        made = boards.board(district, unit, branch_codes, totals)
        return Leaderboard(unit=unit, period=period, since=since,
                           members=[MemberRank(**vars(m)) for m in made.members],
                           branches=[BranchRank(**vars(b)) for b in made.branches])

    return router
