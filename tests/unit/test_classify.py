import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.classify import (
    InvalidReport,
    case_number,
    check_grid,
    classify,
    decide_category_and_priority,
)
from shared.privacy import TRACKING_ALPHABET, new_tracking_code
from tests.unit.factories import make_district, sample_district, sample_district_dict


class TestClassify:
    @pytest.mark.parametrize(
        ("description", "category"),
        [
            ("楼下装修噪音吵闹", "noise"),
            ("小区下水道堵塞污水横流", "drainage"),
            ("燃气泄漏味道很重", "safety"),
            ("南后街路灯不亮，井盖也破损了", "road"),
            ("垃圾三天没清运，异味很大", "sanitation"),
            ("独居老人需要助餐服务", "elderly"),
        ],
    )
    def test_picks_the_category_with_most_keyword_hits(self, description, category):
        assert classify(description, sample_district()) == category

    def test_counts_repeated_keywords(self):
        # one noise keyword against two sanitation hits
        assert classify("噪音，垃圾，垃圾", sample_district()) == "sanitation"

    def test_tie_goes_to_the_category_listed_first(self):
        district = sample_district()
        codes = [c.code for c in district.categories]
        assert codes.index("noise") < codes.index("sanitation")

        assert classify("垃圾和噪音", district) == "noise"

    @pytest.mark.parametrize("description", ["我想咨询一下社保政策", "", "谢谢"])
    def test_no_keyword_falls_back_to_other(self, description):
        assert classify(description, sample_district()) == "other"

    def test_without_other_the_last_category_is_the_fallback(self):
        raw = sample_district_dict()
        categories = [c for c in raw["categories"] if c["code"] != "other"]
        district = make_district(raw, categories=categories)

        assert classify("我想咨询一下社保政策", district) == categories[-1]["code"]

    @given(st.text(alphabet="噪音吵闹下水道堵塞垃圾燃气路灯的了在我家", max_size=40))
    def test_result_is_always_a_known_category(self, description):
        district = sample_district()
        assert classify(description, district) in district.category_by_code


class TestDecideCategoryAndPriority:
    def test_gas_leak_is_urgent_safety(self):
        assert decide_category_and_priority("燃气泄漏味道很重", None, None, sample_district()) == ("safety", "urgent")

    def test_classified_category_brings_its_priority(self):
        assert decide_category_and_priority("楼下装修噪音吵闹", None, None, sample_district()) == ("noise", "normal")

    def test_explicit_category_wins_over_keywords(self):
        result = decide_category_and_priority("楼下装修噪音吵闹", "water", None, sample_district())
        assert result == ("water", "normal")

    def test_explicit_priority_wins_over_the_category(self):
        district = sample_district()
        assert decide_category_and_priority("楼下装修噪音吵闹", None, "urgent", district) == ("noise", "urgent")
        assert decide_category_and_priority("燃气泄漏", "safety", "normal", district) == ("safety", "normal")

    def test_unknown_category_is_refused_naming_the_field(self):
        with pytest.raises(InvalidReport) as caught:
            decide_category_and_priority("楼下装修噪音吵闹", "cooking", None, sample_district())

        assert caught.value.field == "category"
        assert "cooking" in caught.value.message
        assert "noise" in caught.value.message
        assert str(caught.value).startswith("category: ")


class TestCheckGrid:
    @pytest.mark.parametrize("grid_code", [None, "G010101", "G030301"])
    def test_known_or_absent_grid_passes(self, grid_code):
        assert check_grid(grid_code, sample_district()) is None

    @pytest.mark.parametrize("grid_code", ["G999999", "g010101", ""])
    def test_unknown_grid_is_refused_naming_the_field(self, grid_code):
        with pytest.raises(InvalidReport) as caught:
            check_grid(grid_code, sample_district())

        assert caught.value.field == "grid_code"
        assert repr(grid_code) in caught.value.message


class TestCaseNumber:
    def test_format(self):
        moment = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
        assert case_number("350102", moment, 42) == "350102-20261121-000042"

    @given(st.integers(min_value=0, max_value=999_999), st.dates(min_value=date(2000, 1, 1)))
    def test_is_district_date_and_six_digit_sequence(self, sequence, day):
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        number = case_number("350102", moment, sequence)

        match = re.fullmatch(r"350102-(\d{8})-(\d{6})", number)
        assert match
        assert match.group(1) == day.strftime("%Y%m%d")
        assert int(match.group(2)) == sequence


class TestTrackingCode:
    def test_alphabet_has_no_lookalikes(self):
        assert not set("01OI") & set(TRACKING_ALPHABET)
        assert len(set(TRACKING_ALPHABET)) == len(TRACKING_ALPHABET) == 32

    def test_codes_are_ten_characters_from_the_alphabet_and_random(self):
        codes = [new_tracking_code() for _ in range(200)]

        assert all(len(code) == 10 and set(code) <= set(TRACKING_ALPHABET) for code in codes)
        assert len(set(codes)) == len(codes)
