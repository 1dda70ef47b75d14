import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.privacy import mask_phone, mask_phones_in_text, tracking_hash

STANDALONE_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("phone", "masked"),
        [
            ("13800000001", "138****0001"),
            ("138-0000-0001", "138****0001"),
            ("138 0000 0001", "138****0001"),
            ("0591-87654321", "********4321"),
            ("12345", "*2345"),
            ("110", "110"),
            (None, None),
            ("", ""),
        ],
    )
    def test_cases(self, phone, masked):
        assert mask_phone(phone) == masked

    @given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    def test_any_mobile_keeps_prefix_and_last_four(self, phone):
        assert mask_phone(phone) == phone[:3] + "****" + phone[-4:]


class TestMaskPhonesInText:
    def test_inside_a_sentence(self):
        text = "王女士来电13800000001，反映楼下噪音，请回电"
        assert mask_phones_in_text(text) == "王女士来电138****0001，反映楼下噪音，请回电"

    def test_every_number_in_the_text(self):
        text = "张先生13912345678或李女士18600001111"
        assert mask_phones_in_text(text) == "张先生139****5678或李女士186****1111"

    @pytest.mark.parametrize(
        "text",
        [
            "工单号12345678901",  # starts 12: not a mobile
            "身份证350102199001011234",  # longer digit run
            "座机0591-87654321",
            "没有号码",
        ],
    )
    def test_leaves_other_numbers_alone(self, text):
        assert mask_phones_in_text(text) == text

    def test_country_code_prefixed_mobile_is_masked(self):
        masked = mask_phones_in_text("回电+8613800000001")
        assert "13800000001" not in masked

    @pytest.mark.parametrize(("text", "masked"), [
        ("电话138 0000 0001", "电话138 **** 0001"),
        ("电话138-0000-0001", "电话138-****-0001"),
        ("电话 +86 138 0000 0001", "电话 +86 138 **** 0001"),
        ("电话+86-13800000001", "电话+86-138****0001"),
        ("电话0086 13800000001", "电话0086 138****0001"),
        ("电话1 3 8 0 0 0 0 0 0 0 1", "电话1 3 8 * * * * 0 0 0 1"),
        ("电话1380 000 0001", "电话138* *** 0001"),
        ("电话１３８００００００01", "电话１３８****００01"),
        ("电话１３８－００００－０００１", "电话１３８－****－０００１"),
    ])
    def test_any_way_a_mobile_is_typed(self, text, masked):
        assert mask_phones_in_text(text) == masked

    @given(
        st.lists(
            st.one_of(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.text(max_size=12),
                      st.sampled_from(["电话", "，", " ", "：", "号"])),
            max_size=8,
        ).map("".join)
    )
    def test_no_standalone_mobile_survives(self, text):
        masked = mask_phones_in_text(text)

        assert STANDALONE_MOBILE.search(masked) is None
        assert len(masked) == len(text)
        assert all(a == b or (a.isdigit() and b == "*") for a, b in zip(text, masked, strict=True))


class TestTrackingHash:
    def test_ignores_case_and_surrounding_whitespace(self):
        assert tracking_hash(" k7m2q9xwpa\n") == tracking_hash("K7M2Q9XWPA")

    def test_is_a_sha256_hex_digest_that_hides_the_code(self):
        digest = tracking_hash("K7M2Q9XWPA")
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert "K7M2Q9XWPA" not in digest.upper()

    def test_different_codes_differ(self):
        assert tracking_hash("K7M2Q9XWPA") != tracking_hash("K7M2Q9XWPB")
