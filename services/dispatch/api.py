"""Dispatch's HTTP route: a supervisor hands a case to another branch (改派)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.dispatch.reassigning import Reassigning
from shared.auth import Identity
from shared.errors import refusals
from shared.events import FreeText
from shared.runtime import Context


class ReassignBody(BaseModel):
    branch_code: str = Field(min_length=1, max_length=32, examples=["B0102"],
                             description="The branch to hand the case to: any branch of the district.")
    reason: FreeText | None = Field(default=None, max_length=2000, examples=["原支部人手不足，改派相邻支部办理"])


class Reassigned(BaseModel):
    case_id: str
    generation: int = Field(description="The new dispatch generation.")
    branch_code: str
    street_code: str
    accept_deadline: datetime
    respond_deadline: datetime


def build_router(desk: Reassigning, context: Context) -> APIRouter:
    router = APIRouter(tags=["dispatch"])
    overseer = Annotated[Identity, Depends(context.auth.require("supervisor", "command_center"))]

    @router.post("/api/cases/{case_id}/reassign", response_model=Reassigned, responses=refusals(
        400, 401, {403: "Only a supervisor of the case's street, or the command center.",
                   404: "No such case in dispatch.",
                   409: "Resolved or closed, already with that branch, moved on meanwhile, or on time (neither in "
                        "the street's queue nor breaching)."}))
    async def reassign(case_id: str, body: ReassignBody, who: overseer) -> Reassigned:
        """Hand a queued, breaching or breached case to a branch (改派): a new dispatch with fresh deadlines."""
        event = await desk.reassign(case_id, who, body.branch_code, body.reason)
        return Reassigned(case_id=case_id, generation=event.generation, branch_code=event.branch_code,
                          street_code=event.street_code, accept_deadline=event.accept_deadline,
                          respond_deadline=event.respond_deadline)

    return router
