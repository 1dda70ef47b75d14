"""What a citizen sees of their own case: pure, no I/O.

The status and a timeline in plain words, and the resolution note the member wrote for
them. Nothing internal: no member ids, no members' notes or reasons, no SLA bookkeeping,
no evaluation of the citizen, no hashes. Events a citizen has no use for are left out.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.district import District
from shared.web.words import STATUS_TEXT


@dataclass(frozen=True)
class TimelineFact:
    type: str
    at: datetime
    details: dict[str, Any]


def _dispatched(district: District, details: dict[str, Any]) -> str:
    community = district.community_by_branch.get(details.get("branch_code") or "")
    verb = "已改派" if details.get("reason") == "reassigned" else "已派单"
    return f"{verb}至{community.branch.name}" if community else verb


def _escalated(district: District, details: dict[str, Any]) -> str:
    street = district.street_by_code.get(details.get("street_code") or "")
    return f"已转{street.name}协调处理" if street else "已转街道协调处理"


def _rated(_district: District, details: dict[str, Any]) -> str:
    return f"您已评价：{details.get('rating')}星"


PLAIN_WORDS: dict[str, Callable[[District, dict[str, Any]], str]] = {
    "case.registered": lambda _d, _f: "诉求已受理",
    "case.dispatched": _dispatched,
    "case.escalated": _escalated,
    "task.claimed": lambda _d, _f: "党员已接单",
    "task.responded": lambda _d, _f: "党员已与您联系",
    "task.returned": lambda _d, _f: "正在重新派单",
    "task.suspended": lambda _d, _f: "暂时联系不上您，办理时限暂停",
    "task.resumed": lambda _d, _f: "继续办理",
    "task.urged": lambda _d, _f: "已督办，正在加快办理",
    "sla.extended": lambda _d, _f: "办理时限已延长",
    "task.resolved": lambda _d, _f: "已办结，请您评价",
    "feedback.recorded": _rated,
    "case.reopened": lambda _d, _f: "已重新办理",
    "case.closed": lambda _d, _f: "已结案",
    "project.linked": lambda _d, f: f"已纳入志愿服务项目「{f.get('title')}」",
}
"""Event types a citizen sees, in words; anything not named here stays internal."""


@dataclass(frozen=True)
class PublicStep:
    at: datetime
    text: str


@dataclass(frozen=True)
class PublicCase:
    case_no: str
    status: str
    status_text: str
    category_name: str
    registered_at: datetime
    resolution: str | None
    can_rate: bool
    timeline: list[PublicStep]


def public_case(*, case_no: str, status: str, category: str, registered_at: datetime,
                facts: Iterable[TimelineFact], district: District) -> PublicCase:
    steps, resolution = [], None
    for fact in sorted(facts, key=lambda f: f.at):
        words = PLAIN_WORDS.get(fact.type)
        if words is None:
            continue
        steps.append(PublicStep(fact.at, words(district, fact.details)))
        if fact.type == "task.resolved":
            resolution = fact.details.get("note") or None
        elif fact.type == "case.reopened":
            resolution = None
    known = district.category_by_code.get(category)
    return PublicCase(case_no=case_no, status=status, status_text=STATUS_TEXT.get(status, status),
                      category_name=known.name if known else category, registered_at=registered_at,
                      resolution=resolution, can_rate=status == "resolved", timeline=steps)
