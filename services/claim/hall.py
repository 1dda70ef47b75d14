"""The project hall (服务大厅): publishing volunteer projects and each member's steps in
one, each one transaction with its event (``projects`` has the rules, ``project_store``
the fences). Counted once committed."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.claim import project_store as store
from services.claim import store as task_store
from services.claim.metrics import ClaimMetrics
from services.claim.projects import (
    CONFIRM,
    WITHDRAW,
    Conflict,
    ProjectStatus,
    SlotStatus,
    Step,
    check_claim,
    check_confirm,
    check_skills,
    check_step,
    check_window,
    local_day,
    occurrences,
    points_for,
    project_number,
    publishing_scope,
    withdrawal_is_late,
)
from shared.auth import Identity
from shared.clock import Clock
from shared.district import District
from shared.errors import Refused
from shared.events import (
    ProjectCheckedIn,
    ProjectCheckedOut,
    ProjectCompletionConfirmed,
    ProjectMemberEvent,
    ProjectPublished,
    ProjectReported,
    ProjectSlotClaimed,
    ProjectSlotWithdrawn,
    event_id_for,
)
from shared.idempotency import UnitOfWork
from shared.ids import time_ordered_uuid
from shared.privacy import new_tracking_code, tracking_hash

log = structlog.get_logger()


@dataclass(frozen=True)
class Proposal:
    """What a publisher asks for, as the API's body or the page's form gives it."""

    title: str
    description: str
    skills: list[str]
    place: str
    starts_at: datetime
    ends_at: datetime
    slots: int
    points: int | None = None
    claim_cutoff: datetime | None = None
    repeat_weeks: int = 1
    branch_code: str | None = None
    street_code: str | None = None
    case_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Published:
    project: store.Project
    evaluation_code: str
    """Shown to the publisher once; only its hash is kept."""


class ProjectHall:
    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: ClaimMetrics, district: District) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics
        self.district = district

    async def publish(self, proposal: Proposal, who: Identity) -> list[Published]:
        """One project, or one per week of a recurring one; ``Refused`` 403 or 422 naming the
        field, and then nothing is stored."""
        scope = publishing_scope(who, self.district, proposal.branch_code, proposal.street_code)
        now = self.clock.now()
        window = check_window(now, proposal.starts_at, proposal.ends_at, proposal.claim_cutoff)
        points = points_for(proposal.points, self.district.points)
        skills = check_skills(proposal.skills, self.district)
        windows = occurrences(window, proposal.repeat_weeks)
        series_id = time_ordered_uuid() if len(windows) > 1 else None
        case_ids = [str(case_id) for case_id in dict.fromkeys(proposal.case_ids)]
        async with self.uow.begin() as tx:
            if case_ids:
                on_board = await task_store.cases_on_board(tx.session, case_ids)
                foreign = [case_id for case_id in case_ids if on_board.get(case_id) != scope.street_code]
                if foreign:
                    raise Refused(422, f"cases not on the task board of street {scope.street_code}: "
                                  f"{', '.join(foreign)}", field="body.case_ids")
            day = local_day(now)
            numbers = await store.number_projects(tx.session, day, len(windows))
            published: list[Published] = []
            for occurrence, (slot_window, number) in enumerate(zip(windows, numbers, strict=True), start=1):
                code = new_tracking_code()
                project = store.Project(
                    project_id=str(time_ordered_uuid()), project_no=project_number(day, number), title=proposal.title,
                    description=proposal.description, skills=skills, place=proposal.place,
                    street_code=scope.street_code, branch_code=scope.branch_code, publisher_id=who.user_id,
                    starts_at=slot_window.starts_at, ends_at=slot_window.ends_at,
                    claim_cutoff=slot_window.claim_cutoff, slots=proposal.slots, filled=0, points=points,
                    series_id=str(series_id) if series_id else None, occurrence=occurrence, case_ids=case_ids,
                    evaluation_code_hash=tracking_hash(code), status=ProjectStatus.OPEN, published_at=now)
                published.append(Published(project, code))
            await store.insert_projects(tx.session, [p.project.model_dump() for p in published])
            tx.emit(*(published_event(p.project, now) for p in published))
        self.metrics.projects_published.labels(scope.street_code).inc(len(published))
        log.info("projects_published", street=scope.street_code, branch=scope.branch_code, count=len(published),
                 publisher=who.user_id, project_no=published[0].project.project_no)
        return published

    async def claim(self, project_id: str, who: Identity) -> store.ProjectSlot:
        now = self.clock.now()
        async with self.uow.begin() as tx:
            project = await self._project(tx.session, project_id)
            slot = await store.find_slot(tx.session, project_id, who.user_id)
            check_claim(who, self.district, project, _status(slot), now)
            filled = await store.take_slot(tx.session, project_id, now)
            if filled is None:
                raise Refused(409, Conflict.FULL if project.claim_cutoff > now else Conflict.CLOSED)
            if slot is None:
                slot = store.ProjectSlot(project_id=project_id, member_id=who.user_id, branch_code=who.unit or "",
                                         status=SlotStatus.CLAIMED, claims=1, claimed_at=now)
                if not await store.add_slot(tx.session, slot.model_dump()):
                    raise Refused(409, Conflict.CLAIMED)
            else:
                values = {"status": SlotStatus.CLAIMED, "claimed_at": now, "withdrawn_at": None, "late": False,
                          "claims": slot.claims + 1}
                if not await store.move_slot(tx.session, slot, (SlotStatus.WITHDRAWN,), values):
                    raise Refused(409, Conflict.CLAIMED)
                slot = slot.model_copy(update=values)
            tx.emit(ProjectSlotClaimed(filled=filled, slots=project.slots,
                                       **_member_common(project, slot, "claimed", now)))
        self.metrics.project_slots_claimed.labels(slot.branch_code).inc()
        log.info("project_slot_claimed", project_id=project_id, member=who.user_id, filled=filled)
        return slot

    async def step(self, step: Step, project_id: str, who: Identity, note: str | None = None) -> store.ProjectSlot:
        """Withdraw, check in, check out or report (``note`` required)."""
        now = self.clock.now()
        async with self.uow.begin() as tx:
            project = await self._project(tx.session, project_id)
            slot = await store.find_slot(tx.session, project_id, who.user_id)
            check_step(step, who, project, _status(slot), now)
            assert slot is not None, "check_step refuses a member without a slot"
            values = _step_values(step, project, now, note)
            taken = project.filled
            if step is WITHDRAW and not values["late"]:
                # The project row first, as a claim takes it: the two never wait in a ring.
                reopened = await store.give_back_slot(tx.session, project_id, now)
                if reopened is None:
                    raise Refused(409, Conflict.CHANGED)
                taken = reopened
            if not await store.move_slot(tx.session, slot, step.from_statuses, values):
                raise Refused(409, Conflict.CHANGED)
            slot = slot.model_copy(update=values)
            tx.emit(_step_event(step, project, slot, now, taken))
        if step is WITHDRAW:
            self.metrics.project_withdrawals.labels(slot.branch_code, str(slot.late).lower()).inc()
        log.info("project_step", step=step.name, project_id=project_id, member=who.user_id)
        return slot

    async def confirm(self, project_id: str, member_id: str, who: Identity) -> store.ProjectSlot:
        now = self.clock.now()
        async with self.uow.begin() as tx:
            project = await self._project(tx.session, project_id)
            slot = await store.find_slot(tx.session, project_id, member_id)
            check_confirm(who, self.district, project, _status(slot))
            assert slot is not None, "check_confirm refuses a member without a slot"
            values = {"status": CONFIRM.to_status, CONFIRM.stamp: now, "confirmed_by": who.user_id}
            if not await store.move_slot(tx.session, slot, CONFIRM.from_statuses, values):
                raise Refused(409, Conflict.CONFIRMED)
            slot = slot.model_copy(update=values)
            tx.emit(ProjectCompletionConfirmed(points=project.points, confirmed_by=who.user_id,
                                               **_member_common(project, slot, "confirmed", now)))
        self.metrics.project_completions.labels(slot.branch_code).inc()
        log.info("project_completion_confirmed", project_id=project_id, member=member_id, by=who.user_id)
        return slot

    @staticmethod
    async def _project(session: AsyncSession, project_id: str) -> store.Project:
        project = await store.find_project(session, project_id)
        if project is None:
            raise Refused(404, "no such project")
        return project


def _status(slot: store.ProjectSlot | None) -> SlotStatus | None:
    return None if slot is None else SlotStatus(slot.status)


def _step_values(step: Step, project: store.Project, now: datetime, note: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": step.to_status, step.stamp: now}
    if step is WITHDRAW:
        values["late"] = withdrawal_is_late(project, now)
    if note is not None:
        values["note"] = note
    return values


def _member_common(project: store.Project, slot: store.ProjectSlot, kind: str, now: datetime) -> dict[str, Any]:
    """What every member event of a project carries. The claim count names the event, so a
    claim after a withdrawal, and each step after it, is an event of its own."""
    project_id = uuid.UUID(project.project_id)
    return {"project_id": project_id, "correlation_id": uuid.UUID(project.series_id or project.project_id),
            "occurred_at": now, "event_id": event_id_for(project_id, f"{kind}:{slot.member_id}", slot.claims),
            "member_id": slot.member_id, "branch_code": slot.branch_code, "street_code": project.street_code}


def _step_event(step: Step, project: store.Project, slot: store.ProjectSlot, now: datetime,
                filled: int) -> ProjectMemberEvent:
    common = _member_common(project, slot, step.name, now)
    if step is WITHDRAW:
        return ProjectSlotWithdrawn(filled=filled, late=slot.late, **common)
    if step.to_status == SlotStatus.CHECKED_IN:
        return ProjectCheckedIn(**common)
    if step.to_status == SlotStatus.CHECKED_OUT:
        return ProjectCheckedOut(**common)
    return ProjectReported(note=slot.note or "", **common)


def published_event(project: store.Project, now: datetime) -> ProjectPublished:
    project_id = uuid.UUID(project.project_id)
    series_id = uuid.UUID(project.series_id) if project.series_id else None
    return ProjectPublished(
        project_id=project_id, correlation_id=series_id or project_id, occurred_at=now,
        event_id=event_id_for(project_id, "published"), project_no=project.project_no, title=project.title,
        description=project.description, skills=project.skills, place=project.place, starts_at=project.starts_at,
        ends_at=project.ends_at, claim_cutoff=project.claim_cutoff, slots=project.slots, points=project.points,
        street_code=project.street_code, branch_code=project.branch_code, publisher_id=project.publisher_id,
        series_id=series_id, occurrence=project.occurrence, case_ids=[uuid.UUID(c) for c in project.case_ids],
        evaluation_code_hash=project.evaluation_code_hash)
