"""The supervisor's 改派 form, sent from the street overview: the same reassignment as the API's."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from services.dispatch.api import ReassignBody
from services.dispatch.reassigning import Reassigning
from shared.auth import Identity
from shared.runtime import Context
from shared.web.site import page_auth
from shared.web.supervision import OriginDep, act_and_go_back


def build_page_router(desk: Reassigning, context: Context) -> APIRouter:
    auth = page_auth(context)
    supervisor = Depends(auth.require("supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.post("/supervisor/cases/{case_id}/reassign", dependencies=[auth.checked_form()])
    async def reassign(case_id: str, who: Annotated[Identity, supervisor], origin: OriginDep,
                       branch_code: Annotated[str, Form(max_length=32)] = "",
                       reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
        async def perform() -> None:
            body = ReassignBody.model_validate({"branch_code": branch_code, "reason": reason.strip() or None})
            await desk.reassign(case_id, who, body.branch_code, body.reason)

        return await act_and_go_back("reassign", origin, perform)

    return router
