"""The points pages, phone first: 我的积分 (a member's balance and entries), 排行榜 (the
boards of the caller's street, by period), and the residents' evaluation form, found by
project number and authorised by the evaluation code, throttled like the tracking page."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.feedback import boards, crediting, ledger
from services.feedback.ledger import Side
from services.feedback.metrics import FeedbackMetrics
from services.feedback.points import PERIOD_WORDS, REASON_WORDS, Period, period_start
from services.feedback.points_api import ResidentEvaluationBody
from shared.auth import Identity
from shared.errors import Refused
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.throttle import Scope
from shared.throttle_http import Throttle, client_address
from shared.web.forms import problems_from
from shared.web.session import PageRefused
from shared.web.site import service_pages

TEMPLATES = Path(__file__).parent / "templates"
LABELS = {"evaluation_code": "评价码", "rating": "满意程度", "comment": "意见", "project_no": "项目编号"}
REFUSED = {403: "评价码不对，请核对后重新输入。", 404: "没有这个项目，请核对项目编号。",
           409: "这个项目还没有党员完成服务，暂时不能评价。"}
BOARD_REFUSED = {403: "只能查看本街道的排行榜。", 404: "没有这个支部或街道。"}


def build_page_router(uow: UnitOfWork, context: Context, metrics: FeedbackMetrics) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    pages.templates.env.globals.update(reason_words=lambda r: REASON_WORDS.get(r, r), period_words=PERIOD_WORDS)
    throttle = Throttle.of(uow.db, context)
    district, clock = context.district, context.clock
    member = Depends(pages.auth.require("member"))
    reader = Depends(pages.auth.require("member", "supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.get("/points", response_class=HTMLResponse)
    async def my_points(request: Request, who: Annotated[Identity, member]) -> Response:
        since = period_start(Period.MONTH, clock.now())
        async with uow.db.session() as session:
            total = await ledger.balance(session, who.user_id)
            month = await ledger.balance(session, who.user_id, since)
            entries = await ledger.entries(session, who.user_id, None)
        return pages.render(request, "points.html", who=who, balance=total, month=month, entries=entries)

    @router.get("/points/leaderboard", response_class=HTMLResponse)
    async def leaderboard(request: Request, who: Annotated[Identity, reader], unit: str = "",
                          period: str = Period.MONTH.value) -> Response:
        chosen = Period(period) if period in set(Period) else Period.MONTH
        unit = unit or boards.default_unit(who, district) or ""
        try:
            branch_codes = boards.check_board_reader(who, unit, district)
        except Refused as refusal:
            raise PageRefused(refusal.status, BOARD_REFUSED[refusal.status]) from None
        async with uow.db.session() as session:
            totals = await ledger.totals(session, branch_codes, period_start(chosen, clock.now()))
        street = district.street_of_unit(unit) or ""
        streets = [s.code for s in district.streets] if who.role == "command_center" else [street]
        units = [*streets, *[c.branch.code for c in district.street_by_code[street].communities]]
        return pages.render(request, "leaderboard.html", who=who, unit=unit, period=chosen, units=units,
                            board=boards.board(district, unit, branch_codes, totals))

    @router.get("/projects/evaluate", response_class=HTMLResponse)
    async def evaluation_form(request: Request) -> Response:
        return pages.render(request, "evaluate.html", who=pages.auth.identity(request), problems={},
                            project_no="", comment="", rating="5")

    @router.post("/projects/evaluate", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def evaluate(request: Request, project_no: Annotated[str, Form(max_length=40)] = "",
                       evaluation_code: Annotated[str, Form(max_length=32)] = "",
                       rating: Annotated[str, Form(max_length=2)] = "",
                       comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
        shown: dict[str, Any] = {"who": pages.auth.identity(request), "project_no": project_no.strip(),
                                 "comment": comment, "rating": rating}
        problems = {} if project_no.strip() else {"project_no": "请填写项目编号"}
        try:
            body = ResidentEvaluationBody.model_validate({"evaluation_code": evaluation_code.strip(),
                                                          "rating": rating or None, "comment": comment.strip() or None})
        except ValidationError as error:
            problems = {**problems_from(error, LABELS), **problems}
        if problems:
            return pages.render(request, "evaluate.html", problems=problems, status_code=422, **shown)
        try:
            async with uow.db.session() as session:
                project = await ledger.project_by_no(session, project_no.strip())
            if project is None:
                raise Refused(404, "no such project")
            await _evaluate(request, project.project_id, body)
        except Refused as refusal:
            words = REFUSED.get(refusal.status, "评价码错误次数过多，请稍后再试。")
            return pages.render(request, "evaluate.html", problems={"form": words}, status_code=refusal.status,
                                **shown)
        return pages.render(request, "evaluate.html", problems={}, done=True, **shown)

    async def _evaluate(request: Request, project_id: str, body: ResidentEvaluationBody) -> None:
        attempt = await throttle.attempt({Scope.TRACKING_CASE: project_id,
                                          Scope.TRACKING_ADDRESS: client_address(request)})
        verdict = crediting.ResidentVerdict(body.evaluation_code, body.rating, body.comment)
        try:
            async with uow.begin() as tx:
                await crediting.evaluate_as_resident(tx, project_id, verdict, district.points, clock.now(),
                                                     metrics.credited)
        except Refused as refusal:
            if refusal.status == 403:
                await attempt.failed()
            raise
        metrics.project_evaluations.labels(Side.RESIDENT).inc()

    return router
