"""The supervisor's actions live in the services that own them (改派 in dispatch, 督办 in
claim, 延期 in sla); each sends the supervisor back to the street overview or the case
page with the outcome, which that page puts in words. Only known outcomes are shown, so nothing a
link carries is echoed back as text."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Form
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


@dataclass(frozen=True)
class Origin:
    """Where an action's form was sent from, to go back there: the overview (of a street,
    for the command center) or the case's own page (``back`` = "case")."""

    case_no: str = ""
    street: str = ""
    back: str = ""

    def redirect(self, action: str, status: int) -> RedirectResponse:
        query: dict[str, str | int] = {"action": action, "outcome": status}
        if self.back == "case" and self.case_no:
            return RedirectResponse(f"/cases/{quote(self.case_no)}?{urlencode(query)}", status_code=303)
        query["case"] = self.case_no
        if self.street:
            query["street"] = self.street
        return RedirectResponse(f"{OVERVIEW}?{urlencode(query)}", status_code=303)


def action_origin(case_no: Annotated[str, Form(max_length=40)] = "",
                  street: Annotated[str, Form(max_length=32)] = "",
                  back: Annotated[str, Form(max_length=8)] = "") -> Origin:
    return Origin(case_no, street, back)


OriginDep = Annotated[Origin, Depends(action_origin)]


def outcome_words(action: str | None, status: int | None) -> str | None:
    return OUTCOMES.get((action or "", status or 0))


async def act_and_go_back(action: str, origin: Origin, perform: Callable[[], Awaitable[object]]) -> RedirectResponse:
    """Run a supervisor's action (its form checked inside ``perform``) and go back where it
    came from saying how it went: a form that does not validate is a 422, a refusal its status."""
    try:
        await perform()
    except ValidationError:
        return origin.redirect(action, 422)
    except Refused as refusal:
        return origin.redirect(action, refusal.status)
    return origin.redirect(action, 200)
