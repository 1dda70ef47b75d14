import json
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.intake.caseview import CaseState, apply, timeline_details, timeline_json
from tests.unit.factories import (
    T0,
    make_claimed,
    make_closed,
    make_dispatched,
    make_escalated,
    make_extended,
    make_feedback,
    make_registered,
    make_reopened,
    make_resolved,
    make_responded,
    make_resumed,
    make_returned,
    make_suspended,
)


def make_state(**overrides) -> CaseState:
    return CaseState(**{"status": "registered", "generation": 0, "rank": 0, **overrides})


def replay(*events) -> CaseState:
    state = make_state()
    for event in events:
        state = apply(state, event)
    return state


def test_in_order_events_walk_the_lifecycle():
    dispatched = make_dispatched(1, "B0101")
    state = make_state()
    seen = []
    for event in [make_registered(), dispatched, make_claimed(1, "M001"), make_responded(1), make_resolved(1),
                  make_closed(1)]:
        state = apply(state, event)
        seen.append(state.status)

    assert seen == ["registered", "dispatched", "claimed", "responded", "resolved", "closed"]
    assert (state.generation, state.rank) == (1, 5)
    assert state.branch_code == "B0101" and state.street_code == "S01" and state.member_id == "M001"
    assert state.accept_deadline == dispatched.accept_deadline == T0 + timedelta(minutes=10)
    assert state.respond_deadline == dispatched.respond_deadline == T0 + timedelta(hours=1)


def test_a_late_lower_rank_event_does_not_move_the_status_back():
    state = replay(make_dispatched(1), make_responded(1), make_claimed(1, "M001"))
    assert state.status == "responded"


def test_an_event_of_an_older_generation_is_ignored():
    state = replay(make_dispatched(1, "B0101"), make_returned(1), make_dispatched(2, "B0102"), make_claimed(1))

    assert state.status == "dispatched"
    assert state.generation == 2
    assert state.branch_code == "B0102"
    assert state.member_id is None


def test_claim_before_dispatch_of_the_same_generation_ends_claimed():
    state = replay(make_claimed(1, "M002"), make_dispatched(1, "B0101"))

    assert state.status == "claimed"
    assert state.member_id == "M002"


def test_claim_before_dispatch_keeps_the_dispatch_branch_and_deadlines():
    dispatched = make_dispatched(1, "B0101")

    state = replay(make_claimed(1, "M002"), dispatched)

    assert state.status == "claimed"
    assert state.branch_code == "B0101"
    assert state.accept_deadline == dispatched.accept_deadline
    assert state.respond_deadline == dispatched.respond_deadline


def test_member_is_known_when_the_claim_arrives_after_the_response():
    state = replay(make_dispatched(1), make_responded(1, "M002"), make_claimed(1, "M002"))

    assert state.status == "responded"
    assert state.member_id == "M002"


def test_reopen_then_new_dispatch_is_dispatched_again():
    state = replay(make_dispatched(1, "B0101"), make_claimed(1), make_resolved(1), make_reopened(1))
    assert state.status == "reopened"

    later = T0 + timedelta(days=1)
    state = apply(state, make_dispatched(2, "B0102", at=later))

    assert state.status == "dispatched"
    assert state.generation == 2
    assert state.branch_code == "B0102"
    assert state.member_id is None
    assert state.accept_deadline == later + timedelta(minutes=10)


def test_escalation_clears_the_branch_and_sets_the_street():
    state = replay(make_dispatched(1, "B0101"), make_escalated(2, "S01"))

    assert state.status == "escalated"
    assert state.branch_code is None
    assert state.street_code == "S01"
    assert state.member_id is None
    assert state.accept_deadline is None and state.respond_deadline is None


def test_events_without_a_status_leave_the_state_alone():
    before = replay(make_dispatched(1), make_claimed(1))
    snapshot = CaseState(**vars(before))

    after = apply(before, make_returned(1))

    assert vars(after) == vars(snapshot)


def test_a_redelivered_event_changes_nothing():
    claimed = make_claimed(1, "M001")
    state = replay(make_dispatched(1), claimed)
    snapshot = dict(vars(state))

    assert vars(apply(state, claimed)) == snapshot


@given(st.permutations(["dispatched", "claimed", "responded", "resolved"]))
def test_any_order_of_one_generation_ends_resolved(order):
    makers = {"dispatched": make_dispatched, "claimed": make_claimed, "responded": make_responded,
              "resolved": make_resolved}

    state = replay(*(makers[name](1) for name in order))

    assert state.status == "resolved"
    assert (state.generation, state.rank) == (1, 4)


def test_timeline_details_keep_the_facts_and_drop_the_envelope():
    details = timeline_details(make_dispatched(1, "B0101"))

    assert details["branch_code"] == "B0101"
    assert details["generation"] == 1
    assert details["accept_deadline"].startswith("2026-11-21T09:10:00")
    assert not {"event_id", "case_id", "correlation_id", "occurred_at", "type", "summary"} & set(details)


def test_a_suspension_moves_the_respond_deadline_and_a_resume_gives_back_the_rest():
    dispatched = make_dispatched(1)
    suspended = replay(dispatched, make_claimed(1), make_suspended(1, at=T0 + timedelta(minutes=20)))
    assert suspended.respond_deadline == dispatched.respond_deadline + timedelta(hours=2)
    assert suspended.suspended_until == T0 + timedelta(minutes=20, hours=2)
    assert suspended.status == "claimed"
    resumed = apply(suspended, make_resumed(1, unused=timedelta(minutes=90)))
    assert resumed.respond_deadline == dispatched.respond_deadline + timedelta(minutes=30)
    assert resumed.suspended_until is None


def test_a_response_ends_a_suspension():
    state = replay(make_dispatched(1), make_claimed(1), make_suspended(1), make_responded(1))
    assert state.suspended_until is None and state.status == "responded"


@given(st.permutations([make_dispatched(1), make_extended(1, by=timedelta(minutes=30)),
                        make_suspended(1, length=timedelta(hours=2)), make_resumed(1, unused=timedelta(minutes=90)),
                        make_extended(1, "accept", by=timedelta(minutes=5))]))
def test_extensions_and_suspensions_add_up_whatever_the_order_even_before_the_dispatch(events):
    state = replay(*events)
    dispatched = make_dispatched(1)
    assert state.respond_deadline == dispatched.respond_deadline + timedelta(minutes=30 + 120 - 90)
    assert state.accept_deadline == dispatched.accept_deadline + timedelta(minutes=5)


def test_a_new_dispatch_starts_from_its_own_deadlines():
    state = replay(make_dispatched(1), make_extended(1, by=timedelta(hours=1)), make_returned(1),
                   make_dispatched(2, "B0102", at=T0 + timedelta(hours=1)), make_extended(1, by=timedelta(hours=1)))
    assert state.respond_deadline == T0 + timedelta(hours=2)


def test_the_stored_timeline_text_reads_back_as_the_details():
    for event in (make_dispatched(1, "B0101"), make_feedback()):
        assert json.loads(timeline_json(event)) == timeline_details(event)
