"""A case's timeline in words for staff: who did what, with their notes. Pure, no I/O.

The citizen's version (``public.py``) leaves out people and notes; this one names them.
An event type without words here is shown by its type, so nothing on the timeline hides.
"""

from collections.abc import Callable
from typing import Any

from shared.district import District

STAGE_WORDS = {"accept": "接单", "respond": "响应"}
DISPATCH_REASON_WORDS = {"initial": "", "returned": "（退单后重派）", "expired": "（超时未接单，重新派单）",
                         "reopened": "（群众不满意，重办）", "reassigned": "（街道改派）"}

Words = Callable[[District, dict[str, Any]], str]


def _person(district: District, person_id: str | None) -> str:
    person = district.person_by_id.get(person_id or "")
    return f"{person.name}（{person_id}）" if person else (person_id or "")


def _branch(district: District, details: dict[str, Any]) -> str:
    community = district.community_by_branch.get(details.get("branch_code") or "")
    return community.branch.name if community else (details.get("branch_code") or "")


def _street(district: District, details: dict[str, Any]) -> str:
    street = district.street_by_code.get(details.get("street_code") or "")
    return street.name if street else (details.get("street_code") or "")


def _with(text: str, note: object) -> str:
    return f"{text}：{note}" if note else text


STAFF_WORDS: dict[str, Words] = {
    "case.registered": lambda d, f: "登记受理",
    "case.dispatched": lambda d, f: f"派单至{_branch(d, f)}{DISPATCH_REASON_WORDS.get(f.get('reason') or '', '')}",
    "case.escalated": lambda d, f: _with(f"升级至{_street(d, f)}街道队列", f.get("reason")),
    "task.claimed": lambda d, f: f"{_person(d, f.get('member_id'))}接单",
    "task.responded": lambda d, f: _with(f"{_person(d, f.get('member_id'))}已联系群众", f.get("note")),
    "task.resolved": lambda d, f: _with(f"{_person(d, f.get('member_id'))}办结", f.get("note")),
    "task.returned": lambda d, f: _with(f"{_person(d, f.get('member_id'))}退单", f.get("reason")),
    "task.suspended": lambda d, f: _with(f"{_person(d, f.get('member_id'))}挂起", f.get("reason")),
    "task.resumed": lambda d, f: f"{_person(d, f.get('member_id'))}恢复办理",
    "task.expired": lambda d, f: f"{_branch(d, f)}超时未接单",
    "task.urged": lambda d, f: _with(f"{_person(d, f.get('supervisor_id'))}督办", f.get("note")),
    "sla.warning": lambda d, f: f"{STAGE_WORDS.get(f.get('stage') or '', '')}时限即将到期",
    "sla.deadline_reached": lambda d, f: f"{STAGE_WORDS.get(f.get('stage') or '', '')}时限已到",
    "sla.breached": lambda d, f: f"{STAGE_WORDS.get(f.get('stage') or '', '')}超时",
    "sla.extended": lambda d, f: _with(f"{_person(d, f.get('supervisor_id'))}批准延期"
                                       f"（{STAGE_WORDS.get(f.get('stage') or '', '')}）", f.get("reason")),
    "supervisor.notified": lambda d, f: f"已通知{_street(d, f)}督办",
    "feedback.recorded": lambda d, f: _with(f"群众评价{f.get('rating')}星，"
                                            f"{'满意' if f.get('satisfied') else '不满意'}", f.get("comment")),
    "member.evaluated": lambda d, f: _with(f"{_person(d, f.get('member_id'))}评价本案{f.get('rating')}星",
                                           f.get("comment")),
    "case.closed": lambda d, f: "结案",
    "case.reopened": lambda d, f: _with("重新办理", f.get("reason")),
    "project.linked": lambda d, f: f"{_person(d, f.get('publisher_id'))}将本案纳入志愿服务项目"
                                   f"{f.get('project_no')}「{f.get('title')}」",
}


def describe(event_type: str, details: dict[str, Any], district: District) -> str:
    words = STAFF_WORDS.get(event_type)
    return words(district, details) if words else event_type
