from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.district import DistrictError, bundled_district_path, load_district, parse_duration
from tests.unit.factories import make_district, sample_district, sample_district_dict, write_district


class TestSampleDistrict:
    def test_is_big_enough_to_demo_the_whole_loop(self):
        district = load_district()

        assert len(district.streets) >= 2
        assert len(district.communities) >= 6
        assert len(district.community_by_grid) >= 20
        assert sum(len(c.members) for c in district.communities) >= 30
        assert len(district.categories) >= 10
        roles = {role for _, role, _ in district.people()}
        assert roles == {"operator", "supervisor", "member", "command_center"}

    def test_loading_without_a_path_reads_the_bundled_file(self):
        assert load_district(bundled_district_path()) == load_district()

    def test_lookups_find_三坊七巷(self):
        district = sample_district()

        community = district.community_by_grid["G010101"]
        assert community.name == "三坊七巷社区"
        assert district.community_by_branch["B0101"] is community
        assert district.street_of_community["C0101"].name == "鼓东街道"
        assert district.category_by_code["safety"].priority == "urgent"
        assert district.sla["normal"].accept == timedelta(minutes=10)
        assert district.sla["urgent"].respond == timedelta(minutes=30)

    def test_people_carry_role_and_unit(self):
        units = {person.id: (role, unit) for person, role, unit in sample_district().people()}

        assert units["M001"] == ("member", "B0101")
        assert units["U900"] == ("supervisor", "S01")
        assert units["U100"] == ("operator", None)
        assert units["U800"] == ("command_center", "350102")

    def test_every_member_skill_is_a_known_category(self):
        district = sample_district()
        known = set(district.category_by_code)
        assert all(set(m.skills) <= known for c in district.communities for m in c.members)


class TestBrokenFiles:
    def load_broken(self, tmp_path, raw) -> str:
        with pytest.raises(DistrictError) as caught:
            load_district(write_district(tmp_path, raw))
        return str(caught.value)

    def test_missing_field_names_the_path_and_the_community(self, tmp_path):
        raw = sample_district_dict()
        del raw["streets"][0]["communities"][0]["branch"]

        message = self.load_broken(tmp_path, raw)

        assert "streets[0].communities[0].branch" in message
        assert "C0101" in message

    def test_missing_member_name_names_the_member(self, tmp_path):
        raw = sample_district_dict()
        del raw["streets"][1]["communities"][2]["members"][1]["name"]

        message = self.load_broken(tmp_path, raw)

        assert "streets[1].communities[2].members[1].name" in message
        assert "M022" in message

    def test_every_error_is_listed(self, tmp_path):
        raw = sample_district_dict()
        del raw["streets"][0]["communities"][0]["branch"]
        raw["sla"]["urgent"]["accept"] = "5 分钟"

        message = self.load_broken(tmp_path, raw)

        assert "streets[0].communities[0].branch" in message
        assert "sla.urgent.accept" in message

    def test_bad_duration_names_the_sla_field(self, tmp_path):
        raw = sample_district_dict()
        raw["sla"]["normal"]["accept"] = "10 minutes"

        message = self.load_broken(tmp_path, raw)

        assert "sla.normal.accept" in message
        assert "10 minutes" in message

    def test_respond_shorter_than_accept_is_refused(self, tmp_path):
        raw = sample_district_dict()
        raw["sla"]["urgent"] = {"accept": "30m", "respond": "5m"}

        message = self.load_broken(tmp_path, raw)

        assert "sla.urgent" in message
        assert "respond must not be shorter than accept" in message

    @pytest.mark.parametrize("warn_at", [0, 1, 1.5, -0.1])
    def test_warn_at_must_be_a_fraction(self, tmp_path, warn_at):
        raw = sample_district_dict()
        raw["sla"]["normal"]["warn_at"] = warn_at

        assert "sla.normal.warn_at" in self.load_broken(tmp_path, raw)

    def test_missing_priority_policy_is_refused(self, tmp_path):
        raw = sample_district_dict()
        del raw["sla"]["urgent"]

        assert "sla.urgent is missing" in self.load_broken(tmp_path, raw)

    def test_duplicate_member_id_names_the_id(self, tmp_path):
        raw = sample_district_dict()
        raw["streets"][1]["communities"][0]["members"][0]["id"] = "M001"

        message = self.load_broken(tmp_path, raw)

        assert "'M001' appears twice" in message
        assert "user ids must be unique" in message

    def test_duplicate_grid_across_communities_is_refused(self, tmp_path):
        raw = sample_district_dict()
        raw["streets"][2]["communities"][0]["grids"].append("G010101")

        assert "'G010101' appears twice" in self.load_broken(tmp_path, raw)

    def test_unknown_skill_names_the_member_and_the_skill(self, tmp_path):
        raw = sample_district_dict()
        raw["streets"][0]["communities"][0]["members"][0]["skills"] = ["noise", "cooking"]

        message = self.load_broken(tmp_path, raw)

        assert "M001" in message
        assert "张伟" in message
        assert "cooking" in message
        assert "noise" not in message.split("unknown skills", 1)[1]

    def test_unknown_skill_names_the_field_path(self, tmp_path):
        raw = sample_district_dict()
        raw["streets"][0]["communities"][0]["members"][0]["skills"] = ["cooking"]

        assert "streets[0].communities[0].members[0]" in self.load_broken(tmp_path, raw)

    def test_unknown_top_level_key_is_refused(self, tmp_path):
        raw = sample_district_dict()
        raw["stretes"] = []

        assert "stretes" in self.load_broken(tmp_path, raw)

    @pytest.mark.parametrize("content", [["鼓楼区", "台江区"], "鼓楼区", 42, None])
    def test_non_mapping_file_is_refused(self, tmp_path, content):
        assert "must be a mapping" in self.load_broken(tmp_path, content)

    def test_empty_file_is_refused(self, tmp_path):
        path = tmp_path / "empty.yaml"
        path.write_text("", encoding="utf-8")

        with pytest.raises(DistrictError, match="must be a mapping"):
            load_district(path)

    def test_missing_file_names_the_path(self, tmp_path):
        path = tmp_path / "不存在.yaml"

        with pytest.raises(DistrictError, match="does not exist") as caught:
            load_district(path)
        assert str(path) in str(caught.value)

    def test_invalid_yaml_is_refused_in_plain_words(self, tmp_path):
        path = tmp_path / "broken.yaml"
        path.write_text("district: {code: 350102, name: 鼓楼区\nsla: [\n", encoding="utf-8")

        with pytest.raises(DistrictError, match="is not valid YAML") as caught:
            load_district(path)
        assert str(path) in str(caught.value)

    def test_gbk_encoded_file_is_a_district_error(self, tmp_path):
        path = tmp_path / "gbk.yaml"
        path.write_bytes(bundled_district_path().read_text(encoding="utf-8").encode("gbk"))

        with pytest.raises(DistrictError):
            load_district(path)


class TestMakeDistrict:
    def test_top_level_overrides_apply(self):
        district = make_district(escalation_loops=5)

        assert district.escalation_loops == 5
        assert sample_district().escalation_loops == 2


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30s", timedelta(seconds=30)),
            ("10m", timedelta(minutes=10)),
            ("1h", timedelta(hours=1)),
            ("2d", timedelta(days=2)),
            ("1.5h", timedelta(minutes=90)),
            (" 10m ", timedelta(minutes=10)),
            ("10 m", timedelta(minutes=10)),
            ("0s", timedelta(0)),
        ],
    )
    def test_accepts(self, text, expected):
        assert parse_duration(text) == expected

    def test_passes_timedelta_through(self):
        assert parse_duration(timedelta(minutes=7)) == timedelta(minutes=7)

    @pytest.mark.parametrize("text", ["10 minutes", "10", "", "-5m", "1h30m", "10M", "m10", "十分钟", 600, None])
    def test_refuses(self, text):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(text)

    @given(st.integers(min_value=0, max_value=100_000), st.sampled_from(["s", "m", "h", "d"]))
    def test_integer_amounts_of_each_unit(self, amount, unit):
        names = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
        assert parse_duration(f"{amount}{unit}") == timedelta(**{names[unit]: amount})
