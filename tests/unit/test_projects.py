"""The volunteer projects' rules: who publishes where, the time rules, who claims and
confirms, the hall's order, recurring occurrences and project numbers."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from services.claim.projects import (
    CHECK_IN,
    CHECK_OUT,
    LOCAL_TIME,
    REPORT,
    WITHDRAW,
    ProjectStatus,
    Scope,
    SlotStatus,
    Window,
    check_claim,
    check_confirm,
    check_skills,
    check_step,
    check_window,
    hall_order,
    local_day,
    may_manage,
    may_see,
    occurrences,
    points_for,
    project_number,
    publishing_scope,
    street_seen_by,
    withdrawal_is_late,
)
from shared.auth import Identity
from shared.errors import Refused
from tests.unit.factories import sample_district

DISTRICT = sample_district()
NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in 福州
SECRETARY = Identity("M001", "张伟", "member", "B0101")
OTHER_SECRETARY = Identity("M005", "郑建华", "member", "B0102")
MEMBER = Identity("M004", "黄丽华", "member", "B0101")
NEIGHBOUR = Identity("M006", "王美玲", "member", "B0102")
FAR_MEMBER = Identity("M013", "黄志明", "member", "B0201")
SUPERVISOR = Identity("U900", "林主任", "supervisor", "S01")
FAR_SUPERVISOR = Identity("U910", "郑主任", "supervisor", "S02")
COMMAND = Identity("U800", "指挥中心", "command_center", "350102")
OPERATOR = Identity("U100", "话务员小陈", "operator")


@dataclass
class Facts:
    street_code: str = "S01"
    branch_code: str | None = "B0101"
    starts_at: datetime = NOW + timedelta(days=1)
    ends_at: datetime = NOW + timedelta(days=1, hours=2)
    claim_cutoff: datetime = NOW + timedelta(hours=12)
    slots: int = 3
    filled: int = 0
    status: str = ProjectStatus.OPEN
    skills: list[str] = field(default_factory=list)


def refused(status: int, call, *args) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args)
    assert caught.value.status == status, caught.value.reason
    return caught.value


class TestPublishing:
    def test_a_secretary_publishes_for_their_own_branch_only(self):
        assert publishing_scope(SECRETARY, DISTRICT, None, None) == Scope("S01", "B0101")
        assert publishing_scope(SECRETARY, DISTRICT, "B0101", "S01") == Scope("S01", "B0101")
        refused(403, publishing_scope, SECRETARY, DISTRICT, "B0102", None)
        refused(403, publishing_scope, SECRETARY, DISTRICT, None, "S02")

    def test_members_who_lead_no_branch_and_operators_do_not_publish(self):
        refused(403, publishing_scope, MEMBER, DISTRICT, None, None)
        refused(403, publishing_scope, OPERATOR, DISTRICT, None, "S01")

    def test_a_supervisor_publishes_for_the_street_or_one_of_its_branches(self):
        assert publishing_scope(SUPERVISOR, DISTRICT, None, None) == Scope("S01", None)
        assert publishing_scope(SUPERVISOR, DISTRICT, "B0102", None) == Scope("S01", "B0102")
        refused(403, publishing_scope, SUPERVISOR, DISTRICT, "B0201", None)
        refused(403, publishing_scope, SUPERVISOR, DISTRICT, None, "S02")

    def test_the_command_center_names_any_street(self):
        assert publishing_scope(COMMAND, DISTRICT, None, "S02") == Scope("S02", None)
        assert publishing_scope(COMMAND, DISTRICT, "B0201", None) == Scope("S02", "B0201")
        assert refused(422, publishing_scope, COMMAND, DISTRICT, None, None).field == "body.street_code"

    def test_unknown_or_mismatched_places_name_the_field(self):
        assert refused(422, publishing_scope, SUPERVISOR, DISTRICT, "B9999", None).field == "body.branch_code"
        assert refused(422, publishing_scope, SUPERVISOR, DISTRICT, None, "S99").field == "body.street_code"
        assert refused(422, publishing_scope, COMMAND, DISTRICT, "B0101", "S02").field == "body.branch_code"


class TestTimes:
    def test_the_cut_off_defaults_to_the_start(self):
        start, end = NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2)
        assert check_window(NOW, start, end, None) == Window(start, end, start)

    @pytest.mark.parametrize(("start", "end", "cutoff", "field"), [
        (timedelta(hours=2), timedelta(hours=1), None, "body.ends_at"),
        (timedelta(hours=2), timedelta(hours=2), None, "body.ends_at"),
        (timedelta(hours=2), timedelta(hours=3), timedelta(hours=2, minutes=1), "body.claim_cutoff"),
        (timedelta(hours=2), timedelta(hours=3), timedelta(0), "body.claim_cutoff"),
        (-timedelta(hours=1), timedelta(hours=3), None, "body.starts_at"),
        (timedelta(days=400), timedelta(days=400, hours=1), None, "body.starts_at"),
        (timedelta(hours=1), timedelta(days=9), None, "body.ends_at"),
    ])
    def test_a_bad_window_names_the_field(self, start, end, cutoff, field):
        cut = None if cutoff is None else NOW + cutoff
        assert refused(422, check_window, NOW, NOW + start, NOW + end, cut).field == field

    def test_times_with_any_offset_are_kept_in_utc(self):
        shanghai = datetime(2026, 12, 6, 9, 0, tzinfo=LOCAL_TIME)
        window = check_window(NOW, shanghai, shanghai + timedelta(hours=2), None)
        assert window.starts_at.tzinfo == UTC and window.starts_at == shanghai

    def test_a_withdrawal_from_the_cut_off_on_is_late(self):
        facts = Facts()
        assert not withdrawal_is_late(facts, facts.claim_cutoff - timedelta(seconds=1))
        assert withdrawal_is_late(facts, facts.claim_cutoff)


class TestPointsAndSkills:
    def test_points_default_to_the_districts_and_stay_within_its_most(self):
        assert points_for(None, DISTRICT.points) == DISTRICT.points.per_project
        assert points_for(DISTRICT.points.max_per_project, DISTRICT.points) == DISTRICT.points.max_per_project
        assert refused(422, points_for, DISTRICT.points.max_per_project + 1, DISTRICT.points).field == "body.points"

    def test_skills_are_category_codes(self):
        assert check_skills(["elderly", "water", "elderly"], DISTRICT) == ["elderly", "water"]
        assert refused(422, check_skills, ["cooking"], DISTRICT).field == "body.skills"

    def test_the_hall_puts_projects_wanting_the_members_skills_first_then_by_start(self):
        soon = Facts(skills=["road"], starts_at=NOW + timedelta(hours=3))
        later_match = Facts(skills=["elderly"], starts_at=NOW + timedelta(days=3))
        sooner_match = Facts(skills=["property", "noise"], starts_at=NOW + timedelta(days=2))
        assert hall_order([soon, later_match, sooner_match], ["elderly", "property"]) == [
            sooner_match, later_match, soon]


class TestRecurring:
    def test_each_occurrence_is_a_week_after_the_last(self):
        first = Window(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2), NOW + timedelta(hours=20))
        windows = occurrences(first, 3)
        assert windows[0] == first
        assert [w.starts_at - first.starts_at for w in windows] == [timedelta(weeks=k) for k in range(3)]
        assert all(w.ends_at - w.starts_at == timedelta(hours=2) for w in windows)
        assert all(w.starts_at - w.claim_cutoff == timedelta(hours=4) for w in windows)


class TestNumbers:
    def test_a_number_carries_the_local_day_and_a_sequence(self):
        assert project_number(local_day(NOW), 3) == "XM20261205-003"

    def test_the_local_day_is_fuzhous(self):
        assert local_day(datetime(2026, 12, 4, 16, 30, tzinfo=UTC)) == "20261205"
        assert local_day(datetime(2026, 12, 4, 15, 59, tzinfo=UTC)) == "20261204"


class TestSeeing:
    def test_members_and_supervisors_see_their_street_the_command_center_any(self):
        project = Facts(branch_code="B0102")
        assert may_see(MEMBER, DISTRICT, project) and may_see(SUPERVISOR, DISTRICT, project)
        assert may_see(COMMAND, DISTRICT, project)
        assert not may_see(FAR_MEMBER, DISTRICT, project) and not may_see(FAR_SUPERVISOR, DISTRICT, project)

    def test_the_street_a_listing_reads(self):
        assert street_seen_by(MEMBER, DISTRICT, None) == "S01"
        assert street_seen_by(SUPERVISOR, DISTRICT, "S01") == "S01"
        assert street_seen_by(COMMAND, DISTRICT, None) is None
        assert street_seen_by(COMMAND, DISTRICT, "S02") == "S02"
        refused(403, street_seen_by, MEMBER, DISTRICT, "S02")
        refused(403, street_seen_by, SUPERVISOR, DISTRICT, "S02")

    def test_only_the_projects_branch_secretary_and_the_streets_supervisors_manage_it(self):
        project = Facts(branch_code="B0101")
        assert may_manage(SECRETARY, DISTRICT, project) and may_manage(SUPERVISOR, DISTRICT, project)
        assert may_manage(COMMAND, DISTRICT, project)
        assert not may_manage(OTHER_SECRETARY, DISTRICT, project) and not may_manage(MEMBER, DISTRICT, project)
        assert not may_manage(SECRETARY, DISTRICT, Facts(branch_code=None)), "a street's project is the street's"
        assert not may_manage(FAR_SUPERVISOR, DISTRICT, project)


class TestClaiming:
    def test_members_of_the_street_claim_any_branchs_project(self):
        check_claim(NEIGHBOUR, DISTRICT, Facts(branch_code="B0101"), None, NOW)
        check_claim(MEMBER, DISTRICT, Facts(branch_code=None), SlotStatus.WITHDRAWN, NOW)

    def test_others_may_not(self):
        for who in (FAR_MEMBER, SUPERVISOR, COMMAND, OPERATOR):
            refused(403, check_claim, who, DISTRICT, Facts(), None, NOW)

    @pytest.mark.parametrize(("facts", "slot", "words"), [
        (Facts(filled=3), None, "every slot"),
        (Facts(claim_cutoff=NOW), None, "closed"),
        (Facts(), SlotStatus.CLAIMED, "already claimed"),
        (Facts(), SlotStatus.CONFIRMED, "already claimed"),
        (Facts(status="cancelled"), None, "cancelled"),
    ])
    def test_full_closed_or_claimed_already_is_a_conflict(self, facts, slot, words):
        assert words in refused(409, check_claim, MEMBER, DISTRICT, facts, slot, NOW).reason


class TestSteps:
    def test_the_slots_steps_go_in_order(self):
        project = Facts(starts_at=NOW, ends_at=NOW + timedelta(hours=2))
        check_step(CHECK_IN, MEMBER, project, SlotStatus.CLAIMED, NOW)
        check_step(CHECK_OUT, MEMBER, project, SlotStatus.CHECKED_IN, NOW + timedelta(hours=1))
        check_step(REPORT, MEMBER, project, SlotStatus.CHECKED_OUT, NOW + timedelta(days=3))
        assert "checked in" in refused(409, check_step, CHECK_OUT, MEMBER, project, SlotStatus.CLAIMED, NOW).reason
        assert "checked out" in refused(409, check_step, REPORT, MEMBER, project, SlotStatus.CHECKED_IN, NOW).reason
        refused(409, check_step, WITHDRAW, MEMBER, project, SlotStatus.CHECKED_IN, NOW)
        refused(404, check_step, CHECK_IN, MEMBER, project, None, NOW)
        refused(403, check_step, CHECK_IN, SUPERVISOR, project, SlotStatus.CLAIMED, NOW)

    def test_check_in_opens_an_hour_before_the_start_and_closes_at_the_end(self):
        project = Facts()
        refused(409, check_step, CHECK_IN, MEMBER, project, SlotStatus.CLAIMED,
                project.starts_at - timedelta(hours=1, seconds=1))
        check_step(CHECK_IN, MEMBER, project, SlotStatus.CLAIMED, project.starts_at - timedelta(hours=1))
        refused(409, check_step, CHECK_IN, MEMBER, project, SlotStatus.CLAIMED, project.ends_at)

    def test_check_out_closes_two_hours_after_the_end(self):
        project = Facts()
        check_step(CHECK_OUT, MEMBER, project, SlotStatus.CHECKED_IN, project.ends_at + timedelta(hours=2))
        refused(409, check_step, CHECK_OUT, MEMBER, project, SlotStatus.CHECKED_IN,
                project.ends_at + timedelta(hours=2, seconds=1))

    def test_no_withdrawal_once_the_project_is_over(self):
        project = Facts()
        check_step(WITHDRAW, MEMBER, project, SlotStatus.CLAIMED, project.starts_at)
        refused(409, check_step, WITHDRAW, MEMBER, project, SlotStatus.CLAIMED, project.ends_at)


class TestConfirming:
    def test_only_a_reported_slot_is_confirmed_and_only_once(self):
        project = Facts()
        check_confirm(SECRETARY, DISTRICT, project, SlotStatus.REPORTED)
        check_confirm(SUPERVISOR, DISTRICT, project, SlotStatus.REPORTED)
        assert "reported" in refused(409, check_confirm, SECRETARY, DISTRICT, project, SlotStatus.CHECKED_OUT).reason
        assert "already" in refused(409, check_confirm, SECRETARY, DISTRICT, project, SlotStatus.CONFIRMED).reason
        refused(404, check_confirm, SECRETARY, DISTRICT, project, None)

    def test_others_may_not_confirm(self):
        for who in (OTHER_SECRETARY, MEMBER, FAR_SUPERVISOR, OPERATOR):
            refused(403, check_confirm, who, DISTRICT, Facts(), SlotStatus.REPORTED)
