"""Intake's HTTP routes: register a case, list cases, read one case with its timeline."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.intake.caseview import STATUSES
from services.intake.classify import InvalidReport
from services.intake.metrics import IntakeMetrics
from services.intake.registration import register
from services.intake.store import Case, find_case, list_cases, timeline
from shared.auth import Identity
from shared.clock import as_utc
from shared.events import CaseReport
from shared.idempotency import UnitOfWork
from shared.privacy import mask_phone, tracking_hash
from shared.runtime import Context


class CaseSubmission(CaseReport):
    external_id: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="The sender's own work-order number, if any.")


class CaseCreated(BaseModel):
    case_id: str
    case_no: str
    tracking_code: str = Field(description="Give this to the citizen: it follows and rates the case.")


class TimelineItem(BaseModel):
    type: str
    at: datetime
    model_config = {"extra": "allow"}


class SlaOutcome(BaseModel):
    seconds_to_accept: float | None = Field(description="From dispatch to the first claim.")
    seconds_to_respond: float | None = Field(description="From dispatch to the first response.")
    accept_breached: bool = Field(description="An accept deadline of this case was missed.")
    respond_breached: bool = Field(description="A respond deadline of this case was missed.")
    escalation_count: int = Field(description="Re-dispatches after an accept breach plus escalations to a street.")
    extension_count: int = Field(description="Deadlines a supervisor extended (延期).")
    suspension_count: int = Field(description="Times a member suspended the respond clock (挂起).")
    resolved: bool = Field(description="A member resolved it at least once.")
    satisfied: bool | None = Field(description="From the latest citizen rating; null until rated.")
    rating: int | None = Field(description="The latest citizen rating, 1..5.")


class CaseDetail(BaseModel):
    case_id: str
    case_no: str | None
    status: str
    source: str
    category: str
    category_name: str
    priority: str
    description: str
    address: str | None
    grid_code: str | None
    citizen_name: str | None
    citizen_phone: str | None = Field(description="In full for operators and supervisors, masked for everyone else.")
    external_id: str | None
    tracking_code: str | None = Field(description="Only for operators and supervisors.")
    branch_code: str | None
    street_code: str | None
    member_id: str | None
    accept_deadline: datetime | None
    respond_deadline: datetime | None
    suspended_until: datetime | None = Field(
        description="Set while the member has suspended the respond clock (挂起): when it restarts by itself.")
    created_at: datetime
    sla: SlaOutcome
    timeline: list[TimelineItem] = []


class CasePage(BaseModel):
    items: list[CaseDetail]
    total: int
    page: int
    page_size: int


def build_router(uow: UnitOfWork, context: Context, metrics: IntakeMetrics) -> APIRouter:
    router = APIRouter(tags=["cases"])
    auth = context.auth
    staff = Depends(auth.require("operator", "supervisor"))

    @router.post("/api/cases", status_code=status.HTTP_201_CREATED, response_model=CaseCreated,
                 responses={200: {"model": CaseCreated, "description": "Same external_id seen before: that case."}})
    async def create_case(body: CaseSubmission, _who: Annotated[Identity, Depends(auth.require("operator"))]) -> Any:
        report = CaseReport.model_validate(body.model_dump(exclude={"external_id"}))
        try:
            async with uow.begin() as tx:
                outcome = await register(tx, report, body.external_id, context.district, context.clock)
        except InvalidReport as error:
            return JSONResponse(status_code=422, content={"detail": [
                {"loc": ["body", error.field], "msg": error.message, "type": "value_error"}]})
        case = outcome.case
        if outcome.created:
            metrics.received.labels(case.source, case.category).inc()
        created = CaseCreated(case_id=case.case_id, case_no=case.case_no or "", tracking_code=case.tracking_code)
        return created if outcome.created else JSONResponse(created.model_dump(), status_code=200)

    @router.get("/api/cases", response_model=CasePage)
    async def get_cases(
        who: Annotated[Identity, staff],
        status_: Annotated[str | None, Query(alias="status", description=f"One of {', '.join(STATUSES)}")] = None,
        branch_code: str | None = None,
        external_id: str | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> CasePage:
        if status_ is not None and status_ not in STATUSES:
            raise HTTPException(422, f"status must be one of {', '.join(STATUSES)}")
        async with uow.db.session() as session:
            cases, total = await list_cases(session, status=status_, branch_code=branch_code,
                                            external_id=external_id, page=page, page_size=page_size)
        return CasePage(items=[detail(c, context, full=True) for c in cases], total=total, page=page,
                        page_size=page_size)

    @router.get("/api/cases/{case_id}", response_model=CaseDetail)
    async def get_case(
        case_id: str,
        who: Annotated[Identity | None, Depends(auth.optional())],
        tracking_code: Annotated[str | None, Query(description="Lets a citizen follow their own case.")] = None,
    ) -> CaseDetail:
        async with uow.db.session() as session:
            case = await find_case(session, case_id)
            if case is None:
                raise HTTPException(404, "no such case")
            full = _may_read(who, case, tracking_code)
            entries = await timeline(session, case_id)
        result = detail(case, context, full=full)
        result.timeline = [TimelineItem(type=e.type, at=as_utc(e.at), **json.loads(e.details)) for e in entries]
        return result

    return router


def _may_read(who: Identity | None, case: Case, tracking_code: str | None) -> bool:
    """True for staff (full view); False for the case's branch members and the citizen."""
    if who is not None and who.role in ("operator", "supervisor"):
        return True
    if who is not None and who.role == "member" and who.unit == case.branch_code:
        return False
    if tracking_code and tracking_hash(tracking_code) == tracking_hash(case.tracking_code):
        return False
    raise HTTPException(403 if who else 401, "sign in as staff or the case's branch, or give the tracking code")


def _while_running(until: datetime | None, now: datetime) -> datetime | None:
    """A suspension that ran out restarted the clock by itself; no event says so."""
    return as_utc(until) if until is not None and as_utc(until) > now else None


def detail(case: Case, context: Context, *, full: bool) -> CaseDetail:
    category = context.district.category_by_code.get(case.category)
    return CaseDetail(
        case_id=case.case_id, case_no=case.case_no, status=case.status, source=case.source, category=case.category,
        category_name=category.name if category else case.category, priority=case.priority,
        description=case.description, address=case.address, grid_code=case.grid_code,
        citizen_name=case.citizen_name,
        citizen_phone=case.citizen_phone if full else mask_phone(case.citizen_phone),
        external_id=case.external_id, tracking_code=case.tracking_code if full else None,
        branch_code=case.branch_code, street_code=case.street_code, member_id=case.member_id,
        accept_deadline=case.accept_deadline and as_utc(case.accept_deadline),
        respond_deadline=case.respond_deadline and as_utc(case.respond_deadline),
        suspended_until=_while_running(case.suspended_until, context.clock.now()),
        created_at=as_utc(case.created_at),
        sla=SlaOutcome(
            seconds_to_accept=case.seconds_to_accept, seconds_to_respond=case.seconds_to_respond,
            accept_breached=case.accept_breached, respond_breached=case.respond_breached,
            escalation_count=case.escalation_count, extension_count=case.extension_count,
            suspension_count=case.suspension_count,
            resolved=case.resolved, satisfied=case.satisfied, rating=case.rating,
        ),
    )
