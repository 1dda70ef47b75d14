"""Urging (督办): who may urge which task, what the task keeps, and the event."""

from datetime import timedelta

import pytest

from services.claim.store import Task
from services.claim.urging import check_urge, urge_changes, urged
from shared.auth import Identity
from shared.errors import Refused
from shared.events import event_id_for
from tests.unit.factories import CASE_ID, T0, make_summary, sample_district

SUPERVISOR = Identity("U900", "林主任", "supervisor", "S01")
OTHER_STREET = Identity("U910", "鼓西街道主任", "supervisor", "S02")
COMMAND_CENTER = Identity("U800", "指挥中心值班长", "command_center", "350102")


def task(status: str = "claimed", branch: str | None = "B0101", urges: int = 0) -> Task:
    return Task(case_id=str(CASE_ID), correlation_id=str(CASE_ID), generation=2, branch_code=branch,
                street_code="S01", status=status, member_id="M001" if status != "open" else None,
                summary=make_summary().model_dump_json(), dispatched_at=T0, urge_count=urges)


@pytest.mark.parametrize("status", ["open", "claimed", "responded"])
@pytest.mark.parametrize("who", [SUPERVISOR, COMMAND_CENTER])
def test_the_street_or_the_command_center_may_urge_an_open_task(status, who):
    check_urge(task(status), who, sample_district())


@pytest.mark.parametrize(("row", "who", "status"), [
    (task(), OTHER_STREET, 403),
    (task("escalated", branch=None), OTHER_STREET, 403),
    (task("escalated", branch=None), SUPERVISOR, 409),
    (task("resolved"), SUPERVISOR, 409),
    (task("returned"), COMMAND_CENTER, 409),
    (task("expired"), SUPERVISOR, 409),
])
def test_refusals(row, who, status):
    with pytest.raises(Refused) as refused:
        check_urge(row, who, sample_district())
    assert refused.value.status == status


def test_each_urge_is_counted_and_the_latest_note_kept():
    now = T0 + timedelta(minutes=20)
    assert urge_changes(task(urges=2), now, "请今天上门") == {"urge_count": 3, "urged_at": now,
                                                            "urge_note": "请今天上门"}
    assert urge_changes(task(urges=3), now, None)["urge_note"] is None


def test_the_event_names_the_urge_so_a_retry_repeats_its_id():
    now = T0 + timedelta(minutes=20)
    first, again = urged(task(), SUPERVISOR, now, "请今天上门"), urged(task(), SUPERVISOR, now, "请今天上门")
    second = urged(task(urges=1), COMMAND_CENTER, now, None)
    assert first.event_id == again.event_id == event_id_for(CASE_ID, "urged#1", 2)
    assert second.event_id != first.event_id and second.urge_count == 2
    assert (first.branch_code, first.member_id, first.supervisor_id, first.generation) == ("B0101", "M001", "U900", 2)
