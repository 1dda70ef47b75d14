"""The supervisor's 延期 form, sent from the street overview: the same grant as the API's."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from services.sla.api import ExtensionBody
from services.sla.granting import grant_extension
from shared.auth import Identity
from shared.idempotency import UnitOfWork
from shared.runtime import Context
from shared.web.site import page_auth
from shared.web.supervision import OriginDep, act_and_go_back


def build_page_router(uow: UnitOfWork, context: Context) -> APIRouter:
    auth = page_auth(context)
    supervisor = Depends(auth.require("supervisor", "command_center"))
    router = APIRouter(include_in_schema=False)

    @router.post("/supervisor/cases/{case_id}/extension", dependencies=[auth.checked_form()])
    async def extend(case_id: str, who: Annotated[Identity, supervisor], origin: OriginDep,
                     stage: Annotated[str, Form(max_length=16)] = "",
                     extend_by: Annotated[str, Form(max_length=8)] = "",
                     reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
        async def perform() -> None:
            body = ExtensionBody.model_validate({"stage": stage, "extend_by": extend_by, "reason": reason.strip()})
            async with uow.begin() as tx:
                await grant_extension(tx, case_id, body.stage, body.extend_by, body.reason, who, context.district,
                                      context.clock.now())

        return await act_and_go_back("extension", origin, perform)

    return router
