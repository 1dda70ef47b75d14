"""Feedback's HTTP routes: the citizen's rating (by tracking code) and the member's evaluation."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.feedback import ratings
from services.feedback.metrics import FeedbackMetrics
from shared.auth import Identity
from shared.errors import refusals
from shared.events import FreeText
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.throttle_http import tracking_code_attempts


class FeedbackBody(BaseModel):
    tracking_code: str = Field(min_length=1, max_length=32, description="The code the citizen got at registration.")
    rating: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied).")
    resolved: bool = Field(description="Does the citizen consider the problem solved?")
    comment: FreeText | None = Field(default=None, max_length=2000, examples=["处理很及时，谢谢"])


class FeedbackOutcome(BaseModel):
    case_id: str
    satisfied: bool
    status: Literal["closed", "reopened"]


class EvaluationBody(BaseModel):
    rating: int = Field(ge=1, le=5, description="How the member rates the case (citizen cooperation, clarity).")
    comment: FreeText | None = Field(default=None, max_length=2000)


def build_router(uow: UnitOfWork, context: Context, metrics: FeedbackMetrics) -> APIRouter:
    router = APIRouter(tags=["feedback"])
    clock = context.clock
    code_attempts = tracking_code_attempts(uow.db, context)

    @router.post("/api/cases/{case_id}/feedback", response_model=FeedbackOutcome, dependencies=[code_attempts],
                 responses=refusals(400, {403: "Wrong tracking code.", 404: "No such case.",
                                     409: "Not resolved yet, or already rated.",
                                     429: "Too many wrong codes for this case or from this address."}))
    async def give_feedback(case_id: str, body: FeedbackBody) -> FeedbackOutcome:
        verdict = ratings.CitizenVerdict(rating=body.rating, resolved=body.resolved, comment=body.comment)
        async with uow.begin() as tx:
            rated = await ratings.rate(tx, case_id, body.tracking_code, verdict, clock.now())
        metrics.rated(rated.branch_code, rated.satisfied)
        return FeedbackOutcome(case_id=case_id, satisfied=rated.satisfied,
                               status="closed" if rated.satisfied else "reopened")

    @router.post("/api/cases/{case_id}/evaluation", status_code=201,
                 responses=refusals(400, 401, {403: "Only the member who resolved the case evaluates it.",
                                          404: "No such case.", 409: "Already evaluated, or not yet resolved."}))
    async def evaluate(case_id: str, body: EvaluationBody,
                       who: Annotated[Identity, Depends(context.auth.require("member"))]) -> dict[str, str]:
        async with uow.begin() as tx:
            branch_code = await ratings.evaluate(tx, case_id, who, body.rating, body.comment, clock.now())
        metrics.evaluations.labels(branch_code or "none").inc()
        return {"case_id": case_id, "status": "evaluated"}

    return router
