"""Registering cases: the one path the inbound topics (a batch at a time) and the HTTP
form and page (a batch of one) take."""

import uuid
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from services.intake.classify import case_number, check_grid, decide_category_and_priority
from services.intake.store import CaseKeys, cases_by_external_id, insert_cases, reserve_seqs
from shared.clock import Clock
from shared.district import District
from shared.events import CaseRegistered, CaseReport, CaseSummary, Priority, Source, event_id_for
from shared.idempotency import Transaction
from shared.ids import time_ordered_uuid
from shared.privacy import mask_phone, new_tracking_code, tracking_hash

Filed = tuple[CaseReport, str | None]
"""A report and the sender's work-order number (its external_id), if it has one."""


@dataclass(frozen=True)
class Registration:
    case: CaseKeys
    created: bool


async def register(tx: Transaction, filed: Sequence[Filed], district: District, clock: Clock) -> list[Registration]:
    """One registration per report, in order: a new case, or the case its external_id
    already names (registered before, or earlier in the same batch)."""
    decided = [Decided(report, external_id, *decide(report, district)) for report, external_id in filed]
    known = await cases_by_external_id(tx.session, {d.external_id for d in decided if d.external_id is not None})
    rows = new_rows(decided, known, clock.now())
    new = [row for row in rows if row is not None]
    for row, seq in zip(new, await reserve_seqs(tx.session, len(new)), strict=True):
        row["seq"], row["case_no"] = seq, case_number(district.district.code, row["created_at"], seq)
    inserted = await insert_cases(tx.session, new)
    lost = {row["external_id"] for row in new if row["case_id"] not in inserted}
    if lost:
        # Another transaction registered these external_ids between our lookup and our
        # insert (PostgreSQL runs them side by side): its cases are these reports' cases.
        found = await cases_by_external_id(tx.session, lost)
        if found.keys() != lost:
            raise RuntimeError(f"cases with external_ids {sorted(lost - found.keys())} were neither inserted nor found")
        known |= found
    known |= {row["external_id"]: keys_of(row) for row in new if row["case_id"] in inserted and row["external_id"]}
    tx.emit(*(registered_event(row) for row in new if row["case_id"] in inserted))
    return [Registration(keys_of(row), created=True) if row is not None and row["case_id"] in inserted
            else Registration(known[cast(str, d.external_id)], created=False)
            for row, d in zip(rows, decided, strict=True)]


class Decided(NamedTuple):
    report: CaseReport
    external_id: str | None
    category: str
    priority: str


def new_rows(decided: Sequence[Decided], known: Container[str], now: datetime) -> list[dict[str, Any] | None]:
    """The new case's row for each report that makes one (numbered later); None for a
    report whose external_id is known, or came earlier in the batch."""
    rows: list[dict[str, Any] | None] = []
    seen: set[str] = set()
    for report, external_id, category, priority in decided:
        if external_id is not None and (external_id in known or external_id in seen):
            rows.append(None)
            continue
        if external_id is not None:
            seen.add(external_id)
        rows.append(new_case(report, external_id, category, priority, now))
    return rows


def decide(report: CaseReport, district: District) -> tuple[str, str]:
    check_grid(report.grid_code, district)
    return decide_category_and_priority(report.description, report.category, report.priority, district)


def new_case(report: CaseReport, external_id: str | None, category: str, priority: str,
             now: datetime) -> dict[str, Any]:
    """A new case's row, as ``store.insert_cases`` takes it."""
    return {
        "case_id": str(time_ordered_uuid()), "tracking_code": new_tracking_code(), "external_id": external_id,
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
