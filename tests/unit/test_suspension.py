"""Suspending the respond clock (挂起): the deadline moves by the whole suspension, a
resume gives back what was unused, and all suspensions share one allowance."""

from datetime import timedelta

import pytest

from services.claim.store import Task
from services.claim.suspension import is_suspended, resume, suspend, suspension_left
from shared.errors import Refused
from tests.unit.factories import T0

RESPOND_DEADLINE = T0 + timedelta(hours=1)


def claimed_task(**overrides) -> Task:
    fields = {"case_id": "c1", "correlation_id": "c1", "generation": 1, "branch_code": "B0101", "street_code": "S01",
              "status": "claimed", "member_id": "M001", "summary": "{}", "dispatched_at": T0,
              "accept_deadline": T0 + timedelta(minutes=10), "respond_deadline": RESPOND_DEADLINE,
              "suspend_limit_seconds": 4 * 3600.0}
    return Task(**{**fields, **overrides})


def applied(task: Task, changes: dict) -> Task:
    for name, value in changes.items():
        setattr(task, name, value)
    return task


def refusal(call) -> Refused:
    with pytest.raises(Refused) as caught:
        call()
    return caught.value


def test_a_suspension_moves_the_deadline_by_its_whole_length_and_runs_out_by_itself():
    now = T0 + timedelta(minutes=50)
    warned = claimed_task(warning="respond_warning")
    task = applied(warned, suspend(warned, now, timedelta(hours=2)))
    assert task.respond_deadline == RESPOND_DEADLINE + timedelta(hours=2)
    assert task.warning is None, "the warning was about the old deadline"
    assert task.suspended_until == now + timedelta(hours=2) and task.suspensions == 1
    assert suspension_left(task) == timedelta(hours=2)
    assert is_suspended(task, now + timedelta(hours=1, minutes=59))
    assert not is_suspended(task, now + timedelta(hours=2))


def test_resuming_early_gives_back_the_unused_time_and_allowance():
    start = T0 + timedelta(minutes=20)
    task = applied(claimed_task(), suspend(claimed_task(), start, timedelta(hours=2)))
    task = applied(task, resume(task, start + timedelta(minutes=30)))
    assert task.respond_deadline == RESPOND_DEADLINE + timedelta(minutes=30)
    assert suspension_left(task) == timedelta(hours=3, minutes=30)
    assert not is_suspended(task, start + timedelta(minutes=30))


def test_suspensions_share_one_allowance():
    task = claimed_task()
    now = T0 + timedelta(minutes=5)
    for _ in range(2):
        task = applied(task, suspend(task, now, timedelta(hours=2)))
        now = task.suspended_until
    assert suspension_left(task) == timedelta(0)
    assert refusal(lambda: suspend(task, now, timedelta(minutes=1))).status == 422


@pytest.mark.parametrize(("overrides", "length", "status"), [
    ({"suspended_until": T0 + timedelta(hours=1)}, timedelta(hours=1), 409),
    ({"warning": "respond_breached"}, timedelta(hours=1), 409),
    ({"respond_deadline": T0}, timedelta(hours=1), 409),
    ({}, timedelta(0), 422),
    ({}, timedelta(hours=5), 422),
])
def test_refusals_say_why(overrides, length, status):
    now = T0 + timedelta(minutes=10)
    assert refusal(lambda: suspend(claimed_task(**overrides), now, length)).status == status


def test_nothing_to_resume_once_the_suspension_ran_out():
    task = applied(claimed_task(), suspend(claimed_task(), T0, timedelta(minutes=30)))
    assert refusal(lambda: resume(task, T0 + timedelta(minutes=30))).status == 409
