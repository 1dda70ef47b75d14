"""The citizen's rating form, sent from the tracking page: the same rating as the API's,
authorised by the tracking code and throttled the same way."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.feedback import ratings
from services.feedback.api import FeedbackBody
from services.feedback.metrics import FeedbackMetrics
from shared.errors import Refused
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.throttle import Scope
from shared.throttle_http import Throttle, client_address
from shared.web.forms import problems_from
from shared.web.site import service_pages

TEMPLATES = Path(__file__).parent / "templates"
LABELS = {"rating": "满意程度", "resolved": "是否解决", "comment": "意见", "tracking_code": "查询码"}
REFUSED = {403: "查询码不对，请回到查询页重新输入。", 404: "没有这个案件。",
           409: "这个案件现在不能评价：可能尚未办结，或您已经评价过。"}


def build_page_router(uow: UnitOfWork, context: Context, metrics: FeedbackMetrics) -> APIRouter:
    pages = service_pages(context, TEMPLATES)
    throttle = Throttle.of(uow.db, context)
    router = APIRouter(include_in_schema=False)

    @router.post("/track/rating", response_class=HTMLResponse, dependencies=[pages.auth.checked_form()])
    async def rate(request: Request, case_id: Annotated[str, Form(max_length=36)],
                   case_no: Annotated[str, Form(max_length=40)] = "",
                   tracking_code: Annotated[str, Form(max_length=32)] = "",
                   rating: Annotated[str, Form(max_length=2)] = "", resolved: Annotated[str, Form(max_length=5)] = "",
                   comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
        shown: dict[str, Any] = {"case_no": case_no, "tracking_code": tracking_code}
        try:
            body = FeedbackBody.model_validate({"tracking_code": tracking_code, "rating": rating or None,
                                                "resolved": resolved or None, "comment": comment.strip() or None})
        except ValidationError as error:
            return pages.render(request, "rated.html", problems=problems_from(error, LABELS), **shown,
                                status_code=422)
        try:
            attempt = await throttle.attempt({Scope.TRACKING_CASE: case_id,
                                              Scope.TRACKING_ADDRESS: client_address(request)})
            verdict = ratings.CitizenVerdict(rating=body.rating, resolved=body.resolved, comment=body.comment)
            try:
                async with uow.begin() as tx:
                    rated = await ratings.rate(tx, case_id, body.tracking_code, verdict, context.clock.now())
            except Refused as refusal:
                if refusal.status == 403:
                    await attempt.failed()
                raise
        except Refused as refusal:
            words = REFUSED.get(refusal.status, "评价失败次数过多，请稍后再试。")
            return pages.render(request, "rated.html", problems={"form": words}, **shown,
                                status_code=refusal.status)
        metrics.rated(rated.branch_code, rated.satisfied)
        return pages.render(request, "rated.html", satisfied=rated.satisfied, problems={}, **shown)

    return router
