"""Both SLA deadlines count from dispatch, by the case's priority."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.district import District


@dataclass(frozen=True)
class Deadlines:
    accept: datetime
    respond: datetime
    warn_at: float
    suspend_limit: timedelta


def deadlines_for(priority: str, dispatched_at: datetime, district: District) -> Deadlines:
    policy = district.sla[priority]  # type: ignore[index]
    return Deadlines(dispatched_at + policy.accept, dispatched_at + policy.respond, policy.warn_at,
                     policy.suspend_limit)
