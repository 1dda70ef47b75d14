"""The supervisor's actions live in the services that own them (改派 in dispatch, 督办 in
claim, 延期 in sla); each sends the supervisor back to the street overview with the
outcome, which the overview puts in words. Only known outcomes are shown, so nothing a
link carries is echoed back as text."""

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from shared.errors import Refused

OVERVIEW = "/supervisor"
OUTCOMES: dict[tuple[str, int], str] = {
    ("reassign", 200): "已改派，新的承办支部重新计时。",
    ("reassign", 403): "改派失败：这个案件不归您的街道。",
    ("reassign", 404): "改派失败：找不到这个案件。",
    ("reassign", 409): "改派失败：案件已办结、已在该支部，或尚未到超时预警。",
    ("reassign", 422): "改派失败：请选择承办支部。",
    ("urge", 200): "已督办，承办支部的任务板上会醒目显示。",
    ("urge", 403): "督办失败：这个案件不归您的街道。",
    ("urge", 404): "督办失败：找不到这个任务。",
    ("urge", 409): "督办失败：任务已不在办理中。",
    ("urge", 422): "督办失败：督办意见太长。",
    ("extension", 200): "已延期，承办支部的时限已顺延。",
    ("extension", 403): "延期失败：这个案件不归您的街道。",
    ("extension", 404): "延期失败：这个案件不在计时中。",
    ("extension", 409): "延期失败：该时限已过或已结束。",
    ("extension", 422): "延期失败：请选择延期时长并填写原因。",
}


def back_to_overview(action: str, status: int, case_no: str, street: str | None = None) -> RedirectResponse:
    query = {"action": action, "outcome": status, "case": case_no[:40]}
    if street:
        query["street"] = street
    return RedirectResponse(f"{OVERVIEW}?{urlencode(query)}", status_code=303)


def outcome_words(action: str | None, status: int | None) -> str | None:
    return OUTCOMES.get((action or "", status or 0))


async def act_and_go_back(action: str, case_no: str, street: str,
                          perform: Callable[[], Awaitable[object]]) -> RedirectResponse:
    """Run a supervisor's action (its form checked inside ``perform``) and return to the
    overview saying how it went: a form that does not validate is a 422, a refusal its status."""
    try:
        await perform()
    except ValidationError:
        return back_to_overview(action, 422, case_no, street)
    except Refused as refusal:
        return back_to_overview(action, refusal.status, case_no, street)
    return back_to_overview(action, 200, case_no, street)
