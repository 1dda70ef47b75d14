"""When failed attempts block a key: pure decisions, no I/O, no clock of their own.

The rule: failures are counted in a window that opens at the first failure and lasts
``limit.window``; the failure that reaches ``limit.failures`` blocks the key for one more
window from that moment. While blocked, attempts are refused before they are checked, so
they neither count nor lengthen the block. When the block or the window ends, the count
starts from nothing. On average a key gets at most ``limit.failures`` tries per window.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Scope(StrEnum):
    """What a counter is kept for; also the ``scope`` label of ``appeal_throttled_total``."""

    LOGIN_USER = "login_user"
    LOGIN_ADDRESS = "login_address"
    TRACKING_CASE = "tracking_case"
    TRACKING_ADDRESS = "tracking_address"

    @property
    def is_address(self) -> bool:
        return self in (Scope.LOGIN_ADDRESS, Scope.TRACKING_ADDRESS)


@dataclass(frozen=True)
class Limit:
    failures: int
    window: timedelta


_FIFTEEN_MINUTES = timedelta(minutes=15)

LIMITS = {
    Scope.LOGIN_USER: Limit(5, _FIFTEEN_MINUTES),
    Scope.LOGIN_ADDRESS: Limit(20, _FIFTEEN_MINUTES),
    Scope.TRACKING_CASE: Limit(10, _FIFTEEN_MINUTES),
    Scope.TRACKING_ADDRESS: Limit(30, _FIFTEEN_MINUTES),
}
"""An address gets more tries than a user or a case: an office or a mobile carrier puts
many honest people behind one address."""


@dataclass(frozen=True)
class Tally:
    """The failures of one key; it means nothing from ``resets_at`` on."""

    failures: int
    resets_at: datetime
    blocked: bool = False


def after_failure(tally: Tally | None, limit: Limit, now: datetime) -> Tally:
    current = tally if tally is not None and now < tally.resets_at else Tally(0, now + limit.window)
    failures = current.failures + 1
    if failures >= limit.failures:
        return Tally(failures, now + limit.window, blocked=True)
    return Tally(failures, current.resets_at)


def blocked_until(tally: Tally | None, now: datetime) -> datetime | None:
    """None while attempts are allowed."""
    if tally is not None and tally.blocked and now < tally.resets_at:
        return tally.resets_at
    return None


def retry_after_seconds(until: datetime, now: datetime) -> int:
    """For the ``Retry-After`` header: whole seconds, rounded up so a client that waits
    exactly that long is let in, and never 0."""
    return max(1, math.ceil((until - now).total_seconds()))
