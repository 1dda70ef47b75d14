"""What intake's gauges count, read from the case register with one grouped query each.

The report's per-branch counts are the rules of ``BranchLine.add`` written as SQL, so
Grafana divides the same numbers `appeal report` and the supervisor pages do; a test
holds the two to equal counts on both backends.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from services.intake.caseview import OPEN_STATUSES
from services.intake.store import Case

NO_BRANCH = "none"
AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("0-10m", timedelta(minutes=10)), ("10m-1h", timedelta(hours=1)), ("1h-1d", timedelta(days=1)),
    ("1d-7d", timedelta(days=7)), ("7d+", None))
"""Open cases by time since registration: each band up to its bound, the last beyond."""
WATCHED_STATUSES = ("dispatched", "claimed")


def measure_conditions() -> dict[str, ColumnElement[bool]]:
    """Each of ``MEASURES`` as the condition a case meets to count in it."""
    dispatched = col(Case.first_dispatched_at).is_not(None)
    conditions: dict[str, ColumnElement[bool]] = {
        "cases": true(),
        "dispatched": dispatched,
        "accepted_on_time": and_(dispatched, col(Case.seconds_to_accept).is_not(None),
                                 col(Case.accept_breached).is_(False)),
        "responded_on_time": and_(dispatched, col(Case.seconds_to_respond).is_not(None),
                                  col(Case.respond_breached).is_(False)),
        "resolved": and_(dispatched, col(Case.resolved).is_(True)),
        "rated": and_(dispatched, col(Case.satisfied).is_not(None)),
        "satisfied": and_(dispatched, col(Case.satisfied).is_(True)),
    }
    return conditions


async def outcome_counts(session: AsyncSession, starts: Mapping[str, datetime | None],
                         ) -> dict[tuple[str, str, str, str], int]:
    """(period, street, branch, measure) → cases, for the cases registered since each
    period's start (None: all), in one pass over the register. A case counts under the
    branch it is with now and that branch's street, or under its street's queue."""
    keys: list[tuple[str, str]] = []
    sums = []
    measures = measure_conditions()
    for period, start in starts.items():
        in_period = true() if start is None else col(Case.created_at) >= start
        for measure, condition in measures.items():
            keys.append((period, measure))
            sums.append(func.sum(case((and_(in_period, condition), 1), else_=0)))
    rows = await session.execute(select(col(Case.street_code), col(Case.branch_code), *sums)
                                 .group_by(col(Case.street_code), col(Case.branch_code)))
    return {(period, street or NO_BRANCH, branch or NO_BRANCH, measure): int(value or 0)
            for street, branch, *values in rows.all() for (period, measure), value in zip(keys, values, strict=True)}


async def running_near_deadline(session: AsyncSession, until: datetime) -> list[Any]:
    """Cases waiting to be claimed or responded to with a deadline before ``until``."""
    rows = await session.execute(
        select(col(Case.status), col(Case.accept_deadline), col(Case.respond_deadline), col(Case.suspended_until),
               col(Case.priority), col(Case.branch_code))
        .where(col(Case.status).in_(WATCHED_STATUSES),
               (col(Case.accept_deadline) <= until) | (col(Case.respond_deadline) <= until)))
    return list(rows.all())


async def street_queues(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(col(Case.street_code), func.count())
                                 .where(col(Case.status) == "escalated").group_by(col(Case.street_code)))
    return {street or NO_BRANCH: count for street, count in rows.all()}


async def open_cases_by_age(session: AsyncSession, now: datetime) -> dict[tuple[str, str], int]:
    """(branch, age band) → open cases."""
    band = case(*((col(Case.created_at) >= now - bound, name) for name, bound in AGE_BANDS if bound is not None),
                else_=AGE_BANDS[-1][0])
    rows = await session.execute(select(col(Case.branch_code), band, func.count())
                                 .where(col(Case.status).in_(OPEN_STATUSES)).group_by(col(Case.branch_code), band))
    return {(branch or NO_BRANCH, name): count for branch, name, count in rows.all()}
