"""Turning a routing decision into a new dispatch generation and its event."""

import uuid
from datetime import datetime
from typing import Any

from services.dispatch.deadlines import deadlines_for
from services.dispatch.risk import Standing, dispatched
from services.dispatch.routing import Target
from services.dispatch.store import ACTIVE, Assignment
from shared.events import CaseDispatched, CaseEscalated, DispatchReason, event_id_for


def next_generation(assignment: Assignment, target: Target, reason: DispatchReason, now: datetime, *,
                    reassigned_by: str | None = None,
                    reassign_reason: str | None = None) -> CaseDispatched | CaseEscalated:
    """A branch dispatch takes its deadlines from the escalation frozen on the case, and
    starts its SLA standing afresh."""
    assignment.generation += 1
    assignment.street_code = target.street_code
    assignment.branch_code = target.branch_code
    assignment.updated_at = now
    case_id = uuid.UUID(assignment.case_id)
    common: dict[str, Any] = {"case_id": case_id, "correlation_id": uuid.UUID(assignment.correlation_id),
                              "occurred_at": now, "generation": assignment.generation}
    summary = assignment.case_summary
    if target.is_street_queue:
        assignment.state = "escalated"
        assignment.stand(Standing(generation=assignment.generation))
        return CaseEscalated(event_id=event_id_for(case_id, "escalated", assignment.generation),
                             street_code=target.street_code, reason=reason, summary=summary, **common)
    assignment.state = ACTIVE
    assert target.branch_code is not None and target.community_code is not None, "a branch target names both"
    deadlines = deadlines_for(assignment.escalation_in_force(), now)
    event = CaseDispatched(
        event_id=event_id_for(case_id, "dispatched", assignment.generation), branch_code=target.branch_code,
        community_code=target.community_code, street_code=target.street_code, reason=reason,
        accept_deadline=deadlines.accept, respond_deadline=deadlines.respond, warn_at=deadlines.warn_at,
        suspend_limit_seconds=deadlines.suspend_limit.total_seconds(), summary=summary,
        reassigned_by=reassigned_by, reassign_reason=reassign_reason, **common,
    )
    assignment.stand(dispatched(event))
    return event
