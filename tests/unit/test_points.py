"""Volunteer points' rules: what each project event earns, the good-evaluation bonus in
either order, the late withdrawal, the calendar periods (Asia/Shanghai) and ranking with
ties; and who may read whose points and boards."""

from datetime import UTC, datetime

import pytest

from services.feedback import boards
from services.feedback.points import (
    Completion,
    Credit,
    Period,
    Reason,
    bonus_credits,
    completion_credits,
    is_good,
    late_withdrawal_credits,
    period_start,
    ranked,
)
from shared.auth import Identity
from shared.district import PointsRules, load_district
from shared.errors import Refused

RULES = PointsRules(per_project=10, max_per_project=50, good_evaluation_bonus=5, good_rating=4, late_withdrawal=-2)
ZHANG = Completion("M001", "B0101", "S01")
DISTRICT = load_district()


def test_a_confirmed_completion_earns_its_own_points():
    assert completion_credits(ZHANG, 12, good_evaluation=False, rules=RULES) == [
        Credit("M001", "B0101", "S01", Reason.COMPLETION, 12)]


def test_a_completion_confirmed_after_a_good_evaluation_earns_the_bonus_too():
    assert completion_credits(ZHANG, 12, good_evaluation=True, rules=RULES) == [
        Credit("M001", "B0101", "S01", Reason.COMPLETION, 12),
        Credit("M001", "B0101", "S01", Reason.GOOD_EVALUATION, 5)]


def test_a_good_evaluation_after_completions_earns_each_confirmed_member_the_bonus():
    lin = Completion("M002", "B0101", "S01")
    assert bonus_credits([ZHANG, lin], RULES) == [Credit("M001", "B0101", "S01", Reason.GOOD_EVALUATION, 5),
                                                  Credit("M002", "B0101", "S01", Reason.GOOD_EVALUATION, 5)]


def test_good_means_the_districts_good_rating_or_more():
    assert [is_good(rating, RULES) for rating in range(1, 6)] == [False, False, False, True, True]


def test_zero_points_write_no_entry():
    no_bonus = RULES.model_copy(update={"good_evaluation_bonus": 0})
    assert completion_credits(ZHANG, 0, good_evaluation=True, rules=no_bonus) == []
    assert bonus_credits([ZHANG], no_bonus) == []


def test_only_a_late_withdrawal_costs_points_and_only_when_the_district_says_so():
    assert late_withdrawal_credits(ZHANG, True, RULES) == [Credit("M001", "B0101", "S01", Reason.LATE_WITHDRAWAL, -2)]
    assert late_withdrawal_credits(ZHANG, False, RULES) == []
    assert late_withdrawal_credits(ZHANG, True, RULES.model_copy(update={"late_withdrawal": 0})) == []


@pytest.mark.parametrize(("period", "now", "start"), [
    # Wednesday 2 December 2026, 01:30 in Fuzhou, is still Tuesday 17:30 UTC; the Sunday night before...
    (Period.WEEK, datetime(2026, 12, 1, 17, 30, tzinfo=UTC), datetime(2026, 11, 29, 16, 0, tzinfo=UTC)),
    (Period.WEEK, datetime(2026, 11, 29, 15, 59, tzinfo=UTC), datetime(2026, 11, 22, 16, 0, tzinfo=UTC)),
    (Period.MONTH, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
    (Period.MONTH, datetime(2026, 11, 30, 15, 59, tzinfo=UTC), datetime(2026, 10, 31, 16, 0, tzinfo=UTC)),
    (Period.YEAR, datetime(2026, 12, 31, 16, 30, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
    (Period.YEAR, datetime(2026, 6, 1, tzinfo=UTC), datetime(2025, 12, 31, 16, 0, tzinfo=UTC)),
])
def test_periods_are_calendar_periods_in_local_time(period, now, start):
    assert period_start(period, now) == start


def test_all_time_has_no_start():
    assert period_start(Period.ALL, datetime(2026, 6, 1, tzinfo=UTC)) is None


def test_equal_points_share_a_rank_and_the_next_rank_skips():
    people = [("a", 5), ("b", 9), ("c", 5), ("d", 1), ("e", 9)]
    assert [(rank, name) for rank, (name, _) in ranked(people, lambda p: p[1])] == [
        (1, "b"), (1, "e"), (3, "a"), (3, "c"), (5, "d")]


def who(user_id: str) -> Identity:
    person = DISTRICT.person_by_id[user_id]
    role, unit = next((r, u) for p, r, u in DISTRICT.people() if p.id == person.id)
    return Identity(user_id, person.name, role, unit)


@pytest.mark.parametrize(("reader", "allowed"), [
    ("M002", True),   # the member
    ("M001", True),   # B0101's secretary
    ("M005", False),  # B0102's secretary
    ("M003", False),  # another member of the branch
    ("U900", True),   # S01's supervisor
    ("U910", False),  # S02's supervisor
])
def test_who_reads_a_members_points(reader, allowed):
    if allowed:
        assert boards.check_ledger_reader(who(reader), "M002", DISTRICT) == "B0101"
    else:
        with pytest.raises(Refused) as refused:
            boards.check_ledger_reader(who(reader), "M002", DISTRICT)
        assert refused.value.status == 403


@pytest.mark.parametrize(("reader", "unit", "status"), [
    ("M002", "B0101", 200), ("M002", "B0102", 200), ("M002", "S01", 200), ("M002", "S02", 403),
    ("U900", "S01", 200), ("U900", "B0201", 403), ("U910", "B0201", 200), ("M002", "B9999", 404),
])
def test_who_sees_which_board(reader, unit, status):
    try:
        boards.check_board_reader(who(reader), unit, DISTRICT)
        got = 200
    except Refused as refusal:
        got = refusal.status
    assert got == status


def test_a_streets_board_ranks_every_member_and_its_branches():
    made = boards.board(DISTRICT, "S01", ["B0101", "B0102", "B0103"],
                        {("M002", "B0101"): 15, ("M005", "B0102"): 15, ("M009", "B0103"): 10})
    top = [(m.rank, m.member_id, m.points) for m in made.members[:4]]
    assert top == [(1, "M002", 15), (1, "M005", 15), (3, "M009", 10), (4, "M001", 0)]
    assert len(made.members) == 12 and {m.points for m in made.members[3:]} == {0}
    assert [(b.rank, b.branch_code, b.points) for b in made.branches] == [
        (1, "B0101", 15), (1, "B0102", 15), (3, "B0103", 10)]


def test_a_branchs_board_has_no_branch_ranking():
    assert boards.board(DISTRICT, "B0101", ["B0101"], {}).branches == []
