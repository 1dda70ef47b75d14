"""Intake's pages: the operator's case form and case search, the staff case page, and the
citizen's tracking by case number and tracking code."""

import hmac
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.intake.api import View, citizen_view, detail, view_for
from services.intake.caseview import STATUSES
from services.intake.classify import InvalidReport, classify
from services.intake.metrics import IntakeMetrics
from services.intake.registration import register
from services.intake.staff_timeline import describe
from services.intake.store import Case, CaseSearch, find_by_case_no, search_cases, similar_open_cases, timeline
from services.intake.supervisor_pages import SUPERVISING, case_actions, supervisor_said
from shared.auth import Identity
from shared.clock import LOCAL_TIME
from shared.errors import Refused
from shared.events import CaseReport
from shared.idempotency import UnitOfWork
from shared.privacy import tracking_hash
from shared.runtime import Context
from shared.throttle import Scope
from shared.throttle_http import Throttle, client_address
from shared.web.forms import problems_from
from shared.web.session import PageRefused
from shared.web.site import service_pages
from shared.web.words import STATUS_TEXT

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 20
CASE_LABELS = {"source": "来源", "description": "问题描述", "citizen_name": "群众姓名", "citizen_phone": "联系电话",
               "address": "地址", "grid_code": "网格", "category": "分类", "priority": "紧急程度"}
CASE_FIELDS = tuple(CASE_LABELS)
NOTICES = {"registered": "已登记。请把案件编号和查询码告诉群众，凭此查询进度和评价。"}


def build_page_router(uow: UnitOfWork, context: Context, metrics: IntakeMetrics) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    district = context.district
    operator = Depends(pages.auth.require("operator"))
    staff = Depends(pages.auth.require("operator", "supervisor", "command_center"))
    anyone_on_staff = Depends(pages.auth.require("operator", "supervisor", "command_center", "member"))
    tracking = Throttle.of(uow.db, context)
    router = APIRouter(include_in_schema=False)

    @router.get("/operator", response_class=HTMLResponse)
    async def case_form(request: Request, who: Annotated[Identity, operator]) -> Response:
        return pages.render(request, "operator_form.html", who=who, values={"source": "hotline"}, problems={})

    @router.post("/operator/cases", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def file_case(request: Request, who: Annotated[Identity, operator]) -> Response:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip() for name in CASE_FIELDS}
        try:
            report = CaseReport.model_validate({k: v for k, v in values.items() if v})
            async with uow.begin() as tx:
                (outcome,) = await register(tx, [(report, None)], district, context.clock)
        except ValidationError as error:
            problems = problems_from(error, CASE_LABELS)
        except InvalidReport as error:
            problems = {error.field: f"没有这个{CASE_LABELS.get(error.field, error.field)}，请从列表中选择"}
        else:
            metrics.received.labels(outcome.case.source, outcome.case.category).inc()
            return RedirectResponse(f"/cases/{outcome.case.case_no}?done=registered", status_code=303)
        return pages.render(request, "operator_form.html", who=who, values=values, problems=problems,
                            status_code=422)

    @router.get("/operator/check")
    async def check_case(_who: Annotated[Identity, operator],
                         description: Annotated[str, Query(max_length=4000)] = "",
                         address: Annotated[str, Query(max_length=500)] = "",
                         grid_code: Annotated[str, Query(max_length=32)] = "") -> JSONResponse:
        """What the case form shows as it is typed: a category, and open cases nearby."""
        category = classify(description, district) if description.strip() else None
        async with uow.db.session() as session:
            similar = await similar_open_cases(session, grid_code=grid_code or None, address=address or None,
                                               category=category)
        known = district.category_by_code.get(category or "")
        return JSONResponse({
            "category": category, "category_name": known.name if known else None,
            "similar": [{"case_no": c.case_no, "status_text": STATUS_TEXT.get(c.status, c.status)} for c in similar],
        })

    @router.get("/operator/cases", response_class=HTMLResponse)
    async def find_cases(request: Request, who: Annotated[Identity, staff],
                         case_no: Annotated[str, Query(max_length=40)] = "",
                         phone: Annotated[str, Query(max_length=20)] = "",
                         registered_from: Annotated[str, Query(max_length=10)] = "",
                         registered_to: Annotated[str, Query(max_length=10)] = "",
                         status: Annotated[str, Query(max_length=16)] = "",
                         branch_code: Annotated[str, Query(max_length=32)] = "",
                         q: Annotated[str, Query(max_length=100)] = "",
                         page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
        asked = {"case_no": case_no.strip(), "phone": phone.strip(), "registered_from": registered_from,
                 "registered_to": registered_to, "status": status, "branch_code": branch_code, "q": q.strip()}
        problems: dict[str, str] = {}
        start, end = _local_day(registered_from, "registered_from", problems), _local_day(
            registered_to, "registered_to", problems)
        if status and status not in STATUSES:
            problems["status"] = "请从列表中选择状态"
        if who.role != "operator" and asked["phone"]:
            problems["phone"] = "按电话查询仅限话务员"
        cases: list[Case] = []
        total = 0
        if not problems:
            search = CaseSearch(case_no=asked["case_no"] or None, phone=asked["phone"] or None,
                                registered_from=start, registered_before=end + timedelta(days=1) if end else None,
                                status=status or None, branch_code=branch_code or None, text=asked["q"] or None,
                                street_code=who.unit if who.role == "supervisor" else None)
            async with uow.db.session() as session:
                cases, total = await search_cases(session, search, page=page, page_size=PAGE_SIZE)
        shown = [detail(c, context, full=who.role == "operator") for c in cases]
        return pages.render(request, "case_search.html", who=who, asked=asked, problems=problems, cases=shown,
                            total=total, page=page, pages_total=max(1, -(-total // PAGE_SIZE)), statuses=STATUSES,
                            status_code=422 if problems else 200)

    @router.get("/cases/{case_no}", response_class=HTMLResponse)
    async def case_page(request: Request, case_no: str, who: Annotated[Identity, anyone_on_staff],
                        done: str | None = None, action: Annotated[str | None, Query(max_length=16)] = None,
                        outcome: Annotated[int | None, Query(ge=100, le=599)] = None) -> Response:
        async with uow.db.session() as session:
            case = await find_by_case_no(session, case_no)
            if case is None:
                raise PageRefused(404, f"没有编号为 {case_no} 的案件。")
            try:
                view = view_for(who, case, None, district)
            except Refused:
                raise PageRefused(403, "这个案件不归您所在的支部或街道。") from None
            entries = await timeline(session, case.case_id)
            similar = [c for c in await similar_open_cases(session, grid_code=case.grid_code, address=case.address,
                                                           category=case.category) if c.case_id != case.case_id]
        steps = [(e.at, describe(e.type, json.loads(e.details), district)) for e in entries]
        said = supervisor_said(action, outcome) or ({"notice": NOTICES[done]} if done in NOTICES else {})
        return pages.render(request, "case_page.html", who=who, case=detail(case, context, full=view is View.FULL),
                            steps=steps, similar=similar, **said,
                            **(case_actions(who, case, district) if who.role in SUPERVISING else {}))

    @router.get("/track", response_class=HTMLResponse)
    async def track_form(request: Request, case_no: Annotated[str, Query(max_length=40)] = "") -> Response:
        return pages.render(request, "track_form.html", who=pages.auth.identity(request), case_no=case_no,
                            problems={})

    @router.post("/track", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def track(request: Request, case_no: Annotated[str, Form(max_length=40)] = "",
                    tracking_code: Annotated[str, Form(max_length=32)] = "") -> Response:
        case_no, tracking_code = case_no.strip(), tracking_code.strip().upper()
        problems = {name: f"请填写{label}" for name, label, value in
                    (("case_no", "案件编号", case_no), ("tracking_code", "查询码", tracking_code)) if not value}
        status_code = 422
        if not problems:
            try:
                attempt = await tracking.attempt({Scope.TRACKING_CASE: case_no,
                                                  Scope.TRACKING_ADDRESS: client_address(request)})
            except Refused as refusal:
                wait = int(refusal.headers.get("Retry-After", "60"))
                problems["form"], status_code = f"查询失败次数过多，请{max(1, -(-wait // 60))}分钟后再试。", 429
            else:
                async with uow.db.session() as session:
                    case = await find_by_case_no(session, case_no)
                    if case is not None and hmac.compare_digest(tracking_hash(tracking_code),
                                                                tracking_hash(case.tracking_code)):
                        shown = citizen_view(case, await timeline(session, case.case_id), district)
                        return pages.render(request, "track_result.html", case=shown, case_id=case.case_id,
                                            tracking_code=tracking_code)
                await attempt.failed()
                problems["form"], status_code = "案件编号或查询码不对，请核对后再试。", 401
        return pages.render(request, "track_form.html", case_no=case_no, problems=problems,
                            status_code=status_code)

    return router


def _local_day(value: str, field: str, problems: dict[str, str]) -> datetime | None:
    """The start of a day as people in the district count it, in UTC."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems[field] = "日期格式应为 2026-12-01"
        return None
    return datetime.combine(day, time(), tzinfo=LOCAL_TIME)
