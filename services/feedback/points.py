"""Volunteer points (积分): which ledger entries a project's events earn, the calendar
periods the boards count over, and ranking. Pure: no I/O, no clock.

The rules, each entry keyed by (member, project, reason) so it is credited once:

- a confirmed completion earns the member the points the confirmation carries (``completion``);
- once the residents served rate the project good (``good_rating`` or more), every member
  with a confirmed completion earns ``good_evaluation_bonus`` (``good_evaluation``),
  whether the good rating or the confirmation came first;
- a withdrawal after the claim cut-off costs ``late_withdrawal`` (``late_withdrawal``);
- an entry of zero points is not written: the ledger holds only what moves a balance.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar

from shared.clock import LOCAL_TIME
from shared.district import PointsRules


class Reason(StrEnum):
    COMPLETION = "completion"
    GOOD_EVALUATION = "good_evaluation"
    LATE_WITHDRAWAL = "late_withdrawal"


REASON_WORDS = {Reason.COMPLETION: "完成志愿服务", Reason.GOOD_EVALUATION: "群众好评加分",
                Reason.LATE_WITHDRAWAL: "截止后退出"}


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    ALL = "all"


PERIOD_WORDS = {Period.WEEK: "本周", Period.MONTH: "本月", Period.YEAR: "本年", Period.ALL: "累计"}


@dataclass(frozen=True)
class Credit:
    """One ledger entry to write."""

    member_id: str
    branch_code: str
    street_code: str
    reason: Reason
    points: int


@dataclass(frozen=True)
class Completion:
    """A member's confirmed completion of a project, as the feedback service keeps it."""

    member_id: str
    branch_code: str
    street_code: str


def completion_credits(completion: Completion, points: int, *, good_evaluation: bool,
                       rules: PointsRules) -> list[Credit]:
    """The confirmation's own points, and the bonus if the project is already rated good."""
    credits = [_credit(completion, Reason.COMPLETION, points)]
    if good_evaluation:
        credits.append(_credit(completion, Reason.GOOD_EVALUATION, rules.good_evaluation_bonus))
    return [credit for credit in credits if credit.points]


def is_good(rating: int, rules: PointsRules) -> bool:
    return rating >= rules.good_rating


def bonus_credits(completions: Iterable[Completion], rules: PointsRules) -> list[Credit]:
    """The first good evaluation: the bonus for everyone confirmed so far (a repeat is
    harmless, the ledger's key drops it)."""
    if not rules.good_evaluation_bonus:
        return []
    return [_credit(c, Reason.GOOD_EVALUATION, rules.good_evaluation_bonus) for c in completions]


def late_withdrawal_credits(member: Completion, late: bool, rules: PointsRules) -> list[Credit]:
    if not late or not rules.late_withdrawal:
        return []
    return [_credit(member, Reason.LATE_WITHDRAWAL, rules.late_withdrawal)]


def _credit(member: Completion, reason: Reason, points: int) -> Credit:
    return Credit(member.member_id, member.branch_code, member.street_code, reason, points)


def period_start(period: Period, now: datetime) -> datetime | None:
    """Where the period that holds ``now`` began, in UTC: local Monday 00:00, the 1st of the
    month, 1 January; None for all time."""
    if period is Period.ALL:
        return None
    today = now.astimezone(LOCAL_TIME).date()
    if period is Period.WEEK:
        first = today - timedelta(days=today.weekday())
    elif period is Period.MONTH:
        first = today.replace(day=1)
    else:
        first = today.replace(month=1, day=1)
    return datetime.combine(first, time(), LOCAL_TIME).astimezone(UTC)


T = TypeVar("T")


def ranked(items: Sequence[T], points: Callable[[T], int]) -> list[tuple[int, T]]:
    """Most points first; equal points share a rank and the next rank skips (1, 1, 3)."""
    ordered = sorted(items, key=points, reverse=True)
    ranks: list[tuple[int, T]] = []
    for position, item in enumerate(ordered, start=1):
        same = ranks and points(ranks[-1][1]) == points(item)
        ranks.append((ranks[-1][0] if same else position, item))
    return ranks
