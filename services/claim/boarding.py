"""What a batch of dispatches does to the board: pure, no I/O.

A case has one task row, for its latest dispatch generation. A dispatch of a higher
generation replaces the row whole (new deadlines, nobody holding it, no clock marks), an
escalation replaces it with an entry in the street's queue and tells the street's
supervisors, and anything of the same or a lower generation (a repeat, a stale copy)
changes nothing. A batch leaves the rows, and emits the notices in the order, that
handling its events one after another would.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.claim.tasks import TaskStatus
from shared.events import CaseDispatched, CaseEscalated, DispatchEvent, SupervisorNotified, event_id_for

SUSPEND_LIMIT_SECONDS = 86_400.0
"""A task's allowance before any dispatch has set one."""


@dataclass(frozen=True)
class Boarded:
    """What a dispatch reads of a case's task row."""

    generation: int
    branch_code: str | None
    suspend_limit_seconds: float


@dataclass
class Boarding:
    """The rows a batch writes, as column values, by case id."""

    added: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cases without a row before the batch."""
    replaced: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[SupervisorNotified] = field(default_factory=list)
    dispatched: list[tuple[str, int]] = field(default_factory=list)
    """(case, generation) of each dispatch that took effect: its early extensions are used up,
    even when a later event of the batch replaced it again."""

    def extend(self, early: Mapping[tuple[str, int], Mapping[str, timedelta]]) -> None:
        """Move the deadlines of the rows by the extensions their dispatch found waiting."""
        for rows in (self.added, self.replaced):
            for case_id, row in rows.items():
                by = early.get((case_id, row["generation"]))
                if by and row["status"] == TaskStatus.OPEN:
                    row["accept_deadline"] += by.get("accept", timedelta(0))
                    row["respond_deadline"] += by.get("respond", timedelta(0))


def board(events: Sequence[DispatchEvent], before: Mapping[str, Boarded]) -> Boarding:
    """``before``: the rows of the batch's cases as they are, missing for a case with none."""
    boarding = Boarding()
    current = dict(before)
    for event in events:
        case_id = str(event.case_id)
        task = current.get(case_id)
        if task is not None and task.generation >= event.generation:
            continue
        if isinstance(event, CaseDispatched):
            boarding.dispatched.append((case_id, event.generation))
        else:
            boarding.notices.append(street_queue_notice(event, task))
        row = replacement(event, task)
        if case_id in before:
            boarding.replaced[case_id] = row
        else:
            # The first event of a new case creates its row, naming the correlation; later ones replace the rest.
            created = boarding.added.get(case_id) or {"case_id": case_id, "correlation_id": str(event.correlation_id),
                                                      "revision": 0}
            boarding.added[case_id] = created | row
        current[case_id] = Boarded(event.generation, row["branch_code"], row["suspend_limit_seconds"])
    return boarding


def replacement(event: DispatchEvent, task: Boarded | None) -> dict[str, Any]:
    """Every column a dispatch sets: none of the previous generation's moves survive it."""
    common: dict[str, Any] = {"generation": event.generation, "street_code": event.street_code, "member_id": None,
                              "summary": event.summary.model_dump_json(), "dispatched_at": event.occurred_at,
                              "claimed_at": None, "responded_at": None, "resolved_at": None, "note": None,
                              "warning": None, "suspended_at": None, "suspended_until": None, "suspensions": 0,
                              "suspend_used_seconds": 0.0, "urge_count": 0, "urged_at": None, "urge_note": None}
    if isinstance(event, CaseDispatched):
        return common | {"branch_code": event.branch_code, "status": TaskStatus.OPEN,
                         "accept_deadline": event.accept_deadline, "respond_deadline": event.respond_deadline,
                         "suspend_limit_seconds": event.suspend_limit_seconds}
    return common | {"branch_code": None, "status": TaskStatus.ESCALATED, "accept_deadline": None,
                     "respond_deadline": None,
                     "suspend_limit_seconds": task.suspend_limit_seconds if task else SUSPEND_LIMIT_SECONDS}


def street_queue_notice(event: CaseEscalated, task: Boarded | None) -> SupervisorNotified:
    return SupervisorNotified(
        event_id=event_id_for(event.case_id, "street_queue_notified", event.generation), case_id=event.case_id,
        correlation_id=event.correlation_id, occurred_at=event.occurred_at, generation=event.generation,
        street_code=event.street_code, branch_code=(task.branch_code if task else None) or "",
        reason="street_queue", escalation_reason=event.reason)
