"""The member's pages, phone first: the branch board, my tasks, and a task page with
every move (接单, 已联系, 办结, 退单, 挂起/恢复) as a plain form; and the supervisor's 督办
form, since urges live on the board."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.claim import store
from services.claim.api import NoteBody, ReturnBody, SuspendBody, UrgeBody
from services.claim.board import CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND, TaskBoard
from services.claim.suspension import is_suspended, suspension_left
from services.claim.tasks import ACTIVE, Move, TaskStatus
from shared.auth import Identity
from shared.district import parse_duration
from shared.errors import Refused
from shared.runtime import Context
from shared.web.forms import problems_from
from shared.web.session import PageRefused
from shared.web.site import service_pages
from shared.web.supervision import OriginDep, act_and_go_back

TEMPLATES = Path(__file__).parent / "templates"
BOARD_REFRESH_SECONDS = 30
MOVES: dict[str, Move] = {m.name: m for m in (CLAIM, RESPOND, RESOLVE, RETURN, SUSPEND, RESUME)}
DONE = {"claim": "已接单，请尽快联系群众。", "respond": "已记录：已联系群众。",
        "resolve": "已办结，等待群众评价。", "return": "已退单，案件将重新派单。",
        "suspend": "已挂起，响应时限暂停。", "resume": "已恢复办理，响应时限继续计时。"}
SUSPEND_CHOICES = {"30m": "30分钟", "2h": "2小时", "1d": "1天"}
TEXT_LABEL = {"respond": "联系情况", "resolve": "办理结果", "return": "退单原因", "suspend": "挂起原因"}
TEXT_REQUIRED = {"return", "suspend"}


def build_page_router(tasks: TaskBoard, context: Context) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    member = Depends(pages.auth.require("member"))
    supervisor = Depends(pages.auth.require("supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.get("/member", response_class=HTMLResponse)
    async def branch_board(request: Request, who: Annotated[Identity, member], done: str | None = None) -> Response:
        async with tasks.uow.db.session() as session:
            rows = await store.board(session, who.unit or "", ACTIVE)
        return pages.render(request, "board.html", who=who, tasks=_board_order(rows), mine=False,
                            refresh=BOARD_REFRESH_SECONDS, notice=DONE.get(done or ""))

    @router.get("/member/mine", response_class=HTMLResponse)
    async def my_tasks(request: Request, who: Annotated[Identity, member]) -> Response:
        async with tasks.uow.db.session() as session:
            rows = await store.board(session, who.unit or "", ACTIVE)
        return pages.render(request, "board.html", who=who, tasks=_board_order(
            [t for t in rows if t.member_id == who.user_id]), mine=True, refresh=BOARD_REFRESH_SECONDS)

    @router.get("/member/tasks/{case_id}", response_class=HTMLResponse)
    async def task_page(request: Request, case_id: str, who: Annotated[Identity, member],
                        done: str | None = None) -> Response:
        return await _task_page(request, case_id, who, notice=DONE.get(done or ""))

    @router.post("/member/tasks/{case_id}/{move_name}", response_class=HTMLResponse,
                 dependencies=[pages.auth.checked_form()])
    async def act(request: Request, case_id: str, move_name: str, who: Annotated[Identity, member],
                  text: Annotated[str, Form(max_length=2000)] = "",
                  limit: Annotated[str, Form(max_length=8)] = "") -> Response:
        move = MOVES.get(move_name)
        if move is None:
            raise PageRefused(404, "没有这个操作。")
        text = text.strip()
        if move_name in TEXT_REQUIRED and not text:
            return await _task_page(request, case_id, who, problems={move_name: f"请填写{TEXT_LABEL[move_name]}"},
                                    status_code=422)
        if move is SUSPEND and limit not in SUSPEND_CHOICES:
            return await _task_page(request, case_id, who, problems={"suspend": "请选择挂起时长"}, status_code=422)
        # Through the API's own bodies, so a phone number typed into a note is masked the same way.
        try:
            body = _body(move, text, limit)
        except ValidationError as error:
            problems = problems_from(error, {"note": TEXT_LABEL.get(move_name, "内容"), "reason": TEXT_LABEL.get(
                move_name, "原因"), "limit": "挂起时长"})
            return await _task_page(request, case_id, who, problems={move_name: next(iter(problems.values()))},
                                    status_code=422)
        try:
            await tasks.perform(move, case_id, who, body.text, body.length)
        except Refused as refusal:
            return await _task_page(request, case_id, who, problems={"form": _refusal_words(move, refusal)},
                                    status_code=refusal.status)
        # A returned task leaves the board; the others stay on their page.
        target = "/member" if move is RETURN else f"/member/tasks/{case_id}"
        return RedirectResponse(f"{target}?done={move.name}", status_code=303)

    @router.post("/supervisor/cases/{case_id}/urge", dependencies=[pages.auth.checked_form()])
    async def urge(case_id: str, who: Annotated[Identity, supervisor], origin: OriginDep,
                   note: Annotated[str, Form(max_length=2000)] = "") -> Response:
        """督办 from the street overview or the case page; back there with the outcome."""
        async def perform() -> None:
            await tasks.urge(case_id, who, UrgeBody(note=note.strip() or None).note, context.district)

        return await act_and_go_back("urge", origin, perform)

    async def _task_page(request: Request, case_id: str, who: Identity, *, notice: str | None = None,
                         problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
        async with tasks.uow.db.session() as session:
            task = await store.find(session, case_id)
        if task is None or task.branch_code != who.unit:
            raise PageRefused(404, "本支部没有这个任务，可能已改派或已办结。")
        now = context.clock.now()
        return pages.render(request, "task.html", who=who, task=task, case=task.case_summary, notice=notice,
                            problems=problems or {}, status_code=status_code,
                            suspended=is_suspended(task, now), suspension_left=suspension_left(task),
                            suspend_choices={k: v for k, v in SUSPEND_CHOICES.items()
                                             if parse_duration(k) <= suspension_left(task)},
                            labels=TEXT_LABEL)

    return router


@dataclass(frozen=True)
class _MoveInput:
    text: str | None
    length: timedelta | None = None


def _body(move: Move, text: str, limit: str) -> _MoveInput:
    if move in (RESPOND, RESOLVE):
        return _MoveInput(NoteBody(note=text).note)
    if move is RETURN:
        return _MoveInput(ReturnBody(reason=text).reason)
    if move is SUSPEND:
        suspension = SuspendBody.model_validate({"reason": text, "limit": limit})
        return _MoveInput(suspension.reason, suspension.limit)
    return _MoveInput(None)


def _board_order(rows: list[store.Task]) -> list[store.Task]:
    """Open tasks first, then by how soon their next deadline falls."""
    def next_deadline(task: store.Task):
        deadline = task.accept_deadline if task.status == TaskStatus.OPEN else task.respond_deadline
        return (task.status != TaskStatus.OPEN, deadline is None, deadline or task.dispatched_at)

    return sorted(rows, key=next_deadline)


def _refusal_words(move: Move, refusal: Refused) -> str:
    if refusal.status == 409 and move is CLAIM:
        return "这个任务已被其他党员接单，或已不在待接单状态。"
    if refusal.status == 409:
        return "任务状态已经变化（可能已被他人处理），请查看最新状态。"
    if refusal.status == 403:
        return "只有本支部党员可以办理；除接单外，只有承办人可以操作。"
    if refusal.status == 404:
        return "没有这个任务。"
    return f"无法完成：{refusal.reason}"
