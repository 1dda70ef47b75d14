"""Feedback's HTTP routes: the citizen's rating (by tracking code) and the member's evaluation."""

import hmac
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.feedback.metrics import FeedbackMetrics
from services.feedback.rating import is_satisfied
from services.feedback.store import CitizenRating, MemberEvaluation, RatableCase
from shared.auth import Identity
from shared.events import CaseClosed, CaseReopened, FeedbackRecorded, MemberEvaluated, event_id_for
from shared.idempotency import UnitOfWork
from shared.privacy import tracking_hash
from shared.runtime import Context


class FeedbackBody(BaseModel):
    tracking_code: str = Field(min_length=1, max_length=32, description="The code the citizen got at registration.")
    rating: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied).")
    resolved: bool = Field(description="Does the citizen consider the problem solved?")
    comment: str | None = Field(default=None, max_length=2000, examples=["处理很及时，谢谢"])


class FeedbackOutcome(BaseModel):
    case_id: str
    satisfied: bool
    status: Literal["closed", "reopened"]


class EvaluationBody(BaseModel):
    rating: int = Field(ge=1, le=5, description="How the member rates the case (citizen cooperation, clarity).")
    comment: str | None = Field(default=None, max_length=2000)


def build_router(uow: UnitOfWork, context: Context, metrics: FeedbackMetrics) -> APIRouter:
    router = APIRouter(tags=["feedback"])
    clock = context.clock

    @router.post("/api/cases/{case_id}/feedback", response_model=FeedbackOutcome,
                 responses={403: {"description": "Wrong tracking code."},
                            409: {"description": "Not resolved yet, or already rated."}})
    async def give_feedback(case_id: str, body: FeedbackBody) -> FeedbackOutcome:
        async with uow.begin() as tx:
            case = await tx.session.get(RatableCase, case_id, with_for_update=True)
            if case is None:
                raise HTTPException(404, "no such case")
            if not case.tracking_code_hash or not hmac.compare_digest(case.tracking_code_hash,
                                                                      tracking_hash(body.tracking_code)):
                raise HTTPException(403, "the tracking code does not match this case")
            if case.state != "awaiting":
                raise HTTPException(409, "this case is not waiting for a rating" if case.state == "open"
                                    else "this case has already been rated")
            now, satisfied = clock.now(), is_satisfied(body.rating, body.resolved)
            tx.session.add(CitizenRating(case_id=case_id, generation=case.generation,
                                         branch_code=case.branch_code or "", rating=body.rating,
                                         resolved=body.resolved, satisfied=satisfied, comment=body.comment, at=now))
            case.state = "closed" if satisfied else "reopened"
            cid = uuid.UUID(case_id)
            common = {"case_id": cid, "correlation_id": uuid.UUID(case.correlation_id), "occurred_at": now,
                      "generation": case.generation}
            tx.emit(FeedbackRecorded(event_id=event_id_for(cid, "feedback", case.generation),
                                     branch_code=case.branch_code or "", rating=body.rating, resolved=body.resolved,
                                     satisfied=satisfied, comment=body.comment, **common))
            if satisfied:
                tx.emit(CaseClosed(event_id=event_id_for(cid, "closed", case.generation), **common))
            else:
                reason = "citizen says not resolved" if not body.resolved else f"citizen rated {body.rating}"
                tx.emit(CaseReopened(event_id=event_id_for(cid, "reopened", case.generation), reason=reason,
                                     **common))
            branch = case.branch_code or "none"
        metrics.feedback.labels(branch, str(satisfied).lower()).inc()
        return FeedbackOutcome(case_id=case_id, satisfied=satisfied, status="closed" if satisfied else "reopened")

    @router.post("/api/cases/{case_id}/evaluation", status_code=201,
                 responses={409: {"description": "Already evaluated, or not yet resolved."}})
    async def evaluate(case_id: str, body: EvaluationBody,
                       who: Annotated[Identity, Depends(context.auth.require("member"))]) -> dict[str, str]:
        async with uow.begin() as tx:
            case = await tx.session.get(RatableCase, case_id)
            if case is None:
                raise HTTPException(404, "no such case")
            if case.member_id != who.user_id:
                raise HTTPException(403, "only the member who resolved the case evaluates it")
            done = await tx.session.execute(select(MemberEvaluation.id).where(
                MemberEvaluation.case_id == case_id, MemberEvaluation.generation == case.generation))
            if done.first() is not None:
                raise HTTPException(409, "this case has already been evaluated")
            now, cid = clock.now(), uuid.UUID(case_id)
            tx.session.add(MemberEvaluation(case_id=case_id, generation=case.generation, member_id=who.user_id,
                                            rating=body.rating, comment=body.comment, at=now))
            tx.emit(MemberEvaluated(event_id=event_id_for(cid, "evaluated", case.generation), case_id=cid,
                                    correlation_id=uuid.UUID(case.correlation_id), occurred_at=now,
                                    generation=case.generation, member_id=who.user_id, rating=body.rating,
                                    comment=body.comment))
            branch = case.branch_code or "none"
        metrics.evaluations.labels(branch).inc()
        return {"case_id": case_id, "status": "evaluated"}

    return router
