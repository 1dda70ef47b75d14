from datetime import timedelta

from services.claim.boarding import SUSPEND_LIMIT_SECONDS, Boarded, board
from tests.unit.factories import CASE_ID, T0, make_dispatched, make_escalated

CASE = str(CASE_ID)
ON_THE_BOARD = {CASE: Boarded(generation=2, branch_code="B0101", suspend_limit_seconds=7200.0)}


def test_only_a_higher_generation_replaces_the_row():
    boarding = board([make_dispatched(1, "B0102"), make_dispatched(2, "B0102"), make_escalated(2)], ON_THE_BOARD)
    assert (boarding.added, boarding.replaced, boarding.notices, boarding.dispatched) == ({}, {}, [], [])


def test_the_last_event_that_takes_effect_decides_the_row():
    events = [make_dispatched(3, "B0102", suspend_limit_seconds=3600.0), make_escalated(4), make_dispatched(4, "B0103")]
    row = board(events, ON_THE_BOARD).replaced[CASE]
    assert (row["generation"], row["status"], row["branch_code"], row["accept_deadline"]) == (4, "escalated", None,
                                                                                                None)
    assert row["suspend_limit_seconds"] == 3600.0, "kept from the dispatch before the escalation"
    boarding = board(events, ON_THE_BOARD)
    assert [(n.generation, n.branch_code) for n in boarding.notices] == [(4, "B0102")]
    assert boarding.dispatched == [(CASE, 3)]


def test_a_new_case_is_added_once_under_its_first_event():
    boarding = board([make_escalated(1), make_dispatched(2, "B0102")], {})
    assert not boarding.replaced
    row = boarding.added[CASE]
    assert (row["case_id"], row["generation"], row["branch_code"], row["revision"]) == (CASE, 2, "B0102", 0)
    assert [n.branch_code for n in boarding.notices] == [""]


def test_an_escalation_of_a_new_case_has_the_default_suspension_allowance():
    assert board([make_escalated(1)], {}).added[CASE]["suspend_limit_seconds"] == SUSPEND_LIMIT_SECONDS


def test_extensions_move_only_the_row_of_their_own_generation():
    boarding = board([make_dispatched(1), make_dispatched(2)], {})
    boarding.extend({(CASE, 1): {"accept": timedelta(hours=1)}, (CASE, 2): {"respond": timedelta(minutes=30)}})
    row = boarding.added[CASE]
    assert (row["accept_deadline"], row["respond_deadline"]) == (T0 + timedelta(minutes=10),
                                                                 T0 + timedelta(hours=1, minutes=30))
