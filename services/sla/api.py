"""SLA's HTTP route: a supervisor extends a running deadline (延期)."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from services.sla import store
from services.sla.extension import ExtensionRefused, check_extension, moved
from shared.auth import Identity
from shared.clock import as_utc
from shared.district import Duration
from shared.events import SlaExtended
from shared.idempotency import UnitOfWork
from shared.runtime import Context


class ExtensionBody(BaseModel):
    stage: Literal["accept", "respond"]
    extend_by: Duration = Field(description="How much later, as 30s, 10m, 2h or 1d.")
    reason: str = Field(min_length=1, max_length=2000, examples=["诉求人出差，约定下周一上门"])


class ExtensionGranted(BaseModel):
    case_id: str
    stage: str
    deadline: str


def build_router(uow: UnitOfWork, context: Context) -> APIRouter:
    router = APIRouter(tags=["sla"])
    district = context.district

    @router.post("/api/cases/{case_id}/extension", response_model=ExtensionGranted,
                 responses={409: {"description": "No running deadline for that stage."}})
    async def extend(case_id: str, body: ExtensionBody,
                     who: Annotated[Identity, Depends(context.auth.require("supervisor"))]) -> ExtensionGranted:
        extend_by = body.extend_by
        try:
            async with uow.begin() as tx:
                watch = await tx.session.get(store.Watch, case_id, with_for_update=True)
                if watch is None:
                    raise ExtensionRefused(404, "no such case on the clock")
                community = district.community_by_branch.get(watch.branch_code)
                street = district.street_of_community[community.code].code if community else None
                if who.unit != street:
                    raise ExtensionRefused(403, "only a supervisor of the case's street may extend it")
                timers = await store.stage_timers(tx.session, case_id, watch.generation, body.stage)
                settled = body.stage in await store.settled_stages(tx.session, case_id, watch.generation)
                deadline_pending = any(t.kind == body.stage and t.state == "pending" for t in timers)
                check_extension(extend_by, watch_open=watch.open, settled=settled,
                                deadline_pending=deadline_pending)
                for timer in timers:
                    if timer.state == "pending":
                        timer.due_at, timer.deadline = moved(timer.due_at, extend_by), moved(timer.deadline, extend_by)
                field = f"{body.stage}_deadline"
                new_deadline = as_utc(moved(getattr(watch, field), extend_by))
                setattr(watch, field, new_deadline)
                cid = uuid.UUID(case_id)
                tx.emit(SlaExtended(case_id=cid, correlation_id=uuid.UUID(watch.correlation_id),
                                    occurred_at=context.clock.now(), generation=watch.generation, stage=body.stage,
                                    branch_code=watch.branch_code, deadline=new_deadline,
                                    extended_by_seconds=extend_by.total_seconds(), reason=body.reason,
                                    supervisor_id=who.user_id))
        except ExtensionRefused as refusal:
            raise HTTPException(refusal.status, refusal.reason) from None
        return ExtensionGranted(case_id=case_id, stage=body.stage, deadline=new_deadline.isoformat())

    return router
