from datetime import timedelta

import pytest

from services.dispatch.deadlines import deadlines_for
from services.dispatch.escalation import escalation_for
from tests.unit.factories import T0, sample_district


@pytest.mark.parametrize(
    ("priority", "accept", "respond"),
    [("normal", timedelta(minutes=10), timedelta(hours=1)), ("urgent", timedelta(minutes=5), timedelta(minutes=30))],
)
def test_deadlines_count_from_dispatch(priority, accept, respond):
    deadlines = deadlines_for(escalation_for("S01", priority, sample_district()), T0)

    assert deadlines.accept == T0 + accept
    assert deadlines.respond == T0 + respond
    assert deadlines.warn_at == 0.8
    assert deadlines.suspend_limit == (timedelta(hours=24) if priority == "normal" else timedelta(hours=4))


def test_a_later_dispatch_moves_both_deadlines():
    later = T0 + timedelta(hours=3)
    terms = escalation_for("S01", "normal", sample_district())
    assert deadlines_for(terms, later).accept == later + timedelta(minutes=10)
