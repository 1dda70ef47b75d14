"""Both SLA deadlines count from dispatch, by the terms frozen on the case."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.dispatch.escalation import Escalation


@dataclass(frozen=True)
class Deadlines:
    accept: datetime
    respond: datetime
    warn_at: float
    suspend_limit: timedelta


def deadlines_for(terms: Escalation, dispatched_at: datetime) -> Deadlines:
    return Deadlines(dispatched_at + timedelta(seconds=terms.accept_seconds),
                     dispatched_at + timedelta(seconds=terms.respond_seconds), terms.warn_at,
                     timedelta(seconds=terms.suspend_limit_seconds))
