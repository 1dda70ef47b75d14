"""Handing a case to another branch (改派): pure checks and the target, no I/O.

A supervisor of the case's street, or the command center, may hand on a case that waits
in the street's queue, or one whose dispatch is breaching or has breached
(``risk.Standing``), to any branch of the district: the right branch may be in another
street when a case no community could be found for went to the wrong street's queue.
The refusals, in the order they are checked: no such branch (422), the supervisor of
another street (403), a case resolved or closed (409), the branch that holds it now
(409), a dispatch that is on time (409). Which case is read, and whether it is known at
all (404), is the caller's part.
"""

from services.dispatch.routing import Target, to_community
from services.dispatch.store import ACTIVE, Assignment
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused

IN_QUEUE = "escalated"


def reassignment_target(assignment: Assignment, branch_code: str, who: Identity, district: District) -> Target:
    community = district.community_by_branch.get(branch_code)
    if community is None:
        raise Refused(422, f"no branch {branch_code} in {district.district.name}", field="body.branch_code")
    if not who.oversees(district, assignment.branch_code or assignment.street_code):
        raise Refused(403, "only a supervisor of the case's street, or the command center, may reassign it")
    if assignment.state not in (ACTIVE, IN_QUEUE):
        raise Refused(409, f"the case is {assignment.state}: there is nothing left to hand on")
    if assignment.state == ACTIVE:
        if assignment.branch_code == branch_code:
            raise Refused(409, f"the case is already with {branch_code}")
        if not assignment.sla_standing.at_risk():
            raise Refused(409, "the case is on time: only a case in the street's queue, or one breaching or past "
                               "a deadline, may be reassigned")
    return to_community(community, district)
