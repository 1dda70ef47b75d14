"""The volunteer projects' pages, phone first: the member's project hall (服务大厅), my
projects, a project's page with each step (认领, 退出项目, 签到, 签退, 提交报告) as a plain form,
the secretary's and supervisor's publishing form and their confirmation of completions
(确认完成). Every form goes through the API's own body and the hall, so a page refuses what
the API refuses, in words."""

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.claim import project_store
from services.claim import store as task_store
from services.claim.hall import ProjectHall, Published
from services.claim.project_api import ProjectBody, ReportBody
from services.claim.projects import (
    LOCAL_TIME,
    MAX_REPEAT_WEEKS,
    MAX_SLOTS,
    MEMBER_STEPS,
    Conflict,
    hall_order,
    matches_skills,
    may_manage,
    may_see,
)
from shared.auth import Identity
from shared.errors import Refused
from shared.runtime import Context
from shared.web.forms import problems_from
from shared.web.session import PageRefused
from shared.web.site import service_pages

TEMPLATES = Path(__file__).parent / "templates"
SLOT_TEXT = {"claimed": "已认领", "withdrawn": "已退出", "checked_in": "已签到", "checked_out": "已签退",
             "reported": "已提交报告", "confirmed": "已确认完成"}
DONE = {"claim": "已认领，请按时参加。", "withdraw": "已退出该项目。", "check_in": "已签到。",
        "check_out": "已签退，请提交服务报告。", "report": "报告已提交，等待支部书记确认。",
        "confirm": "已确认完成，积分将计入该党员名下。"}
LABELS = {"title": "项目名称", "description": "服务内容", "skills": "所需技能", "place": "服务地点",
          "starts_at": "开始时间", "ends_at": "结束时间", "claim_cutoff": "报名截止", "slots": "名额",
          "points": "积分", "repeat_weeks": "每周重复", "branch_code": "所属支部", "street_code": "街道",
          "case_ids": "关联诉求", "note": "服务报告"}
FORM_FIELDS = ("title", "description", "place", "starts_at", "ends_at", "claim_cutoff", "slots", "points",
               "repeat_weeks", "branch_code", "street_code")


def build_project_pages(hall: ProjectHall, context: Context) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    district = context.district
    member = Depends(pages.auth.require("member"))
    overseer = Depends(pages.auth.require("supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.get("/member/projects", response_class=HTMLResponse)
    async def project_hall(request: Request, who: Annotated[Identity, member]) -> Response:
        skills = district.member_by_id[who.user_id].skills
        async with hall.uow.db.session() as session:
            rows = await project_store.projects(session, district.street_of_branch[who.unit or ""],
                                                claimable_at=context.clock.now())
            mine = {p.project_id: s for p, s in await project_store.projects_of_member(session, who.user_id)}
        listed = [(p, matches_skills(p, skills), mine.get(p.project_id)) for p in hall_order(rows, skills)]
        return pages.render(request, "projects.html", who=who, listed=listed, slot_text=SLOT_TEXT,
                            secretary=who.user_id in district.secretaries)

    @router.get("/member/projects/mine", response_class=HTMLResponse)
    async def my_projects(request: Request, who: Annotated[Identity, member]) -> Response:
        async with hall.uow.db.session() as session:
            rows = await project_store.projects_of_member(session, who.user_id)
        return pages.render(request, "my_projects.html", who=who, rows=rows, slot_text=SLOT_TEXT)

    @router.get("/member/projects/new", response_class=HTMLResponse)
    async def member_form(request: Request, who: Annotated[Identity, member]) -> Response:
        if who.user_id not in district.secretaries:
            raise PageRefused(403, "只有支部书记可以发布志愿服务项目。")
        return await _form(request, who)

    @router.post("/member/projects/new", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def member_publish(request: Request, who: Annotated[Identity, member]) -> Response:
        return await _publish(request, who)

    @router.get("/member/projects/{project_id}", response_class=HTMLResponse)
    async def project_page(request: Request, project_id: str, who: Annotated[Identity, member],
                           done: str | None = None) -> Response:
        return await _project_page(request, project_id, who, notice=DONE.get(done or ""))

    @router.post("/member/projects/{project_id}/members/{member_id}/confirm", response_class=HTMLResponse,
                 dependencies=[pages.auth.checked_form()])
    async def secretary_confirm(request: Request, project_id: str, member_id: str,
                                who: Annotated[Identity, member]) -> Response:
        try:
            await hall.confirm(project_id, member_id, who)
        except Refused as refusal:
            return await _project_page(request, project_id, who, problems={"form": _refusal_words(refusal)},
                                       status_code=refusal.status)
        return RedirectResponse(f"/member/projects/{project_id}?done=confirm", status_code=303)

    @router.post("/member/projects/{project_id}/{step_name}", response_class=HTMLResponse,
                 dependencies=[pages.auth.checked_form()])
    async def member_step(request: Request, project_id: str, step_name: str, who: Annotated[Identity, member],
                          note: Annotated[str, Form(max_length=2000)] = "") -> Response:
        try:
            if step_name == "claim":
                await hall.claim(project_id, who)
            elif step_name in MEMBER_STEPS:
                step = MEMBER_STEPS[step_name]
                text = None
                if step_name == "report":
                    try:
                        text = ReportBody(note=note).note
                    except ValidationError as error:
                        return await _project_page(request, project_id, who, status_code=422, note=note,
                                                   problems=problems_from(error, LABELS))
                await hall.step(step, project_id, who, text)
            else:
                raise PageRefused(404, "没有这个操作。")
        except Refused as refusal:
            return await _project_page(request, project_id, who, problems={"form": _refusal_words(refusal)},
                                       status_code=refusal.status, note=note)
        return RedirectResponse(f"/member/projects/{project_id}?done={step_name}", status_code=303)

    @router.get("/supervisor/projects", response_class=HTMLResponse)
    async def street_projects(request: Request, who: Annotated[Identity, overseer],
                              street: Annotated[str | None, Query(max_length=32)] = None,
                              done: str | None = None) -> Response:
        return await _street_page(request, who, street, notice=DONE.get(done or ""))

    @router.get("/supervisor/projects/new", response_class=HTMLResponse)
    async def supervisor_form(request: Request, who: Annotated[Identity, overseer]) -> Response:
        return await _form(request, who)

    @router.post("/supervisor/projects/new", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def supervisor_publish(request: Request, who: Annotated[Identity, overseer]) -> Response:
        return await _publish(request, who)

    @router.post("/supervisor/projects/{project_id}/members/{member_id}/confirm", response_class=HTMLResponse,
                 dependencies=[pages.auth.checked_form()])
    async def supervisor_confirm(request: Request, project_id: str, member_id: str,
                                 who: Annotated[Identity, overseer],
                                 street: Annotated[str, Form(max_length=32)] = "") -> Response:
        try:
            await hall.confirm(project_id, member_id, who)
        except Refused as refusal:
            return await _street_page(request, who, street or None, problems={"form": _refusal_words(refusal)},
                                      status_code=refusal.status)
        suffix = f"&street={street}" if street in district.street_by_code else ""
        return RedirectResponse(f"/supervisor/projects?done=confirm{suffix}", status_code=303)

    async def _project_page(request: Request, project_id: str, who: Identity, *, notice: str | None = None,
                            problems: dict[str, str] | None = None, status_code: int = 200,
                            note: str = "") -> Response:
        async with hall.uow.db.session() as session:
            project = await project_store.find_project(session, project_id)
            if project is None or not may_see(who, district, project):
                raise PageRefused(404, "本街道没有这个志愿服务项目。")
            slots = await project_store.slots_of(session, [project_id])
        mine = next((s for s in slots if s.member_id == who.user_id), None)
        return pages.render(request, "project.html", who=who, project=project, mine=mine, notice=notice,
                            problems=problems or {}, status_code=status_code, note=note, slot_text=SLOT_TEXT,
                            managed=slots if may_manage(who, district, project) else None,
                            match=matches_skills(project, district.member_by_id[who.user_id].skills))

    async def _street_page(request: Request, who: Identity, street: str | None, *, notice: str | None = None,
                           problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
        code = who.unit if who.role == "supervisor" else (street if street in district.street_by_code else
                                                          district.streets[0].code)
        async with hall.uow.db.session() as session:
            rows = await project_store.projects(session, code)
            slots = await project_store.slots_of(session, [p.project_id for p in rows])
        by_project: dict[str, list[project_store.ProjectSlot]] = defaultdict(list)
        for slot in slots:
            by_project[slot.project_id].append(slot)
        return pages.render(request, "street_projects.html", who=who, street=district.street_by_code[code or ""],
                            rows=[(p, by_project[p.project_id]) for p in rows], notice=notice,
                            problems=problems or {}, status_code=status_code, slot_text=SLOT_TEXT)

    async def _form(request: Request, who: Identity, *, values: dict[str, Any] | None = None,
                    problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
        tasks: dict[str, list[task_store.Task]] = defaultdict(list)
        if who.role != "member":
            street = who.unit if who.role == "supervisor" else (values or {}).get("street_code")
            async with hall.uow.db.session() as session:
                for task in await task_store.recent_street_tasks(session, street or "") if street else []:
                    tasks[task.case_summary.category].append(task)
        defaults = {"slots": "3", "repeat_weeks": "1", "skills": [], "case_ids": []}
        return pages.render(request, "project_new.html", who=who, values={**defaults, **(values or {})},
                            problems=problems or {}, status_code=status_code, tasks=tasks, max_slots=MAX_SLOTS,
                            max_weeks=MAX_REPEAT_WEEKS, points=district.points,
                            action="/member/projects/new" if who.role == "member" else "/supervisor/projects/new")

    async def _publish(request: Request, who: Identity) -> Response:
        form = await request.form()
        values: dict[str, Any] = {name: str(form.get(name, "")).strip()[:4000] for name in FORM_FIELDS}
        values["skills"] = [str(v)[:32] for v in form.getlist("skills")][:20]
        values["case_ids"] = [str(v)[:40] for v in form.getlist("case_ids")][:50]
        try:
            body = ProjectBody.model_validate(_body_of(values))
        except ValidationError as error:
            return await _form(request, who, values=values, problems=problems_from(error, LABELS), status_code=422)
        try:
            published = await hall.publish(body.proposal(), who)
        except Refused as refusal:
            field = (refusal.field or "form").split(".")[-1]
            return await _form(request, who, values=values, status_code=refusal.status,
                               problems={field: _publish_words(refusal, field, district.points.max_per_project)})
        return _published_page(request, who, published)

    def _published_page(request: Request, who: Identity, published: list[Published]) -> Response:
        return pages.render(request, "project_published.html", who=who, published=published)

    return router


def _body_of(values: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's body: times typed in the district's local time, empty fields absent."""
    body: dict[str, Any] = {name: value for name, value in values.items() if value not in ("", [])}
    for name in ("starts_at", "ends_at", "claim_cutoff"):
        if name in body:
            body[name] = _local_time(body[name])
    return body


def _local_time(value: str) -> Any:
    """``2026-12-05T09:00`` from a datetime-local field, read as 福州 time; anything else is left for the
    body's own check to refuse."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=LOCAL_TIME) if moment.tzinfo is None else moment


PUBLISH_WORDS = {
    "starts_at": "开始时间须在一年之内，且报名截止（默认即开始时间）须在将来",
    "ends_at": "结束时间须晚于开始时间，活动最长7天",
    "claim_cutoff": "报名截止须在将来，且不晚于开始时间",
    "skills": "请从列表中选择技能",
    "case_ids": "所选诉求不在本街道的任务板上",
    "branch_code": "请选择本街道的支部",
    "street_code": "请选择街道",
}


def _publish_words(refusal: Refused, field: str, max_points: int) -> str:
    if refusal.status == 403:
        return "您无权在这里发布项目：支部书记发布本支部的项目，街道督办发布本街道的项目。"
    if field == "points":
        return f"积分须在0到{max_points}之间"
    return PUBLISH_WORDS.get(field, f"无法发布：{refusal.reason}")


CONFLICT_WORDS: dict[str, str] = {
    Conflict.FULL: "名额已满，下次早点报名。",
    Conflict.CLOSED: "报名已截止。",
    Conflict.CLAIMED: "您已经认领了这个项目。",
    Conflict.CHECK_IN_TIME: "签到时间为开始前1小时至结束。",
    Conflict.CHECK_OUT_TIME: "签退须在结束后2小时内。",
    Conflict.OVER: "项目已经结束，不能再退出。",
    Conflict.CONFIRMED: "该党员的完成情况已经确认过了。",
    Conflict.NOT_REPORTED: "该党员尚未提交服务报告，不能确认完成。",
}


def _refusal_words(refusal: Refused) -> str:
    if refusal.status == 409:
        # A Conflict is a str: the reason looks its words up as it is.
        return CONFLICT_WORDS.get(refusal.reason, "项目或您的报名状态已经变化，请查看最新状态。")
    if refusal.status == 403:
        return "只有本街道的党员可以认领；确认完成需要项目所属支部的书记或街道督办。"
    if refusal.status == 404:
        return "没有这个项目，或您在这个项目中没有报名。"
    return f"无法完成：{refusal.reason}"
