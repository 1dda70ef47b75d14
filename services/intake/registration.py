"""Registering cases: the one path the inbound topics (a batch at a time) and the HTTP
form and page (a batch of one) take."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from services.intake.classify import case_number, check_grid, decide_category_and_priority, new_tracking_code
from services.intake.store import CaseKeys, cases_by_external_id, insert_cases, reserve_seqs
from shared.clock import Clock
from shared.district import District
from shared.events import CaseRegistered, CaseReport, CaseSummary, Priority, Source, event_id_for
from shared.idempotency import Transaction
from shared.privacy import mask_phone, tracking_hash

Filed = tuple[CaseReport, str | None]
"""A report and the sender's work-order number (its external_id), if it has one."""


@dataclass(frozen=True)
class Registration:
    case: CaseKeys
    created: bool


async def register(tx: Transaction, filed: Sequence[Filed], district: District, clock: Clock) -> list[Registration]:
    """One registration per report, in order: a new case, or the case its external_id
    already names (registered before, or earlier in the same batch)."""
    decided = [(report, external_id, *decide(report, district)) for report, external_id in filed]
    known = await cases_by_external_id(tx.session, {e for _, e, _, _ in decided if e is not None})
    now = clock.now()
    creates: list[dict[str, Any] | None] = []
    first: dict[str, dict[str, Any]] = {}
    for report, external_id, category, priority in decided:
        row = None
        if external_id is None or (external_id not in known and external_id not in first):
            row = new_case(report, external_id, category, priority, now)
            if external_id is not None:
                first[external_id] = row
        creates.append(row)
    new = [row for row in creates if row is not None]
    for row, seq in zip(new, await reserve_seqs(tx.session, len(new)), strict=True):
        row["seq"], row["case_no"] = seq, case_number(district.district.code, now, seq)
    inserted = await insert_cases(tx.session, new)
    known.update((external_id, keys_of(row)) for external_id, row in first.items() if row["case_id"] in inserted)
    raced = first.keys() - known.keys()
    if raced:
        # Another transaction registered these external_ids between our lookup and our
        # insert (PostgreSQL runs them side by side): its cases are these reports' cases.
        found = await cases_by_external_id(tx.session, raced)
        if found.keys() != raced:
            missing = sorted(raced - found.keys())
            raise RuntimeError(f"cases with external_ids {missing} were neither inserted nor found")
        known.update(found)
    tx.emit(*(registered_event(row) for row in new if row["case_id"] in inserted))
    return [Registration(keys_of(row), created=True) if row is not None and row["case_id"] in inserted
            else Registration(known[cast(str, external_id)], created=False)
            for row, (_, external_id, _, _) in zip(creates, decided, strict=True)]


def decide(report: CaseReport, district: District) -> tuple[str, str]:
    check_grid(report.grid_code, district)
    return decide_category_and_priority(report.description, report.category, report.priority, district)


def new_case(report: CaseReport, external_id: str | None, category: str, priority: str,
             now: datetime) -> dict[str, Any]:
    """The new case's row, as ``store.insert_cases`` takes it (numbered later)."""
    return {
        "case_id": str(uuid.uuid4()), "tracking_code": new_tracking_code(), "external_id": external_id,
        "source": report.source, "description": report.description, "category": category, "priority": priority,
        "citizen_name": report.citizen_name, "citizen_phone": report.citizen_phone, "grid_code": report.grid_code,
        "address": report.address, "lat": report.lat, "lon": report.lon, "created_at": now,
        "correlation_id": str(uuid.uuid4()), "seq": None, "case_no": None,
    }


def keys_of(row: dict[str, Any]) -> CaseKeys:
    return CaseKeys(case_id=row["case_id"], case_no=row["case_no"], tracking_code=row["tracking_code"],
                    source=row["source"], category=row["category"])


def registered_event(row: dict[str, Any]) -> CaseRegistered:
    case_id = uuid.UUID(row["case_id"])
    return CaseRegistered(
        event_id=event_id_for(case_id, "registered"), occurred_at=row["created_at"], case_id=case_id,
        correlation_id=uuid.UUID(row["correlation_id"]), external_id=row["external_id"],
        tracking_code_hash=tracking_hash(row["tracking_code"]), summary=CaseSummary(
            case_no=row["case_no"], source=cast(Source, row["source"]), description=row["description"],
            category=row["category"], priority=cast(Priority, row["priority"]), address=row["address"],
            grid_code=row["grid_code"], citizen_name=row["citizen_name"],
            citizen_phone_masked=mask_phone(row["citizen_phone"])),
    )
