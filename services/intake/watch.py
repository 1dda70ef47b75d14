"""What a street supervisor watches first: open cases past a deadline, then those the
clock has warned about. Pure, no I/O.

A case waiting to be claimed is watched against its accept deadline, a claimed one (and
one dispatched but not yet claimed, once accepting is late) against its respond
deadline; the earlier of those still running counts. It is "breaching" from the moment
the SLA clock warns — ``warn_at`` of the stage's term before the deadline, as the
district file sets per priority — which is also when a supervisor may hand it to another
branch (改派); extensions and suspensions move the deadline and the warning together.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.district import SlaPolicy


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
