"""Where a case goes: pure decisions over the district, no I/O and no clock.

First dispatch: the grid's community, else a community named in the address or
description, else the street's queue. A returned case goes to another branch of the
street (members with the right skill first, then the lightest load), never back to a
branch that returned it. A case nobody accepted moves to the next branch of the street,
at most ``loops`` times, then to the street's queue.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.dispatch.escalation import Escalation
from shared.district import Community, District, Street
from shared.events import CaseSummary


@dataclass(frozen=True)
class Target:
    street_code: str
    branch_code: str | None = None
    community_code: str | None = None

    @property
    def is_street_queue(self) -> bool:
        return self.branch_code is None


def locate(summary: CaseSummary, district: District) -> Community | None:
    if summary.grid_code and summary.grid_code in district.community_by_grid:
        return district.community_by_grid[summary.grid_code]
    text = " ".join(filter(None, [summary.address, summary.description]))
    names = sorted(
        ((name, c) for c in district.communities for name in (c.name, *c.aliases)), key=lambda p: -len(p[0])
    )
    for name, community in names:
        if name in text:
            return community
    return None


def home_street(summary: CaseSummary, district: District) -> Street:
    text = " ".join(filter(None, [summary.address, summary.description]))
    for street in district.streets:
        if street.name in text:
            return street
    return district.streets[0]


def to_community(community: Community, district: District) -> Target:
    street = district.street_of_community[community.code]
    return Target(street.code, community.branch.code, community.code)


def initial_target(summary: CaseSummary, district: District) -> Target:
    community = locate(summary, district)
    if community is None:
        return Target(home_street(summary, district).code)
    return to_community(community, district)


def street_of_branch(branch_code: str, district: District) -> Street:
    return district.street_of_community[district.community_by_branch[branch_code].code]


def after_return(
    returned_by: str, excluded: Iterable[str], category: str, district: District, load: Mapping[str, int]
) -> Target:
    street = street_of_branch(returned_by, district)
    skip = {returned_by, *excluded}
    candidates = [c for c in street.communities if c.branch.code not in skip]
    if not candidates:
        return Target(street.code)

    def preference(community: Community) -> tuple[int, int]:
        skilled = any(category in m.skills for m in community.members)
        return (0 if skilled else 1, load.get(community.branch.code, 0))

    return to_community(min(candidates, key=preference), district)


def after_expiry(expired_at: str, excluded: Iterable[str], hops: int, escalation: Escalation) -> Target:
    """``hops`` counts expiries since the case arrived or was reopened, this one
    included. Decided on the case's frozen escalation alone, whatever the district file
    says now."""
    if hops > escalation.loops:
        return Target(escalation.street_code)
    order = [branch for branch, _ in escalation.branches]
    start = order.index(expired_at) if expired_at in order else -1
    skip = {expired_at, *excluded}
    for offset in range(1, len(order) + 1):
        branch, community = escalation.branches[(start + offset) % len(order)]
        if branch not in skip:
            return Target(escalation.street_code, branch, community)
    return Target(escalation.street_code)
