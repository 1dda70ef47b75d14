import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch.escalation import Escalation, escalation_for
from services.dispatch.routing import Target, after_expiry, after_return, initial_target, locate
from tests.unit.factories import make_district, make_summary, sample_district, tiny_district_dict

BRANCHES = [c.branch.code for c in sample_district().communities]
CATEGORIES = [c.code for c in sample_district().categories]


class TestLocate:
    def test_grid_code_wins_over_the_address(self):
        summary = make_summary(grid_code="G020201", address="南后街12号")
        assert locate(summary, sample_district()).code == "C0202"

    def test_unknown_grid_falls_back_to_the_text(self):
        summary = make_summary(grid_code="G999999", address="南后街12号")
        assert locate(summary, sample_district()).code == "C0101"

    def test_alias_in_the_address(self):
        assert locate(make_summary(address="白马北路88号"), sample_district()).code == "C0202"

    def test_community_name_in_the_description(self):
        summary = make_summary(description="冶山社区门口的路灯坏了三天", address=None)
        assert locate(summary, sample_district()).code == "C0103"

    def test_longest_alias_wins_whatever_the_order(self):
        district = make_district(tiny_district_dict())

        assert locate(make_summary(description="西湖公园北门路灯不亮"), district).code == "K02"
        assert locate(make_summary(description="西湖边上有人钓鱼吵闹"), district).code == "K01"

    def test_nothing_recognisable_is_none(self):
        summary = make_summary(description="路灯不亮", address="某小区3栋")
        assert locate(summary, sample_district()) is None


class TestInitialTarget:
    def test_located_case_goes_to_its_branch(self):
        target = initial_target(make_summary(grid_code="G030201"), sample_district())
        assert target == Target("S03", "B0302", "C0302")
        assert not target.is_street_queue

    def test_unlocated_case_goes_to_the_street_named_in_the_address(self):
        summary = make_summary(description="路灯不亮", address="鼓西街道某小区3栋")

        target = initial_target(summary, sample_district())

        assert target == Target("S02")
        assert target.is_street_queue
        assert target.branch_code is None and target.community_code is None

    def test_street_named_in_the_description_counts_too(self):
        summary = make_summary(description="东街街道辖区内路灯不亮", address=None)
        assert initial_target(summary, sample_district()) == Target("S03")

    def test_nothing_recognisable_goes_to_the_first_street(self):
        summary = make_summary(description="路灯不亮", address="某小区3栋")
        assert initial_target(summary, sample_district()) == Target("S01")


class TestAfterReturn:
    def test_never_goes_back_to_the_returning_branch(self):
        target = after_return("B0101", [], "noise", sample_district(), {})
        assert target.branch_code in {"B0102", "B0103"}
        assert target.street_code == "S01"

    def test_prefers_a_branch_with_the_skill_over_a_lighter_load(self):
        district = sample_district()
        # road: only 冶山 (B0103) has a member skilled in it; safety: only 虎节 (B0102)
        load = {"B0102": 0, "B0103": 9}
        assert after_return("B0101", [], "road", district, load) == Target("S01", "B0103", "C0103")
        load = {"B0102": 9, "B0103": 0}
        assert after_return("B0101", [], "safety", district, load) == Target("S01", "B0102", "C0102")

    @pytest.mark.parametrize(("load", "expected"), [({"B0102": 3, "B0103": 1}, "B0103"),
                                                    ({"B0102": 1, "B0103": 3}, "B0102")])
    def test_among_equally_skilled_the_lighter_load_wins(self, load, expected):
        # drainage: both 虎节 (郑建华) and 冶山 (林国平)
        assert after_return("B0101", [], "drainage", sample_district(), load).branch_code == expected

    def test_skips_excluded_branches_even_if_skilled(self):
        target = after_return("B0101", ["B0103"], "road", sample_district(), {})
        assert target == Target("S01", "B0102", "C0102")

    def test_all_excluded_goes_to_the_street_queue(self):
        target = after_return("B0202", ["B0201", "B0203"], "noise", sample_district(), {})
        assert target == Target("S02")
        assert target.is_street_queue

    @given(
        returned_by=st.sampled_from(BRANCHES),
        excluded=st.sets(st.sampled_from(BRANCHES)),
        category=st.sampled_from(CATEGORIES),
        load=st.dictionaries(st.sampled_from(BRANCHES), st.integers(min_value=0, max_value=50)),
    )
    def test_result_is_never_excluded_and_stays_in_the_street(self, returned_by, excluded, category, load):
        district = sample_district()
        street = district.street_of_community[district.community_by_branch[returned_by].code]

        target = after_return(returned_by, excluded, category, district, load)

        assert target.street_code == street.code
        assert target.branch_code not in excluded | {returned_by}
        same_street = {c.branch.code for c in street.communities}
        if target.is_street_queue:
            assert same_street <= excluded | {returned_by}
        else:
            assert target.branch_code in same_street


def chain(branch_code: str, *, loops: int) -> Escalation:
    """The escalation frozen for a case dispatched to ``branch_code``."""
    district = sample_district()
    street = district.street_of_community[district.community_by_branch[branch_code].code]
    return escalation_for(street.code, "normal", district).model_copy(update={"loops": loops})


class TestAfterExpiry:
    def test_moves_to_the_next_branch_in_street_order(self):
        assert after_expiry("B0102", [], 1, chain("B0102", loops=2)) == Target("S01", "B0103", "C0103")

    def test_wraps_around_the_street(self):
        assert after_expiry("B0103", [], 1, chain("B0103", loops=2)) == Target("S01", "B0101", "C0101")

    def test_skips_excluded_branches(self):
        assert after_expiry("B0301", ["B0302"], 2, chain("B0301", loops=2)) == Target("S03", "B0303", "C0303")

    def test_hops_beyond_loops_go_to_the_street_queue(self):
        assert after_expiry("B0201", [], 3, chain("B0201", loops=2)) == Target("S02")
        assert after_expiry("B0201", [], 1, chain("B0201", loops=0)) == Target("S02")

    def test_all_others_excluded_goes_to_the_street_queue(self):
        assert after_expiry("B0101", ["B0102", "B0103"], 1, chain("B0101", loops=2)) == Target("S01")

    def test_follows_the_frozen_chain_not_the_district(self):
        frozen = chain("B0101", loops=2).model_copy(update={"branches": (("B0101", "C0101"), ("B9901", "C9901"))})
        assert after_expiry("B0101", [], 1, frozen) == Target("S01", "B9901", "C9901")
        assert after_expiry("B0101", [], 3, frozen) == Target("S01")

    @given(
        expired_at=st.sampled_from(BRANCHES),
        excluded=st.sets(st.sampled_from(BRANCHES)),
        hops=st.integers(min_value=1, max_value=5),
        loops=st.integers(min_value=0, max_value=5),
    )
    def test_result_is_never_excluded(self, expired_at, excluded, hops, loops):
        district = sample_district()
        street = district.street_of_community[district.community_by_branch[expired_at].code]
        others_left = {c.branch.code for c in street.communities} - excluded - {expired_at}

        target = after_expiry(expired_at, excluded, hops, chain(expired_at, loops=loops))

        assert target.street_code == street.code
        assert target.branch_code not in excluded | {expired_at}
        assert target.is_street_queue == (hops > loops or not others_left)
