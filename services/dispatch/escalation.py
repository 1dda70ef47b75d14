"""The escalation policy a case carries: the branches of its street an unaccepted case
moves through, how many times, and the SLA terms of each of those dispatches.

Frozen onto the case when a chain of dispatches starts (first dispatch, after a return,
after a reopen), so an edit to the district file, which a service takes up when it
restarts, never changes a case in flight.
"""

from pydantic import BaseModel, ConfigDict

from shared.district import District
from shared.events import Priority


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True)

    street_code: str
    branches: tuple[tuple[str, str], ...]
    """(branch code, community code) of every branch of the street, in the district's order."""
    loops: int
    accept_seconds: float
    respond_seconds: float
    warn_at: float
    suspend_limit_seconds: float


def escalation_for(street_code: str, priority: Priority, district: District) -> Escalation:
    street = district.street_by_code[street_code]
    policy = district.sla[priority]
    return Escalation(
        street_code=street_code, branches=tuple((c.branch.code, c.code) for c in street.communities),
        loops=district.escalation_loops, accept_seconds=policy.accept.total_seconds(),
        respond_seconds=policy.respond.total_seconds(), warn_at=policy.warn_at,
        suspend_limit_seconds=policy.suspend_limit.total_seconds(),
    )
