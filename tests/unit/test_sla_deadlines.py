from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.sla.deadlines import plan_timers as plan_from_times
from tests.unit.factories import T0, make_dispatched


def plan_timers(dispatch):
    return plan_from_times(dispatch.occurred_at, dispatch.accept_deadline, dispatch.respond_deadline, dispatch.warn_at)


def test_normal_dispatch_plans_four_timers_from_dispatch_time():
    plans = plan_timers(make_dispatched(accept=timedelta(minutes=10), respond=timedelta(hours=1), warn_at=0.8))

    assert [p.kind for p in plans] == ["accept_warning", "accept", "respond_warning", "respond"]
    assert [p.stage for p in plans] == ["accept", "accept", "respond", "respond"]
    assert [p.due_at for p in plans] == [T0 + timedelta(minutes=8), T0 + timedelta(minutes=10),
                                         T0 + timedelta(minutes=48), T0 + timedelta(hours=1)]
    assert [p.deadline for p in plans] == [T0 + timedelta(minutes=10)] * 2 + [T0 + timedelta(hours=1)] * 2
    assert [p.is_warning for p in plans] == [True, False, True, False]


def test_urgent_dispatch_with_an_early_warning():
    plans = plan_timers(make_dispatched(accept=timedelta(minutes=5), respond=timedelta(minutes=30), warn_at=0.5))

    due = {p.kind: p.due_at for p in plans}
    assert due["accept_warning"] == T0 + timedelta(minutes=2, seconds=30)
    assert due["respond_warning"] == T0 + timedelta(minutes=15)


@given(
    accept_s=st.integers(min_value=1, max_value=86_400),
    extra_s=st.integers(min_value=0, max_value=86_400),
    warn_at=st.floats(min_value=0.01, max_value=0.99),
)
def test_each_warning_falls_inside_its_interval(accept_s, extra_s, warn_at):
    accept, respond = timedelta(seconds=accept_s), timedelta(seconds=accept_s + extra_s)

    plans = plan_timers(make_dispatched(accept=accept, respond=respond, warn_at=warn_at))

    for warning, deadline in (plans[0:2], plans[2:4]):
        assert warning.is_warning and not deadline.is_warning
        assert T0 < warning.due_at <= deadline.due_at == warning.deadline
        expected = T0 + (deadline.deadline - T0) * warn_at
        assert abs(warning.due_at - expected) <= timedelta(microseconds=1)
