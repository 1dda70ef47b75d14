"""Registering a case: the one path both the HTTP form and the inbound topics take."""

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy.exc import IntegrityError

from services.intake.classify import case_number, check_grid, decide_category_and_priority, new_tracking_code
from services.intake.store import Case, find_by_external_id
from shared.clock import Clock
from shared.district import District
from shared.events import CaseRegistered, CaseReport, CaseSummary, Priority, Source, event_id_for
from shared.idempotency import Transaction
from shared.privacy import mask_phone, tracking_hash


@dataclass(frozen=True)
class Registration:
    case: Case
    created: bool


async def register(
    tx: Transaction, report: CaseReport, external_id: str | None, district: District, clock: Clock
) -> Registration:
    check_grid(report.grid_code, district)
    category, priority = decide_category_and_priority(report.description, report.category, report.priority, district)
    if external_id is not None:
        existing = await find_by_external_id(tx.session, external_id)
        if existing is not None:
            return Registration(existing, created=False)
    now = clock.now()
    case_id = uuid.uuid4()
    case = Case(
        case_id=str(case_id), tracking_code=new_tracking_code(), external_id=external_id, source=report.source,
        description=report.description, category=category, priority=priority, citizen_name=report.citizen_name,
        citizen_phone=report.citizen_phone, grid_code=report.grid_code, address=report.address, lat=report.lat,
        lon=report.lon, created_at=now, correlation_id=str(uuid.uuid4()),
    )
    try:
        async with tx.session.begin_nested():
            tx.session.add(case)
    except IntegrityError:
        # Another transaction registered the same external_id between our lookup and our
        # insert (PostgreSQL runs them side by side): its case is this report's case.
        existing = await find_by_external_id(tx.session, external_id) if external_id else None
        if not existing:
            raise
        return Registration(existing, created=False)
    case.case_no = case_number(district.district.code, now, case.seq or 0)
    tx.emit(CaseRegistered(
        event_id=event_id_for(case_id, "registered"), occurred_at=now, case_id=case_id,
        correlation_id=uuid.UUID(case.correlation_id), external_id=external_id,
        tracking_code_hash=tracking_hash(case.tracking_code), summary=summary_of(case),
    ))
    return Registration(case, created=True)


def summary_of(case: Case) -> CaseSummary:
    return CaseSummary(
        case_no=case.case_no or "", source=cast(Source, case.source), description=case.description,
        category=case.category, priority=cast(Priority, case.priority), address=case.address,
        grid_code=case.grid_code, citizen_name=case.citizen_name, citizen_phone_masked=mask_phone(case.citizen_phone),
    )
