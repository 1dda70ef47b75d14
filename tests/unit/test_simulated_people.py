"""The simulator never acts as the logins `appeal dev` offers people, nor races them."""

from services.dev import sign_in_line
from services.simulator import PeoplesLogins
from shared.district import load_district


def test_the_simulator_signs_in_as_nobody_offered_to_people_and_skips_the_offered_members_branch():
    district = load_district()
    people = PeoplesLogins.of(district)
    offered = (people.operator, people.member, people.supervisor)
    assert [p.id if p else None for p in offered] == ["U100", "M001", "U900"]
    simulated = people.simulated_operator(district)
    assert simulated is not None and simulated.id != "U100"
    branches = {c.branch.code for c in people.simulated_branches(district)}
    assert "B0101" not in branches and people.member_branch == "B0101"
    assert branches == {c.branch.code for c in district.communities if c.members} - {"B0101"}


def test_the_banner_names_the_offered_logins_and_the_branch_left_alone():
    line = sign_in_line(load_district(), simulating=True)
    assert "operator U100" in line and "member M001" in line and "supervisor U900" in line
    assert "leaves branch B0101 to you" in line
    assert "leaves" not in sign_in_line(load_district(), simulating=False)
