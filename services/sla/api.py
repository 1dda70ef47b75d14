"""SLA's HTTP route: a supervisor extends a running deadline (延期)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sla.granting import grant_extension
from shared.auth import Identity
from shared.district import Duration
from shared.errors import refusals
from shared.events import FreeText, SlaStage
from shared.idempotency import UnitOfWork
from shared.runtime import Context


class ExtensionBody(BaseModel):
    stage: SlaStage
    extend_by: Duration = Field(description="How much later, as 30s, 10m, 2h or 1d.")
    reason: FreeText = Field(min_length=1, max_length=2000, examples=["诉求人出差，约定下周一上门"])


class ExtensionGranted(BaseModel):
    case_id: str
    stage: str
    deadline: str


def build_router(uow: UnitOfWork, context: Context) -> APIRouter:
    router = APIRouter(tags=["sla"])

    @router.post("/api/cases/{case_id}/extension", response_model=ExtensionGranted,
                 responses=refusals(400, 401, {403: "Only a supervisor of the case's street, or the command center.",
                                          404: "No such case on the clock.",
                                          409: "No running deadline for that stage."}))
    async def extend(case_id: str, body: ExtensionBody,
                     who: Annotated[Identity, Depends(context.auth.require("supervisor", "command_center"))],
                     ) -> ExtensionGranted:
        async with uow.begin() as tx:
            granted = await grant_extension(tx, case_id, body.stage, body.extend_by, body.reason, who,
                                            context.district, context.clock.now())
        return ExtensionGranted(case_id=case_id, stage=body.stage, deadline=granted.deadline.isoformat())

    return router
