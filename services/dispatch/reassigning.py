"""Reassigning a case (改派) in one transaction: the case is read without a lock, decided
on, and taken to its next generation only if it is still as read (``store.advance``), so
two supervisors at once, or a supervisor racing a return, an expiry or a resolve, never
make two dispatches of one generation nor hand on a case that has just been resolved."""

import structlog

from services.dispatch import store
from services.dispatch.dispatcher import next_generation
from services.dispatch.escalation import escalation_for
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.reassignment import reassignment_target
from shared.auth import Identity
from shared.clock import Clock
from shared.district import District
from shared.errors import Refused
from shared.events import CaseDispatched
from shared.idempotency import UnitOfWork

log = structlog.get_logger()
KEPT = {"case_id", "correlation_id", "summary", "refused_by"}


class Reassigning:
    def __init__(self, uow: UnitOfWork, district: District, clock: Clock, metrics: DispatchMetrics) -> None:
        self.uow = uow
        self.district = district
        self.clock = clock
        self.metrics = metrics

    async def reassign(self, case_id: str, who: Identity, branch_code: str,
                       reason: str | None = None) -> CaseDispatched:
        """Hand the case to ``branch_code`` as a new dispatch with fresh deadlines; raises
        ``Refused`` (404, 403, 409, 422 naming ``body.branch_code``) as ``reassignment`` says."""
        async with self.uow.begin() as tx:
            assignment = await store.current(tx.session, case_id)
            if assignment is None:
                raise Refused(404, "no such case in dispatch")
            target = reassignment_target(assignment, branch_code, who, self.district)
            # Decided on a copy: the row changes only through the conditional UPDATE below.
            draft = store.Assignment(**assignment.model_dump())
            # A supervisor's choice starts a chain of its own, under the new branch's street.
            draft.freeze(escalation_for(target.street_code, draft.case_summary.priority, self.district))
            draft.hops = 0
            event = next_generation(draft, target, "reassigned", self.clock.now(), reassigned_by=who.user_id,
                                    reassign_reason=reason or None)
            assert isinstance(event, CaseDispatched), "a reassignment names a branch"
            if not await store.advance(tx.session, assignment, draft.model_dump(exclude=KEPT)):
                raise Refused(409, "the case moved on meanwhile (reassigned by someone else, returned, expired, "
                                   "resolved or answered); look at it again")
            tx.emit(event)
        self.metrics.dispatched.labels(event.branch_code).inc()
        self.metrics.reassigned.labels(event.branch_code).inc()
        log.info("case_reassigned", case_id=case_id, branch=event.branch_code, generation=event.generation,
                 supervisor=who.user_id)
        return event
