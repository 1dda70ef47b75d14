"""Both sides of the rating (双向评单), each one transaction: the citizen's rating closes
or reopens the case; the member who resolved it evaluates it."""

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from services.feedback.rating import is_satisfied
from services.feedback.store import CitizenRating, MemberEvaluation, RatableCase
from shared.auth import Identity
from shared.errors import Refused
from shared.events import CaseClosed, CaseReopened, FeedbackRecorded, MemberEvaluated, event_id_for
from shared.idempotency import Transaction
from shared.privacy import tracking_hash


@dataclass(frozen=True)
class CitizenVerdict:
    rating: int
    resolved: bool
    comment: str | None


@dataclass(frozen=True)
class Rated:
    satisfied: bool
    branch_code: str


async def rate(tx: Transaction, case_id: str, tracking_code: str, verdict: CitizenVerdict, now: datetime) -> Rated:
    """Record the citizen's rating; a satisfied citizen closes the case, any other reopens it."""
    case = await tx.session.get(RatableCase, case_id, with_for_update=True)
    if case is None:
        raise Refused(404, "no such case")
    if not case.tracking_code_hash or not hmac.compare_digest(case.tracking_code_hash, tracking_hash(tracking_code)):
        raise Refused(403, "the tracking code does not match this case")
    if case.state != "awaiting":
        raise Refused(409, "this case is not waiting for a rating" if case.state == "open"
                      else "this case has already been rated")
    satisfied = is_satisfied(verdict.rating, verdict.resolved)
    branch_code = case.branch_code or ""
    tx.session.add(CitizenRating(case_id=case_id, generation=case.generation, branch_code=branch_code,
                                 rating=verdict.rating, resolved=verdict.resolved, satisfied=satisfied,
                                 comment=verdict.comment, at=now))
    case.state = "closed" if satisfied else "reopened"
    cid = uuid.UUID(case_id)
    common: dict[str, Any] = {"case_id": cid, "correlation_id": uuid.UUID(case.correlation_id), "occurred_at": now,
                              "generation": case.generation}
    tx.emit(FeedbackRecorded(event_id=event_id_for(cid, "feedback", case.generation), branch_code=branch_code,
                             rating=verdict.rating, resolved=verdict.resolved, satisfied=satisfied,
                             comment=verdict.comment, **common))
    if satisfied:
        tx.emit(CaseClosed(event_id=event_id_for(cid, "closed", case.generation), **common))
    else:
        reason = "citizen says not resolved" if not verdict.resolved else f"citizen rated {verdict.rating}"
        tx.emit(CaseReopened(event_id=event_id_for(cid, "reopened", case.generation), reason=reason, **common))
    return Rated(satisfied, branch_code)


async def evaluate(tx: Transaction, case_id: str, who: Identity, rating: int, comment: str | None,
                   now: datetime) -> str:
    """Record the member's evaluation of the case, once per dispatch; the branch code."""
    case = await tx.session.get(RatableCase, case_id)
    if case is None:
        raise Refused(404, "no such case")
    if case.member_id != who.user_id:
        raise Refused(403, "only the member who resolved the case evaluates it")
    done = await tx.session.execute(select(col(MemberEvaluation.id)).where(
        col(MemberEvaluation.case_id) == case_id, col(MemberEvaluation.generation) == case.generation))
    if done.first() is not None:
        raise Refused(409, "this case has already been evaluated")
    tx.session.add(MemberEvaluation(case_id=case_id, generation=case.generation, member_id=who.user_id,
                                    rating=rating, comment=comment, at=now))
    cid = uuid.UUID(case_id)
    tx.emit(MemberEvaluated(event_id=event_id_for(cid, "evaluated", case.generation), case_id=cid,
                            correlation_id=uuid.UUID(case.correlation_id), occurred_at=now,
                            generation=case.generation, member_id=who.user_id, rating=rating, comment=comment))
    return case.branch_code or ""
