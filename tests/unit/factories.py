"""Fixture factories for the unit tests: the bundled 鼓楼区 district, a tiny hand-made
district, case summaries and case events with memorable Chinese sample data."""

import copy
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.sla.firing import timer_event
from services.sla.store import Timer
from shared.district import District, bundled_district_path, load_district
from shared.events import (
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    CaseSummary,
    Envelope,
    FeedbackRecorded,
    SlaBreached,
    SlaExtended,
    TaskClaimed,
    TaskExpired,
    TaskResolved,
    TaskResponded,
    TaskResumed,
    TaskReturned,
    TaskSuspended,
    event_id_for,
)

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
CASE_ID = uuid.UUID("00000000-0000-4000-8000-000000012345")
CORRELATION_ID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


@cache
def sample_district() -> District:
    """The bundled district, loaded once (it is frozen, so sharing it is safe)."""
    return load_district()


def sample_district_dict() -> dict[str, Any]:
    """A fresh, mutable copy of the bundled district's YAML."""
    return copy.deepcopy(_sample_raw())


@cache
def _sample_raw() -> dict[str, Any]:
    return yaml.safe_load(bundled_district_path().read_text(encoding="utf-8"))


def tiny_district_dict() -> dict[str, Any]:
    """Two streets; in 西湖街道 the short alias 西湖 belongs to the first community and the
    longer 西湖公园 to the second, so a first-match lookup would pick the wrong one."""
    return {
        "district": {"code": "350100", "name": "测试区"},
        "sla": {
            "normal": {"accept": "10m", "respond": "1h", "warn_at": 0.8},
            "urgent": {"accept": "5m", "respond": "30m", "warn_at": 0.8},
        },
        "categories": [
            {"code": "noise", "name": "噪音扰民", "keywords": ["噪音", "吵闹"]},
            {"code": "road", "name": "道路设施", "keywords": ["路灯", "井盖"]},
        ],
        "streets": [
            {
                "code": "T01",
                "name": "西湖街道",
                "communities": [
                    {"code": "K01", "name": "湖畔社区", "aliases": ["西湖"],
                     "branch": {"code": "KB01", "name": "湖畔社区党支部"}, "grids": ["GK01"],
                     "members": [{"id": "P01", "name": "李雷", "skills": ["noise"], "password": "demo"}]},
                    {"code": "K02", "name": "公园社区", "aliases": ["西湖公园"],
                     "branch": {"code": "KB02", "name": "公园社区党支部"}, "grids": ["GK02"],
                     "members": [{"id": "P02", "name": "韩梅梅", "skills": ["road"], "password": "demo"}]},
                ],
            },
            {
                "code": "T02",
                "name": "屏山街道",
                "communities": [
                    {"code": "K03", "name": "屏山社区", "aliases": ["镇海楼"],
                     "branch": {"code": "KB03", "name": "屏山社区党支部"}, "grids": ["GK03"]},
                ],
            },
        ],
    }


def make_district(raw: dict[str, Any] | None = None, **top_level: Any) -> District:
    """A district from ``raw`` (default: a copy of the bundled one) with top-level keys replaced."""
    data = sample_district_dict() if raw is None else copy.deepcopy(raw)
    data.update(top_level)
    return District.model_validate(data)


def write_district(directory: Path, raw: Any, name: str = "district.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_summary(**overrides: Any) -> CaseSummary:
    fields: dict[str, Any] = {
        "case_no": "350102-20261121-000001",
        "source": "hotline",
        "description": "楼下装修噪音吵闹，晚上十点还在施工",
        "category": "noise",
        "priority": "normal",
        "address": None,
        "grid_code": None,
        "citizen_name": "王女士",
        "citizen_phone_masked": "138****0001",
    }
    fields.update(overrides)
    return CaseSummary(**fields)


def _envelope(kind: str, generation: int, at: datetime, case_id: uuid.UUID) -> dict[str, Any]:
    return {"event_id": event_id_for(case_id, kind, generation), "occurred_at": at, "case_id": case_id,
            "correlation_id": CORRELATION_ID}


def make_registered(*, at: datetime = T0, case_id: uuid.UUID = CASE_ID, **overrides: Any) -> CaseRegistered:
    fields = {**_envelope("registered", 0, at, case_id), "summary": make_summary(), "tracking_code_hash": "ab" * 32}
    return CaseRegistered(**{**fields, **overrides})


def make_dispatched(generation: int = 1, branch_code: str = "B0101", *, at: datetime = T0,
                    case_id: uuid.UUID = CASE_ID, accept: timedelta = timedelta(minutes=10),
                    respond: timedelta = timedelta(hours=1), warn_at: float = 0.8,
                    **overrides: Any) -> CaseDispatched:
    fields = {
        **_envelope("dispatched", generation, at, case_id), "generation": generation, "branch_code": branch_code,
        "community_code": "C" + branch_code[1:], "street_code": "S" + branch_code[1:3], "reason": "initial",
        "accept_deadline": at + accept, "respond_deadline": at + respond, "warn_at": warn_at,
        "summary": make_summary(),
    }
    return CaseDispatched(**{**fields, **overrides})


def make_escalated(generation: int, street_code: str = "S01", *, at: datetime = T0,
                   case_id: uuid.UUID = CASE_ID) -> CaseEscalated:
    return CaseEscalated(**_envelope("escalated", generation, at, case_id), generation=generation,
                         street_code=street_code, reason="无支部可接单", summary=make_summary())


def make_claimed(generation: int = 1, member_id: str = "M001", branch_code: str = "B0101", *,
                 at: datetime = T0, case_id: uuid.UUID = CASE_ID, seconds: float = 120.0) -> TaskClaimed:
    return TaskClaimed(**_envelope("claimed", generation, at, case_id), generation=generation,
                       branch_code=branch_code, member_id=member_id, seconds_to_accept=seconds)


def make_responded(generation: int = 1, member_id: str = "M001", branch_code: str = "B0101", *,
                   at: datetime = T0, case_id: uuid.UUID = CASE_ID, seconds: float = 900.0) -> TaskResponded:
    return TaskResponded(**_envelope("responded", generation, at, case_id), generation=generation,
                         branch_code=branch_code, member_id=member_id, note="已电话联系王女士",
                         seconds_to_respond=seconds)


def make_resolved(generation: int = 1, member_id: str = "M001", branch_code: str = "B0101", *,
                  at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> TaskResolved:
    return TaskResolved(**_envelope("resolved", generation, at, case_id), generation=generation,
                        branch_code=branch_code, member_id=member_id, note="已协调施工方晚上停工")


def make_returned(generation: int = 1, member_id: str = "M001", branch_code: str = "B0101", *,
                  at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> TaskReturned:
    return TaskReturned(**_envelope("returned", generation, at, case_id), generation=generation,
                        branch_code=branch_code, member_id=member_id, reason="不属于本社区")


def make_extended(generation: int = 1, stage: str = "respond", *, at: datetime = T0, case_id: uuid.UUID = CASE_ID,
                  by: timedelta = timedelta(minutes=30), deadline: datetime | None = None) -> SlaExtended:
    return SlaExtended(**_envelope(f"extended-{stage}", generation, at, case_id), generation=generation, stage=stage,
                       branch_code="B0101", deadline=deadline or T0 + timedelta(hours=1) + by,
                       extended_by_seconds=by.total_seconds(), reason="诉求人出差", supervisor_id="U900")


def make_suspended(generation: int = 1, *, at: datetime = T0, case_id: uuid.UUID = CASE_ID,
                   length: timedelta = timedelta(hours=2), respond_deadline: datetime | None = None,
                   number: int = 1) -> TaskSuspended:
    return TaskSuspended(**_envelope(f"suspend#{number}", generation, at, case_id), generation=generation,
                         branch_code="B0101", member_id="M001", reason="诉求人电话无人接听", until=at + length,
                         suspended_seconds=length.total_seconds(),
                         respond_deadline=respond_deadline or T0 + timedelta(hours=1) + length)


def make_resumed(generation: int = 1, *, at: datetime = T0, case_id: uuid.UUID = CASE_ID,
                 suspended: timedelta = timedelta(minutes=30), unused: timedelta = timedelta(minutes=90),
                 respond_deadline: datetime | None = None, number: int = 1) -> TaskResumed:
    return TaskResumed(**_envelope(f"resume#{number}", generation, at, case_id), generation=generation,
                       branch_code="B0101", member_id="M001", suspended_seconds=suspended.total_seconds(),
                       unused_seconds=unused.total_seconds(),
                       respond_deadline=respond_deadline or T0 + timedelta(hours=1) + suspended)


def make_expired(generation: int = 1, branch_code: str = "B0101", *, at: datetime = T0,
                 case_id: uuid.UUID = CASE_ID) -> TaskExpired:
    return TaskExpired(**_envelope("expired", generation, at, case_id), generation=generation,
                       branch_code=branch_code)


def make_reopened(generation: int = 1, *, at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> CaseReopened:
    return CaseReopened(**_envelope("reopened", generation, at, case_id), generation=generation,
                        reason="噪音依旧，不满意")


def make_closed(generation: int = 1, *, at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> CaseClosed:
    return CaseClosed(**_envelope("closed", generation, at, case_id), generation=generation)


def make_breached(generation: int = 1, stage: str = "accept", branch_code: str = "B0101", *,
                  at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> SlaBreached:
    return SlaBreached(**_envelope(f"breached-{stage}", generation, at, case_id), generation=generation,
                       stage=stage, branch_code=branch_code, deadline=at)


def make_feedback(generation: int = 1, *, rating: int = 5, satisfied: bool = True, branch_code: str = "B0101",
                  at: datetime = T0, case_id: uuid.UUID = CASE_ID) -> FeedbackRecorded:
    return FeedbackRecorded(**_envelope("feedback", generation, at, case_id), generation=generation,
                            branch_code=branch_code, rating=rating, resolved=satisfied, satisfied=satisfied,
                            comment="处理及时" if satisfied else "噪音依旧")


def make_timer_fired(kind: str, deadline: datetime, *, case_id: uuid.UUID = CASE_ID,
                     generation: int = 1) -> Envelope:
    """A warning or deadline event exactly as the firing loop makes it, ids included."""
    timer = Timer(case_id=str(case_id), correlation_id=str(CORRELATION_ID), kind=kind,
                  stage=kind.removesuffix("_warning"), generation=generation, branch_code="B0101",
                  due_at=deadline, deadline=deadline)
    return timer_event(timer, deadline)
