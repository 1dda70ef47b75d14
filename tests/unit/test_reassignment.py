"""Reassigning (改派): when a dispatch is at risk, and which refusal a supervisor gets."""

import itertools
from datetime import datetime, timedelta

import pytest

from services.dispatch.reassignment import reassignment_target
from services.dispatch.risk import Standing, dispatched, standing_after
from services.dispatch.routing import Target
from services.dispatch.store import Assignment
from shared.auth import Identity
from shared.errors import Refused
from shared.events import SlaStage
from tests.unit.factories import (
    CASE_ID,
    T0,
    make_breached,
    make_claimed,
    make_dispatched,
    make_extended,
    make_responded,
    make_resumed,
    make_summary,
    make_suspended,
    make_timer_fired,
    sample_district,
)

SUPERVISOR = Identity("U900", "林主任", "supervisor", "S01")
OTHER_STREET = Identity("U910", "鼓西街道主任", "supervisor", "S02")
COMMAND_CENTER = Identity("U800", "指挥中心值班长", "command_center", "350102")
ACCEPT_DEADLINE, RESPOND_DEADLINE = T0 + timedelta(minutes=10), T0 + timedelta(hours=1)


def warned(stage: str, deadline: datetime, generation: int = 1):
    return make_timer_fired(f"{stage}_warning", deadline, generation=generation)


def standing_of(*events) -> Standing:
    standing = dispatched(make_dispatched(1, at=T0))
    for event in events:
        standing = standing_after(standing, event)
    return standing


class TestStanding:
    def test_a_fresh_dispatch_is_on_time(self):
        standing = standing_of()
        assert not standing.at_risk()
        assert standing.deadline(SlaStage.ACCEPT) == ACCEPT_DEADLINE

    def test_an_accept_warning_before_the_claim_is_breaching(self):
        assert standing_of(warned("accept", ACCEPT_DEADLINE)).breaching()

    def test_a_claim_meets_the_accept_warning_in_either_order(self):
        for events in itertools.permutations([warned("accept", ACCEPT_DEADLINE), make_claimed(1)]):
            assert not standing_of(*events).at_risk(), events

    def test_a_respond_warning_while_claimed_is_breaching_until_the_response(self):
        assert standing_of(make_claimed(1), warned("respond", RESPOND_DEADLINE)).breaching()
        assert not standing_of(make_claimed(1), warned("respond", RESPOND_DEADLINE), make_responded(1)).at_risk()

    def test_a_breach_stays_even_after_a_late_response(self):
        late = standing_of(make_claimed(1), make_breached(1, "respond"), make_responded(1))
        assert late.at_risk() and not late.breaching()

    def test_an_extension_lifts_the_warning_in_either_order_and_a_new_one_counts_again(self):
        extension = make_extended(1, "accept", by=timedelta(minutes=30))
        for events in itertools.permutations([warned("accept", ACCEPT_DEADLINE), extension]):
            assert not standing_of(*events).at_risk(), events
        again = warned("accept", ACCEPT_DEADLINE + timedelta(minutes=30))
        assert standing_of(warned("accept", ACCEPT_DEADLINE), extension, again).breaching()

    def test_a_suspension_lifts_the_respond_warning_and_a_resume_brings_the_deadline_back(self):
        warning = warned("respond", RESPOND_DEADLINE)
        suspended = make_suspended(1, length=timedelta(hours=2))
        assert not standing_of(make_claimed(1), suspended, warning).at_risk()
        resumed = make_resumed(1, suspended=timedelta(0), unused=timedelta(hours=2))
        assert standing_of(make_claimed(1), suspended, warning, resumed).breaching()

    def test_events_of_another_generation_change_nothing(self):
        assert standing_of(warned("accept", ACCEPT_DEADLINE, generation=2), make_breached(0, "respond")) \
            == standing_of()

    def test_it_survives_its_column(self):
        standing = standing_of(make_claimed(1), warned("respond", RESPOND_DEADLINE), make_extended(1, "respond"))
        assert Standing.model_validate_json(standing.model_dump_json()) == standing


def assignment(state: str = "active", branch: str | None = "B0101", street: str = "S01",
               standing: Standing | None = None) -> Assignment:
    row = Assignment(case_id=str(CASE_ID), correlation_id=str(CASE_ID), summary=make_summary().model_dump_json(),
                     generation=1, state=state, branch_code=branch, street_code=street, updated_at=T0)
    row.stand(standing or standing_of())
    return row


BREACHING = standing_of(warned("accept", ACCEPT_DEADLINE))


class TestReassignmentTarget:
    @pytest.mark.parametrize("who", [SUPERVISOR, COMMAND_CENTER])
    def test_a_case_in_the_street_queue_goes_to_the_branch_named(self, who):
        queued = assignment("escalated", branch=None, standing=Standing(generation=1))
        assert reassignment_target(queued, "B0103", who, sample_district()) == Target("S01", "B0103", "C0103")

    def test_any_branch_of_the_district_even_in_another_street(self):
        queued = assignment("escalated", branch=None, standing=Standing(generation=1))
        assert reassignment_target(queued, "B0201", SUPERVISOR, sample_district()) == Target("S02", "B0201", "C0201")

    def test_a_breaching_dispatch_may_go_to_another_branch(self):
        breaching = assignment(standing=BREACHING)
        assert reassignment_target(breaching, "B0102", SUPERVISOR, sample_district()).branch_code == "B0102"

    def test_a_breached_one_too(self):
        breached = assignment(standing=standing_of(make_claimed(1), make_breached(1, "respond")))
        assert reassignment_target(breached, "B0102", COMMAND_CENTER, sample_district()).branch_code == "B0102"

    @pytest.mark.parametrize(("row", "branch", "who", "status", "words"), [
        (assignment(standing=BREACHING), "B9999", SUPERVISOR, 422, "no branch B9999"),
        (assignment(standing=BREACHING), "B0102", OTHER_STREET, 403, "supervisor of the case's street"),
        (assignment("escalated", branch=None), "B0102", OTHER_STREET, 403, "supervisor of the case's street"),
        (assignment("resolved", standing=BREACHING), "B0102", SUPERVISOR, 409, "the case is resolved"),
        (assignment("closed", standing=BREACHING), "B0102", COMMAND_CENTER, 409, "the case is closed"),
        (assignment(standing=BREACHING), "B0101", SUPERVISOR, 409, "already with B0101"),
        (assignment(), "B0102", SUPERVISOR, 409, "on time"),
        (assignment(standing=standing_of(warned("accept", ACCEPT_DEADLINE), make_claimed(1))), "B0102",
         SUPERVISOR, 409, "on time"),
    ])
    def test_refusals(self, row, branch, who, status, words):
        with pytest.raises(Refused) as refused:
            reassignment_target(row, branch, who, sample_district())
        assert refused.value.status == status and words in refused.value.reason
        assert refused.value.field == ("body.branch_code" if status == 422 else None)
