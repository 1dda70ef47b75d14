from datetime import timedelta

from services.sla.watching import WatchState, replay
from shared.events import SlaStage
from tests.unit.factories import CASE_ID, T0, make_dispatched, make_escalated

CASE = str(CASE_ID)


def watched(generation: int) -> dict[str, WatchState]:
    return {CASE: WatchState.of(make_dispatched(generation, at=T0))}


def test_a_dispatch_becomes_the_watch_and_sets_a_timer_for_each_unsettled_stage():
    outcome = replay([make_dispatched(1, at=T0)], {}, {}, {(CASE, 1): {SlaStage.ACCEPT}})

    assert outcome.watches == {CASE: WatchState.of(make_dispatched(1, at=T0))}
    assert [[p.kind for p in a.plans] for a in outcome.armings] == [["respond_warning", "respond"]]
    assert outcome.cancel == {CASE}


def test_an_older_generation_changes_nothing():
    outcome = replay([make_dispatched(1), make_escalated(2)], watched(3), {}, {})

    assert (outcome.cancel, outcome.watches, outcome.armings) == (set(), {}, [])


def test_a_later_event_of_the_run_cancels_what_an_earlier_one_set():
    outcome = replay([make_dispatched(2), make_dispatched(3), make_escalated(4)], watched(1), {}, {})

    assert [(a.watch.generation, a.cancelled) for a in outcome.armings] == [(2, True), (3, True)]
    assert (outcome.watches[CASE].generation, outcome.watches[CASE].open) == (3, False)


def test_suspensions_seen_before_the_dispatch_move_its_deadline_once():
    dispatched = make_dispatched(2, at=T0)
    outcome = replay([dispatched], watched(1), {(CASE, 2): {SlaStage.RESPOND: 600.0}, (CASE, 3): {}}, {})

    moved = dispatched.respond_deadline + timedelta(minutes=10)
    assert outcome.watches[CASE].respond_deadline == moved
    assert outcome.watches[CASE].accept_deadline == dispatched.accept_deadline
    assert [p.deadline for p in outcome.armings[0].plans if p.stage == "respond"] == [moved, moved]
    assert outcome.shifts_taken == {(CASE, 2)}
