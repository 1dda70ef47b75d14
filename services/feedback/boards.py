"""Who may read whose points, and the leaderboards (排行榜, 比学赶超) built from the
ledger's totals. Pure: the totals come in, the boards go out.

- A member's ledger: the member, their branch's secretary, a supervisor of their street,
  the command center.
- A board (a branch's members, or a street's members and branches): members of a branch
  of that street, the street's supervisors, the command center.
- Every member of the unit is on its board, with 0 if they earned nothing; points count
  in the branch the member belonged to when they earned them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from services.feedback.points import ranked
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused


def check_ledger_reader(who: Identity, member_id: str, district: District) -> str:
    """The member's branch, if ``who`` may read the member's points."""
    community = next((c for c in district.communities if any(m.id == member_id for m in c.members)), None)
    if community is None:
        raise Refused(404, "no such member")
    branch = community.branch.code
    allowed = (who.user_id == member_id or district.secretaries.get(who.user_id) == branch
               or who.oversees(district, branch))
    if not allowed:
        raise Refused(403, "only the member, their branch's secretary and their street's supervisors read these points")
    return branch


def check_board_reader(who: Identity, unit: str, district: District) -> list[str]:
    """The unit's branch codes, if ``who`` may see its board."""
    street = district.street_of_unit(unit)
    if street is None:
        raise Refused(404, "no such branch or street")
    member_street = district.street_of_branch.get(who.unit or "") if who.role == "member" else None
    if not (who.oversees(district, unit) or member_street == street):
        raise Refused(403, "members and supervisors see the boards of their own street")
    if unit in district.street_by_code:
        return [c.branch.code for c in district.street_by_code[unit].communities]
    return [unit]


def default_unit(who: Identity, district: District) -> str | None:
    """A member's board is their branch's, a supervisor's their street's."""
    if who.role in ("member", "supervisor"):
        return who.unit
    return district.streets[0].code if who.role == "command_center" else None


@dataclass(frozen=True)
class MemberStanding:
    rank: int
    member_id: str
    name: str
    branch_code: str
    points: int


@dataclass(frozen=True)
class BranchStanding:
    rank: int
    branch_code: str
    name: str
    points: int


@dataclass(frozen=True)
class Board:
    members: list[MemberStanding]
    branches: list[BranchStanding]
    """Empty for a branch's board."""


def board(district: District, unit: str, branch_codes: list[str], totals: Mapping[tuple[str, str], int]) -> Board:
    earned: dict[tuple[str, str], int] = {
        (m.id, c.branch.code): 0 for c in district.communities if c.branch.code in branch_codes for m in c.members}
    for key, points in totals.items():
        earned[key] = earned.get(key, 0) + points
    people = [(member_id, branch, points) for (member_id, branch), points in sorted(earned.items())]
    members = [MemberStanding(rank, member_id, _name(district, member_id), branch, points)
               for rank, (member_id, branch, points) in ranked(people, lambda p: p[2])]
    branches: list[BranchStanding] = []
    if unit in district.street_by_code:
        sums = [(code, sum(p for (_m, b), p in earned.items() if b == code)) for code in branch_codes]
        branches = [BranchStanding(rank, code, district.community_by_branch[code].branch.name, points)
                    for rank, (code, points) in ranked(sums, lambda s: s[1])]
    return Board(members, branches)


def _name(district: District, member_id: str) -> str:
    member = district.member_by_id.get(member_id)
    return member.name if member else member_id
