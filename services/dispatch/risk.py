"""Whether the dispatch in force is breaching or has breached its SLA: pure, no I/O.

A supervisor hands a case on (改派) only while it waits in the street's queue or its
dispatch is at risk: a warning was raised for a stage it has not met yet, and no
extension or suspension has moved that deadline since; or a deadline of this dispatch
was missed. What says so arrives on two topics (warnings and extensions from sla;
claims, responses, suspensions and breaches from claim), in any order. So every fact
kept here is order-independent: stages met and breached are unions, the deadline each
warning was for a maximum, and the moves of each deadline a sum of amounts.
"""

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from shared.events import (
    CaseDispatched,
    Envelope,
    SlaBreached,
    SlaExtended,
    SlaStage,
    SlaWarning,
    TaskClaimed,
    TaskResponded,
    TaskResumed,
    TaskSuspended,
)

TOLERANCE = timedelta(seconds=1)
"""Moves are summed from float seconds; a warning within this of the deadline is for it."""
WATCHED = (SlaWarning, SlaExtended, SlaBreached, TaskClaimed, TaskResponded, TaskSuspended, TaskResumed)
"""The events that change a dispatch's standing."""


class Standing(BaseModel):
    model_config = ConfigDict(frozen=True)

    generation: int = 0
    deadlines: dict[SlaStage, datetime] = {}
    """As dispatched."""
    moved_seconds: dict[SlaStage, float] = {}
    """By extensions and suspensions since (a resume moves back)."""
    warned_for: dict[SlaStage, datetime] = {}
    """The latest deadline a warning was raised for."""
    met: frozenset[SlaStage] = frozenset()
    breached: frozenset[SlaStage] = frozenset()

    def deadline(self, stage: SlaStage) -> datetime | None:
        dispatched = self.deadlines.get(stage)
        return None if dispatched is None else dispatched + timedelta(seconds=self.moved_seconds.get(stage, 0.0))

    def breaching(self) -> bool:
        """A warning stands for a stage not met, for the deadline as it is now."""
        for stage, warned in self.warned_for.items():
            deadline = self.deadline(stage)
            if stage not in self.met and (deadline is None or warned >= deadline - TOLERANCE):
                return True
        return False

    def at_risk(self) -> bool:
        return bool(self.breached) or self.breaching()


def dispatched(event: CaseDispatched) -> Standing:
    return Standing(generation=event.generation,
                    deadlines={SlaStage.ACCEPT: event.accept_deadline, SlaStage.RESPOND: event.respond_deadline})


def standing_after(standing: Standing, event: Envelope) -> Standing:
    """The standing with ``event`` taken in; events of another generation change nothing."""
    if getattr(event, "generation", None) != standing.generation:
        return standing
    if isinstance(event, SlaWarning):
        latest = max(standing.warned_for.get(event.stage, event.deadline), event.deadline)
        return standing.model_copy(update={"warned_for": {**standing.warned_for, event.stage: latest}})
    if isinstance(event, SlaExtended):
        return _moved(standing, event.stage, event.extended_by_seconds)
    if isinstance(event, TaskSuspended):
        return _moved(standing, SlaStage.RESPOND, event.suspended_seconds)
    if isinstance(event, TaskResumed):
        return _moved(standing, SlaStage.RESPOND, -event.unused_seconds)
    if isinstance(event, SlaBreached):
        return standing.model_copy(update={"breached": standing.breached | {event.stage}})
    if isinstance(event, TaskClaimed):
        return standing.model_copy(update={"met": standing.met | {SlaStage.ACCEPT}})
    if isinstance(event, TaskResponded):
        return standing.model_copy(update={"met": standing.met | set(SlaStage)})
    return standing


def _moved(standing: Standing, stage: SlaStage, seconds: float) -> Standing:
    moved = {**standing.moved_seconds, stage: standing.moved_seconds.get(stage, 0.0) + seconds}
    return standing.model_copy(update={"moved_seconds": moved})
