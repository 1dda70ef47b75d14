"""Intake's tables: the case register (with its projected status) and the timeline."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, bindparam, func, insert, or_, select, update
from sqlalchemy import Sequence as SqlSequence
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from services.intake.caseview import OPEN_STATUSES, CaseState, apply, timeline_json
from services.intake.outcomes import Outcome, take_outcome
from services.intake.report import CaseOutcomeRow
from shared.events import Envelope, ProjectPublished, event_id_for


class Case(SQLModel, table=True):
    __tablename__ = "intake_case"
    # Both columns: the open-case gauge then counts from the index alone, a seventh of the
    # time of reading every open case's row (``open_case_counts``).
    __table_args__ = (Index("ix_intake_case_status_branch", "status", "branch_code"),)

    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    case_id: str = Field(max_length=36, unique=True)
    case_no: str | None = Field(default=None, max_length=40, unique=True)
    tracking_code: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=64, unique=True)
    source: str = Field(max_length=16)
    description: str
    category: str = Field(max_length=32)
    priority: str = Field(max_length=16)
    citizen_name: str | None = None
    citizen_phone: str | None = None
    grid_code: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    created_at: datetime = Field(index=True)
    correlation_id: str = Field(max_length=36)
    status: str = Field(default="registered", max_length=16)
    generation: int = 0
    rank: int = 0
    branch_code: str | None = Field(default=None, max_length=32, index=True)
    street_code: str | None = Field(default=None, max_length=32)
    member_id: str | None = Field(default=None, max_length=32)
    accept_deadline: datetime | None = None
    respond_deadline: datetime | None = None
    suspended_until: datetime | None = None
    deadline_generation: int = 0
    shift_generation: int = 0
    accept_shift_seconds: float = 0.0
    respond_shift_seconds: float = 0.0
    updated_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    seconds_to_accept: float | None = None
    seconds_to_respond: float | None = None
    accept_breached: bool = False
    respond_breached: bool = False
    escalation_count: int = 0
    extension_count: int = 0
    suspension_count: int = 0
    resolved: bool = False
    satisfied: bool | None = None
    rating: int | None = None
    feedback_at: datetime | None = None


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "intake_timeline"

    event_id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(max_length=36, index=True)
    type: str = Field(max_length=32)
    at: datetime
    details: str


TABLES = [Case.__table__, TimelineEntry.__table__]  # type: ignore[attr-defined]  # SQLModel declares no __table__
CASES, TIMELINE = TABLES
SEQ = SqlSequence("intake_case_seq_seq")
"""PostgreSQL's sequence behind ``Case.seq`` (a BIGSERIAL column), in the service's schema."""


async def find_case(session: AsyncSession, case_id: str) -> Case | None:
    return (await session.execute(select(Case).where(col(Case.case_id) == case_id))).scalar_one_or_none()


@dataclass(frozen=True)
class CaseKeys:
    """What registration tells about a case, new or registered before."""

    case_id: str
    case_no: str
    tracking_code: str
    source: str
    category: str


async def cases_by_external_id(session: AsyncSession, external_ids: Iterable[str]) -> dict[str, CaseKeys]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    c = CASES.c
    rows = await session.execute(select(c.external_id, c.case_id, c.case_no, c.tracking_code, c.source, c.category)
                                 .where(c.external_id.in_(wanted)))
    return {external_id: CaseKeys(*keys) for external_id, *keys in rows.tuples()}


async def reserve_seqs(session: AsyncSession, count: int) -> list[int]:
    """``count`` values of ``seq`` that no other transaction takes, in rising order.
    PostgreSQL draws them from the column's own sequence, so replicas registering at once
    never share one; SQLite has one writer, whose lock is held from the transaction's
    first statement (BEGIN IMMEDIATE), so the values after the highest are this one's."""
    if count <= 0:
        return []
    if not _on_postgres(session):
        highest = (await session.execute(select(func.max(CASES.c.seq)))).scalar_one() or 0
        return list(range(highest + 1, highest + 1 + count))
    drawn = await session.execute(select(SEQ.next_value()).select_from(func.generate_series(1, count)))
    return sorted(drawn.scalars())


async def insert_cases(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert new cases in one statement; the case_ids of those inserted. A case whose
    external_id another transaction registered meanwhile is left out: on PostgreSQL two
    replicas' transactions run side by side, and the insert waits for the other one to end.
    In external_id order, so two such batches take their keys in one order and never wait
    on each other in a ring."""
    if not rows:
        return set()
    dialect = postgresql if _on_postgres(session) else sqlite
    statement = (dialect.insert(CASES).on_conflict_do_nothing(index_elements=[CASES.c.external_id])
                 .returning(CASES.c.case_id))
    ordered = sorted(rows, key=lambda row: (row["external_id"] is None, row["external_id"] or ""))
    return set((await session.execute(statement, ordered)).scalars())


def _on_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def list_cases(
    session: AsyncSession, *, status: str | None, branch_code: str | None, external_id: str | None,
    page: int, page_size: int, street_code: str | None = None,
) -> tuple[list[Case], int]:
    """``street_code`` keeps a street's cases: those with its branches or in its queue."""
    search = CaseSearch(status=status, branch_code=branch_code, external_id=external_id, street_code=street_code)
    return await search_cases(session, search, page=page, page_size=page_size)


async def timeline(session: AsyncSession, case_id: str) -> list[TimelineEntry]:
    rows = await session.execute(
        select(TimelineEntry).where(col(TimelineEntry.case_id) == case_id).order_by(col(TimelineEntry.at))
    )
    return list(rows.scalars())


@dataclass
class Projected:
    """A case's projected columns, as read and as the batch's events moved them."""

    state: CaseState
    outcome: Outcome
    read: tuple[Any, ...]

    def changed(self) -> dict[str, Any]:
        # A dataclass's __dict__ holds its fields in their declared order, as _PROJECTED does.
        now = (*vars(self.state).values(), *vars(self.outcome).values())
        return {name: value for name, value, was in zip(_PROJECTED, now, self.read, strict=True) if value != was}


async def project(session: AsyncSession, events: Sequence[Envelope], now: datetime) -> int:
    """Add the events to their cases' timelines and move the cases' status and outcome, in
    one statement for the timeline and one for each set of columns the cases changed. An
    event seen before (by event id, in this batch too) is skipped, as is one whose case is
    unknown here (registered by another intake deployment). How many events were added.

    The cases' rows stay locked (PostgreSQL; taken in case_id order) until the transaction
    ends: a case's events come on several topics, which two replicas may consume side by
    side, and each reads the case, moves it and writes it back."""
    keyed = [(str(event.event_id), str(event.case_id), event) for event in events]
    cases = await _projected(session, {case_id for _, case_id, _ in keyed})
    seen = await _on_timeline(session, {event_id for event_id, _, _ in keyed})
    entries: list[dict[str, Any]] = []
    moved: set[str] = set()
    for event_id, case_id, event in keyed:
        case = cases.get(case_id)
        if case is None or event_id in seen:
            continue
        seen.add(event_id)
        entries.append({"event_id": event_id, "case_id": case_id, "type": event.type, "at": event.occurred_at,
                        "details": timeline_json(event)})
        case.state, case.outcome = apply(case.state, event), take_outcome(case.outcome, event)
        moved.add(case_id)
    if not entries:
        return 0
    await session.execute(insert(TIMELINE), entries)
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for case_id in sorted(moved):
        changed = cases[case_id].changed() | {"updated_at": now}
        changes[tuple(changed)].append({"key": case_id, **changed})
    for columns, rows in changes.items():
        await session.execute(update(CASES).where(CASES.c.case_id == bindparam("key"))
                              .values({name: bindparam(name) for name in columns}), rows)
    return len(entries)


PROJECT_LINKED = "project.linked"
LINK_DETAILS = {"project_id", "project_no", "title", "place", "starts_at", "publisher_id"}


async def link_projects(session: AsyncSession, published: Sequence[ProjectPublished]) -> int:
    """Put each project on the timelines of the appeals it answers, once: the entry's id is
    derived from case and project, so a repeat finds it. Cases unknown here are skipped,
    as ``project`` skips their events. How many entries were added."""
    links = {event_id_for(case_id, f"{PROJECT_LINKED}:{event.project_id}"): (str(case_id), event)
             for event in published for case_id in event.case_ids}
    if not links:
        return 0
    known = set((await session.execute(
        select(CASES.c.case_id).where(CASES.c.case_id.in_(sorted({case_id for case_id, _ in links.values()})))
    )).scalars())
    seen = await _on_timeline(session, {str(entry_id) for entry_id in links})
    entries = [{"event_id": str(entry_id), "case_id": case_id, "type": PROJECT_LINKED, "at": event.occurred_at,
                "details": event.model_dump_json(include=LINK_DETAILS)}
               for entry_id, (case_id, event) in links.items() if case_id in known and str(entry_id) not in seen]
    if entries:
        await session.execute(insert(TIMELINE), entries)
    return len(entries)


_PROJECTED = tuple(field.name for field in (*fields(CaseState), *fields(Outcome)))
_SPLIT = 1 + len(fields(CaseState))
"""Where a case's outcome starts in its row as read (after case_id and its state)."""


async def _projected(session: AsyncSession, case_ids: set[str]) -> dict[str, Projected]:
    if not case_ids:
        return {}
    c = CASES.c
    query = (select(c.case_id, *(c[name] for name in _PROJECTED))
             .where(c.case_id.in_(sorted(case_ids))).order_by(c.case_id).with_for_update())
    return {row[0]: Projected(CaseState(*row[1:_SPLIT]), Outcome(*row[_SPLIT:]), row[1:])
            for row in (await session.execute(query)).tuples()}


async def _on_timeline(session: AsyncSession, event_ids: set[str]) -> set[str]:
    if not event_ids:
        return set()
    query = select(TIMELINE.c.event_id).where(TIMELINE.c.event_id.in_(sorted(event_ids)))
    return set((await session.execute(query)).scalars())


async def report_rows(session: AsyncSession, *, since: datetime | None = None,
                      street_code: str | None = None, street_branches: list[str] | None = None,
                      ) -> list[CaseOutcomeRow]:
    """The outcome of every case created since the date, of a street's branches or in its queue."""
    query = select(col(Case.branch_code), col(Case.first_dispatched_at), col(Case.seconds_to_accept),
                   col(Case.accept_breached), col(Case.seconds_to_respond), col(Case.respond_breached),
                   col(Case.resolved), col(Case.satisfied))
    if since is not None:
        query = query.where(col(Case.created_at) >= since)
    if street_code is not None:
        query = query.where(or_(col(Case.street_code) == street_code,
                                col(Case.branch_code).in_(street_branches or [])))
    return [CaseOutcomeRow(*row) for row in (await session.execute(query)).all()]


async def open_case_counts(session: AsyncSession) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(col(Case.branch_code), col(Case.status), func.count())
        .where(col(Case.status).in_(OPEN_STATUSES))
        .group_by(col(Case.branch_code), col(Case.status))
    )
    return [(branch or "none", status, count) for branch, status, count in rows.all()]


@dataclass(frozen=True)
class CaseSearch:
    """What an operator looks a case up by; every given filter must match."""

    case_no: str | None = None
    phone: str | None = None
    registered_from: datetime | None = None
    registered_before: datetime | None = None
    status: str | None = None
    branch_code: str | None = None
    street_code: str | None = None
    text: str | None = None
    external_id: str | None = None

    def where(self) -> list[Any]:
        found: list[Any] = []
        if self.case_no:
            found.append(col(Case.case_no).contains(self.case_no, autoescape=True))
        if self.phone:
            found.append(col(Case.citizen_phone).contains(self.phone, autoescape=True))
        if self.registered_from:
            found.append(col(Case.created_at) >= self.registered_from)
        if self.registered_before:
            found.append(col(Case.created_at) < self.registered_before)
        if self.status:
            found.append(col(Case.status) == self.status)
        if self.branch_code:
            found.append(col(Case.branch_code) == self.branch_code)
        if self.street_code:
            found.append(col(Case.street_code) == self.street_code)
        if self.external_id:
            found.append(col(Case.external_id) == self.external_id)
        if self.text:
            found.append(or_(col(Case.description).icontains(self.text, autoescape=True),
                             col(Case.address).icontains(self.text, autoescape=True)))
        return found


async def search_cases(session: AsyncSession, search: CaseSearch, *, page: int, page_size: int,
                       ) -> tuple[list[Case], int]:
    """Newest first, a page at a time, with the number of all matches."""
    query = select(Case).where(*search.where())
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(col(Case.seq).desc()).offset((page - 1) * page_size).limit(page_size)
    )
    return list(rows.scalars()), total


async def find_by_case_no(session: AsyncSession, case_no: str) -> Case | None:
    return (await session.execute(select(Case).where(col(Case.case_no) == case_no))).scalar_one_or_none()


async def similar_open_cases(session: AsyncSession, *, grid_code: str | None, address: str | None,
                             category: str | None, limit: int = 5) -> list[Case]:
    """Open cases of the same category in the same grid or at the same address: likely the
    same problem reported again."""
    places = [col(Case.grid_code) == grid_code] if grid_code else []
    if address:
        places.append(col(Case.address) == address)
    if not places:
        return []
    query = select(Case).where(or_(*places), col(Case.status).in_(OPEN_STATUSES))
    if category:
        query = query.where(col(Case.category) == category)
    rows = await session.execute(query.order_by(col(Case.seq).desc()).limit(limit))
    return list(rows.scalars())


async def street_open_cases(session: AsyncSession, street_code: str, statuses: tuple[str, ...],
                            limit: int = 500) -> list[Case]:
    """A street's cases in these statuses (its branches' and its queue's), oldest first."""
    rows = await session.execute(
        select(Case).where(col(Case.street_code) == street_code, col(Case.status).in_(statuses))
        .order_by(col(Case.seq)).limit(limit))
    return list(rows.scalars())
