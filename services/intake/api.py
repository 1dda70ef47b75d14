"""Intake's HTTP routes: register a case, list cases, read one case with its timeline."""

import hmac
import json
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.caseview import STATUSES
from services.intake.classify import InvalidReport
from services.intake.metrics import IntakeMetrics
from services.intake.public import PublicCase, TimelineFact, public_case
from services.intake.registration import register
from services.intake.store import Case, TimelineEntry, find_by_case_no, find_case, list_cases, timeline
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused, refusals
from shared.events import CaseReport
from shared.idempotency import UnitOfWork
from shared.privacy import mask_phone, mask_phones_in_text, tracking_hash
from shared.runtime import Context
from shared.throttle_http import tracking_code_attempts

MAX_PAGE = 1_000_000
HIDDEN_DETAILS = {"tracking_code_hash"}


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
    citizen_phone: str | None = Field(description="In full for operators, masked for everyone else.")
    external_id: str | None
    tracking_code: str | None = Field(description="Only for operators.")
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
    staff = Depends(auth.require("operator", "supervisor", "command_center"))
    code_attempts = tracking_code_attempts(uow.db, context, given_in_query="tracking_code")

    @router.post("/api/cases", status_code=status.HTTP_201_CREATED, response_model=CaseCreated,
                 responses={200: {"model": CaseCreated, "description": "Same external_id seen before: that case."},
                            **refusals(400, 401, {403: "Only operators register cases."})})
    async def create_case(body: CaseSubmission, _who: Annotated[Identity, Depends(auth.require("operator"))]) -> Any:
        report = CaseReport.model_validate(body.model_dump(exclude={"external_id"}))
        try:
            async with uow.begin() as tx:
                (outcome,) = await register(tx, [(report, body.external_id)], context.district, context.clock)
        except InvalidReport as error:
            raise Refused(422, error.message, field=f"body.{error.field}") from None
        case = outcome.case
        if outcome.created:
            metrics.received.labels(case.source, case.category).inc()
        created = CaseCreated(case_id=case.case_id, case_no=case.case_no or "", tracking_code=case.tracking_code)
        return created if outcome.created else JSONResponse(created.model_dump(), status_code=200)

    @router.get("/api/cases", response_model=CasePage,
                responses=refusals(401, {403: "Only operators, supervisors and the command center list cases."}))
    async def get_cases(
        who: Annotated[Identity, staff],
        status_: Annotated[str | None, Query(alias="status", description=f"One of {', '.join(STATUSES)}")] = None,
        branch_code: str | None = None,
        external_id: str | None = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> CasePage:
        if status_ is not None and status_ not in STATUSES:
            raise Refused(422, f"status must be one of {', '.join(STATUSES)}", field="query.status")
        street = who.unit if who.role == "supervisor" else None
        async with uow.db.session() as session:
            cases, total = await list_cases(session, status=status_, branch_code=branch_code, street_code=street,
                                            external_id=external_id, page=page, page_size=page_size)
        return CasePage(items=[detail(c, context, full=who.role == "operator") for c in cases], total=total,
                        page=page, page_size=page_size)

    @router.get("/api/cases/{case_id}", response_model=CaseDetail | PublicCase, dependencies=[code_attempts],
                responses=refusals(401, 403, 404, {429: "Too many wrong tracking codes for this case or from this "
                                                        "address; see Retry-After."}))
    async def get_case(
        case_id: str,
        who: Annotated[Identity | None, Depends(auth.optional())],
        tracking_code: Annotated[str | None, Query(description="Lets a citizen follow their own case.")] = None,
    ) -> CaseDetail | PublicCase:
        """Operators see the case as filed; other staff and the case's branch with phone
        numbers masked; a citizen with the tracking code sees the public view."""
        async with uow.db.session() as session:
            return await _case_as_seen(session, await find_case(session, case_id), who, tracking_code)

    @router.get("/api/cases/by-number/{case_no}", response_model=CaseDetail | PublicCase,
                dependencies=[tracking_code_attempts(uow.db, context, given_in_query="tracking_code",
                                                     case_in_path="case_no")],
                responses=refusals(401, 403, 404, {429: "Too many wrong tracking codes for this case or from this "
                                                        "address; see Retry-After."}))
    async def get_case_by_number(
        case_no: Annotated[str, Path(max_length=40, description="The case number the citizen was told.")],
        who: Annotated[Identity | None, Depends(auth.optional())],
        tracking_code: Annotated[str | None, Query(description="Lets a citizen follow their own case.")] = None,
    ) -> CaseDetail | PublicCase:
        """The same as by case id, for the number people are told (350102-20261201-000042)."""
        async with uow.db.session() as session:
            return await _case_as_seen(session, await find_by_case_no(session, case_no), who, tracking_code)

    async def _case_as_seen(session: AsyncSession, case: Case | None, who: Identity | None,
                            tracking_code: str | None) -> CaseDetail | PublicCase:
        if case is None:
            raise Refused(404, "no such case")
        view = view_for(who, case, tracking_code, context.district)
        entries = await timeline(session, case.case_id)
        if view is View.CITIZEN:
            return citizen_view(case, entries, context.district)
        result = detail(case, context, full=view is View.FULL)
        result.timeline = [TimelineItem(type=e.type, at=e.at, **_shown(json.loads(e.details))) for e in entries]
        return result

    return router


class View(Enum):
    FULL = "full"
    MASKED = "masked"
    CITIZEN = "citizen"


def view_for(who: Identity | None, case: Case, tracking_code: str | None, district: District) -> View:
    if who is not None and who.role == "operator":
        return View.FULL
    if who is not None and who.oversees(district, case.street_code or case.branch_code):
        return View.MASKED
    if who is not None and who.role == "member" and who.unit == case.branch_code:
        return View.MASKED
    if tracking_code and hmac.compare_digest(tracking_hash(tracking_code), tracking_hash(case.tracking_code)):
        return View.CITIZEN
    raise Refused(403 if who else 401, "sign in as the case's branch or its street's supervisor, or give the "
                                       "tracking code")


def _shown(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k not in HIDDEN_DETAILS}


def citizen_view(case: Case, entries: list[TimelineEntry], district: District) -> PublicCase:
    facts = [TimelineFact(e.type, e.at, json.loads(e.details)) for e in entries]
    return public_case(case_no=case.case_no or "", status=case.status, category=case.category,
                       registered_at=case.created_at, facts=facts, district=district)


def _masked(text: str | None, full: bool) -> str | None:
    return text if full or text is None else mask_phones_in_text(text)


def _while_running(until: datetime | None, now: datetime) -> datetime | None:
    """A suspension that ran out restarted the clock by itself; no event says so."""
    return until if until is not None and until > now else None


def detail(case: Case, context: Context, *, full: bool) -> CaseDetail:
    category = context.district.category_by_code.get(case.category)
    return CaseDetail(
        case_id=case.case_id, case_no=case.case_no, status=case.status, source=case.source, category=case.category,
        category_name=category.name if category else case.category, priority=case.priority,
        description=case.description if full else mask_phones_in_text(case.description),
        address=_masked(case.address, full), grid_code=case.grid_code, citizen_name=_masked(case.citizen_name, full),
        citizen_phone=case.citizen_phone if full else mask_phone(case.citizen_phone),
        external_id=case.external_id, tracking_code=case.tracking_code if full else None,
        branch_code=case.branch_code, street_code=case.street_code, member_id=case.member_id,
        accept_deadline=case.accept_deadline, respond_deadline=case.respond_deadline,
        suspended_until=_while_running(case.suspended_until, context.clock.now()),
        created_at=case.created_at,
        sla=SlaOutcome(
            seconds_to_accept=case.seconds_to_accept, seconds_to_respond=case.seconds_to_respond,
            accept_breached=case.accept_breached, respond_breached=case.respond_breached,
            escalation_count=case.escalation_count, extension_count=case.extension_count,
            suspension_count=case.suspension_count,
            resolved=case.resolved, satisfied=case.satisfied, rating=case.rating,
        ),
    )
