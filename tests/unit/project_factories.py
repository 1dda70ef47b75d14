"""Volunteer project events as the claim service publishes them, with memorable defaults:
独居老人上门探访 of 三坊七巷社区党支部 (B0101, street S01), 10 points, evaluation code 2468AB."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.events import ProjectCompletionConfirmed, ProjectPublished, ProjectSlotWithdrawn
from shared.privacy import tracking_hash
from tests.unit.factories import T0

PROJECT_ID = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
EVALUATION_CODE = "2468AB"


def project_event_id(project_id: uuid.UUID, what: str) -> uuid.UUID:
    return uuid.uuid5(project_id, what)


def make_published(*, project_id: uuid.UUID = PROJECT_ID, project_no: str = "XM20261121-001", points: int = 10,
                   at: datetime = T0, **overrides: Any) -> ProjectPublished:
    fields: dict[str, Any] = {
        "event_id": project_event_id(project_id, "published"), "project_id": project_id,
        "correlation_id": project_id, "occurred_at": at, "project_no": project_no, "title": "独居老人上门探访",
        "description": "陪老人聊天，检查燃气和电器", "skills": ["elderly"], "place": "三坊七巷社区服务站",
        "starts_at": at + timedelta(days=1), "ends_at": at + timedelta(days=1, hours=3),
        "claim_cutoff": at + timedelta(hours=12), "slots": 4, "points": points, "street_code": "S01",
        "branch_code": "B0101", "publisher_id": "M001", "evaluation_code_hash": tracking_hash(EVALUATION_CODE)}
    return ProjectPublished(**(fields | overrides))


def make_confirmed(member_id: str = "M002", branch_code: str = "B0101", *, project_id: uuid.UUID = PROJECT_ID,
                   points: int = 10, at: datetime = T0, **overrides: Any) -> ProjectCompletionConfirmed:
    fields: dict[str, Any] = {
        "event_id": project_event_id(project_id, f"confirmed {member_id}"), "project_id": project_id,
        "correlation_id": project_id, "occurred_at": at, "member_id": member_id, "branch_code": branch_code,
        "street_code": "S01", "points": points, "confirmed_by": "M001"}
    return ProjectCompletionConfirmed(**(fields | overrides))


def make_withdrawn(member_id: str = "M003", *, late: bool = True, project_id: uuid.UUID = PROJECT_ID,
                   at: datetime = T0) -> ProjectSlotWithdrawn:
    return ProjectSlotWithdrawn(event_id=project_event_id(project_id, f"withdrawn {member_id}"), project_id=project_id,
                                correlation_id=project_id, occurred_at=at, member_id=member_id, branch_code="B0101",
                                street_code="S01", filled=1, late=late)
