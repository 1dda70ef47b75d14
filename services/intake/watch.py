"""What a street supervisor watches first: open cases past a deadline, then those the
clock has warned about. Pure, no I/O.

A case waiting to be claimed is watched against its accept deadline, a claimed one (and
one dispatched but not yet claimed, once accepting is late) against its respond
deadline; the earlier of those still running counts. It is "breaching" from the moment
the SLA clock warns — ``warn_at`` of the stage's term before the deadline, as the
district file sets per priority — which is also when a supervisor may hand it to another
branch (改派); extensions and suspensions move the deadline and the warning together.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from shared.district import SlaPolicy
from shared.events import Priority


@dataclass(frozen=True)
class Watched:
    stage: str
    """accept or respond: the deadline that counts."""
    deadline: datetime
    late: bool


def watched(status: str, accept_deadline: datetime | None, respond_deadline: datetime | None,
            suspended_until: datetime | None, policy: SlaPolicy, now: datetime) -> Watched | None:
    """The deadline a supervisor should see for a case, if it is past or has been warned about."""
    candidates = []
    if status == "dispatched" and accept_deadline is not None:
        candidates.append(("accept", accept_deadline, policy.accept))
    if status in ("dispatched", "claimed") and respond_deadline is not None and not (
            suspended_until is not None and suspended_until > now):
        candidates.append(("respond", respond_deadline, policy.respond))
    if not candidates:
        return None
    stage, deadline, term = min(candidates, key=lambda c: c[1])
    if now < deadline - (1 - policy.warn_at) * term:
        return None
    return Watched(stage, deadline, late=deadline <= now)


def warning_reach(policies: Iterable[SlaPolicy]) -> timedelta:
    """The longest a warning comes before its deadline: no case whose deadlines are all
    further away than this is watched."""
    return max((1 - p.warn_at) * term for p in policies for term in (p.accept, p.respond))


@dataclass(frozen=True)
class WatchCounts:
    soon: Counter[tuple[str, str]]
    """(stage, branch): cases warned about whose deadline has not passed."""
    late: Counter[tuple[str, str]]
    """(stage, branch): cases past the deadline that counts."""


def count_watched(cases: Iterable[Any], policies: Mapping[Priority, SlaPolicy], now: datetime) -> WatchCounts:
    """Cases (with status, deadlines, suspended_until, priority and branch_code) counted by
    the deadline a supervisor would see them under."""
    counts = WatchCounts(Counter(), Counter())
    for case in cases:
        seen = watched(case.status, case.accept_deadline, case.respond_deadline, case.suspended_until,
                       policies[cast(Priority, case.priority)], now)
        if seen is not None:
            (counts.late if seen.late else counts.soon)[seen.stage, case.branch_code or "none"] += 1
    return counts
