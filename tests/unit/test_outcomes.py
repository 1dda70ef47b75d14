import itertools
from datetime import timedelta

from services.intake.outcomes import Outcome, take_outcome
from tests.unit.factories import (
    T0,
    make_breached,
    make_claimed,
    make_dispatched,
    make_escalated,
    make_feedback,
    make_resolved,
    make_responded,
)


def outcome_of(*events) -> Outcome:
    outcome = Outcome()
    for event in events:
        take_outcome(outcome, event)
    return outcome


def test_a_fresh_case_has_no_outcome_yet():
    outcome = outcome_of()
    assert outcome.first_dispatched_at is None
    assert outcome.seconds_to_accept is None and outcome.seconds_to_respond is None
    assert not outcome.accept_breached and not outcome.respond_breached and not outcome.resolved
    assert outcome.escalation_count == outcome.extension_count == 0
    assert outcome.satisfied is None and outcome.rating is None


def test_a_case_handled_in_time():
    outcome = outcome_of(
        make_dispatched(at=T0), make_claimed(seconds=120), make_responded(seconds=900), make_resolved(),
        make_feedback(rating=5, satisfied=True, at=T0 + timedelta(hours=3)),
    )
    assert outcome.first_dispatched_at == T0
    assert (outcome.seconds_to_accept, outcome.seconds_to_respond) == (120, 900)
    assert outcome.resolved and outcome.satisfied is True and outcome.rating == 5


def test_the_first_claim_and_response_count_whatever_order_they_arrive_in():
    later_dispatch = make_dispatched(2, "B0102", at=T0 + timedelta(minutes=11), reason="expired")
    events = [make_dispatched(at=T0), later_dispatch, make_claimed(1, seconds=300), make_claimed(2, seconds=60),
              make_responded(1, seconds=1200), make_responded(2, seconds=1800)]
    for order in itertools.permutations(events):
        outcome = outcome_of(*order)
        assert outcome.first_dispatched_at == T0
        assert (outcome.seconds_to_accept, outcome.seconds_to_respond) == (60, 1200)


def test_breaches_stick_once_seen():
    outcome = outcome_of(make_breached(1, "accept"), make_claimed(2), make_breached(2, "respond"))
    assert outcome.accept_breached and outcome.respond_breached
    assert not outcome_of(make_breached(1, "respond")).accept_breached


def test_expired_redispatches_and_escalations_count_as_escalations():
    outcome = outcome_of(
        make_dispatched(1), make_dispatched(2, reason="expired"), make_dispatched(3, reason="returned"),
        make_dispatched(4, reason="expired"), make_escalated(5),
    )
    assert outcome.escalation_count == 3


def test_the_latest_rating_wins_whatever_order_they_arrive_in():
    unhappy = make_feedback(1, rating=2, satisfied=False, at=T0 + timedelta(hours=2))
    happy = make_feedback(2, rating=4, satisfied=True, at=T0 + timedelta(hours=5))
    for order in ([unhappy, happy], [happy, unhappy]):
        outcome = outcome_of(*order)
        assert (outcome.satisfied, outcome.rating) == (True, 4)
