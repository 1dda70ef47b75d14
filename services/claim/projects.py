"""Volunteer service projects (志愿服务项目): who may publish, see, claim and confirm, and
when each step is allowed. Pure: no I/O, and ``now`` is given, never read.

The store settles races with conditional UPDATEs (``project_store``): a claim takes a slot
only where ``filled < slots``, the cut-off is still ahead and the project is open, in the
transaction that writes the member's slot row. The checks here explain refusals in words;
they never decide a race.

The rules:

- **Publish**: a branch secretary for their own branch; a street supervisor for their
  street (street-wide, no branch) or one of its branches; the command center for any
  street or branch. A window has ``starts_at < ends_at``; the claim cut-off (default: the
  start) lies ahead and not after the start; a recurring project (``repeat_weeks`` n) is n
  projects a week apart, each with its own slots.
- **See**: members and supervisors see the projects of their street (street-wide ones and
  every branch's), the command center every street's.
- **Claim**: a member of the project's street, while it is open, before the cut-off, while
  a slot is free; one slot per member (a member who withdrew in time may claim again).
- **Withdraw**: the claiming member, before checking in and before the end. Before the
  cut-off the slot reopens; from the cut-off on the withdrawal is ``late`` and the slot
  stays taken (nobody could claim it any more anyway).
- **Check in** from ``CHECK_IN_EARLY`` before the start until the end; **check out** after
  checking in, until ``CHECK_OUT_GRACE`` after the end; **report** after checking out.
- **Confirm**: the secretary of the project's branch, a supervisor of its street or the
  command center; only a reported slot, once. The points are credited from that event.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from shared.auth import Identity
from shared.clock import LOCAL_TIME
from shared.district import District, PointsRules
from shared.errors import Refused

CHECK_IN_EARLY = timedelta(hours=1)
CHECK_OUT_GRACE = timedelta(hours=2)
MAX_SLOTS = 100
MAX_REPEAT_WEEKS = 12
MAX_AHEAD = timedelta(days=366)
"""How far ahead a project may start: a date years away is a typing mistake."""
MAX_LENGTH = timedelta(days=7)


class Conflict(StrEnum):
    """Why a step cannot be taken now (409): what the API says, and what the pages put in words."""

    FULL = "every slot of this project is taken"
    CLOSED = "claims for this project have closed (the cut-off has passed)"
    CLAIMED = "you have already claimed this project"
    CHECK_IN_TIME = f"check in from {CHECK_IN_EARLY.seconds // 3600} h before the start until the end"
    CHECK_OUT_TIME = f"check out no later than {CHECK_OUT_GRACE.seconds // 3600} h after the end"
    OVER = "the project is over; it can no longer be withdrawn from"
    CONFIRMED = "this member's completion is already confirmed"
    NOT_REPORTED = "the member has not reported: only a reported completion is confirmed"
    CHANGED = "the project or the slot changed meanwhile; look at it again"


class ProjectStatus(StrEnum):
    """The only status so far is OPEN; the claim fence insists on it, so a status added
    later (a cancellation, say) closes a project to claims without touching the fence."""

    OPEN = "open"
    """Published; claims are taken until the cut-off."""


class SlotStatus(StrEnum):
    """One member's slot in one project."""

    CLAIMED = "claimed"
    WITHDRAWN = "withdrawn"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    REPORTED = "reported"
    CONFIRMED = "confirmed"


HOLDING = (SlotStatus.CLAIMED, SlotStatus.CHECKED_IN, SlotStatus.CHECKED_OUT, SlotStatus.REPORTED,
           SlotStatus.CONFIRMED)
"""The statuses in which a slot counts as taken."""


class ProjectFacts(Protocol):
    """What the rules read of a project (the store's row has it)."""

    street_code: str
    branch_code: str | None
    starts_at: datetime
    ends_at: datetime
    claim_cutoff: datetime
    slots: int
    filled: int
    status: str
    skills: list[str]


@dataclass(frozen=True)
class Step:
    """A member's step on their own slot."""

    name: str
    from_statuses: tuple[SlotStatus, ...]
    to_status: SlotStatus
    words: str
    """What the member must have done before, for the refusal."""
    stamp: str
    """The slot's column that records when."""


WITHDRAW = Step("withdraw", (SlotStatus.CLAIMED,), SlotStatus.WITHDRAWN, "claimed the project and not checked in",
                "withdrawn_at")
CHECK_IN = Step("check_in", (SlotStatus.CLAIMED,), SlotStatus.CHECKED_IN, "claimed the project", "checked_in_at")
CHECK_OUT = Step("check_out", (SlotStatus.CHECKED_IN,), SlotStatus.CHECKED_OUT, "checked in", "checked_out_at")
REPORT = Step("report", (SlotStatus.CHECKED_OUT,), SlotStatus.REPORTED, "checked out", "reported_at")
CONFIRM = Step("confirm", (SlotStatus.REPORTED,), SlotStatus.CONFIRMED, "reported", "confirmed_at")
MEMBER_STEPS = {step.name: step for step in (WITHDRAW, CHECK_IN, CHECK_OUT, REPORT)}


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    claim_cutoff: datetime


@dataclass(frozen=True)
class Scope:
    street_code: str
    branch_code: str | None


def publishing_scope(who: Identity, district: District, branch_code: str | None, street_code: str | None) -> Scope:
    """Where ``who`` publishes: the branch or street asked for, if theirs to publish in.
    A secretary who names neither publishes for their branch."""
    if branch_code is not None and branch_code not in district.street_of_branch:
        raise Refused(422, f"unknown branch {branch_code!r}", field="body.branch_code")
    if street_code is not None and street_code not in district.street_by_code:
        raise Refused(422, f"unknown street {street_code!r}", field="body.street_code")
    if branch_code is not None and street_code is not None and district.street_of_branch[branch_code] != street_code:
        raise Refused(422, f"branch {branch_code} is not in street {street_code}", field="body.branch_code")
    if who.role == "member":
        led = district.secretaries.get(who.user_id)
        if led is None:
            raise Refused(403, "only a branch secretary publishes a branch's projects")
        own_street = district.street_of_branch[led]
        if (branch_code or led) != led or (street_code or own_street) != own_street:
            raise Refused(403, "a branch secretary publishes only for their own branch")
        return Scope(own_street, led)
    if who.role not in ("supervisor", "command_center"):
        raise Refused(403, "only branch secretaries, street supervisors and the command center publish projects")
    street = district.street_of_branch[branch_code] if branch_code else street_code or (
        who.unit if who.role == "supervisor" else None)
    if street is None:
        raise Refused(422, "name the street (or the branch) the project is for", field="body.street_code")
    if not who.oversees(district, street):
        raise Refused(403, "supervisors publish only for their own street and its branches")
    return Scope(street, branch_code)


def check_window(now: datetime, starts_at: datetime, ends_at: datetime, claim_cutoff: datetime | None) -> Window:
    """The project's times, the cut-off defaulting to the start; ``Refused`` 422 naming the field."""
    if starts_at > now + MAX_AHEAD:
        raise Refused(422, f"a project starts within {MAX_AHEAD.days} days", field="body.starts_at")
    if ends_at <= starts_at:
        raise Refused(422, "the project must end after it starts", field="body.ends_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise Refused(422, f"a project lasts at most {MAX_LENGTH.days} days", field="body.ends_at")
    cutoff = starts_at if claim_cutoff is None else claim_cutoff
    if cutoff > starts_at:
        raise Refused(422, "claims must close no later than the start", field="body.claim_cutoff")
    if cutoff <= now:
        field = "body.claim_cutoff" if claim_cutoff is not None else "body.starts_at"
        raise Refused(422, "the claim cut-off (by default the start) must lie in the future", field=field)
    return Window(starts_at.astimezone(UTC), ends_at.astimezone(UTC), cutoff.astimezone(UTC))


def points_for(points: int | None, rules: PointsRules) -> int:
    """The publisher's points, or the district's default; at most ``max_per_project``."""
    if points is None:
        return rules.per_project
    if not 0 <= points <= rules.max_per_project:
        raise Refused(422, f"points must be between 0 and {rules.max_per_project}", field="body.points")
    return points


def check_skills(skills: Sequence[str], district: District) -> list[str]:
    unknown = [skill for skill in skills if skill not in district.category_by_code]
    if unknown:
        raise Refused(422, f"unknown skills {unknown}; skills are category codes: "
                      f"{', '.join(district.category_by_code)}", field="body.skills")
    return list(dict.fromkeys(skills))


def occurrences(window: Window, repeat_weeks: int) -> list[Window]:
    """The windows of a recurring project: the first as given, each next one a week later."""
    week = timedelta(weeks=1)
    return [Window(window.starts_at + k * week, window.ends_at + k * week, window.claim_cutoff + k * week)
            for k in range(repeat_weeks)]


def local_day(moment: datetime) -> str:
    """The date in the district (Asia/Shanghai), as project numbers carry it."""
    return moment.astimezone(LOCAL_TIME).strftime("%Y%m%d")


def project_number(day: str, sequence: int) -> str:
    """``XM20261205-003``: the third project published on that local day."""
    return f"XM{day}-{sequence:03d}"


def street_seen_by(who: Identity, district: District, asked: str | None) -> str | None:
    """The street whose projects ``who`` reads: their own (members, supervisors), or the one
    the command center asks for (None: every street)."""
    own = district.street_of_branch.get(who.unit or "") if who.role == "member" else who.unit
    if who.role == "command_center":
        return asked
    if asked is not None and asked != own:
        raise Refused(403, "you see the projects of your own street only")
    return own


def may_see(who: Identity, district: District, project: ProjectFacts) -> bool:
    if who.role == "member":
        return district.street_of_branch.get(who.unit or "") == project.street_code
    return who.oversees(district, project.street_code)


def may_manage(who: Identity, district: District, project: ProjectFacts) -> bool:
    """Sees who claimed and confirms completions: the secretary of the project's branch,
    a supervisor of its street, the command center."""
    if who.role == "member":
        return project.branch_code is not None and district.secretaries.get(who.user_id) == project.branch_code
    return who.oversees(district, project.street_code)


def check_claim(who: Identity, district: District, project: ProjectFacts, slot: SlotStatus | None,
                now: datetime) -> None:
    if who.role != "member" or district.street_of_branch.get(who.unit or "") != project.street_code:
        raise Refused(403, "only members of the project's street claim its slots")
    if slot in HOLDING:
        raise Refused(409, Conflict.CLAIMED)
    if project.status != ProjectStatus.OPEN:
        raise Refused(409, f"the project is {project.status}")
    if project.claim_cutoff <= now:
        raise Refused(409, Conflict.CLOSED)
    if project.filled >= project.slots:
        raise Refused(409, Conflict.FULL)


def check_step(step: Step, who: Identity, project: ProjectFacts, slot: SlotStatus | None, now: datetime) -> None:
    """A member's own step: withdraw, check in, check out, report."""
    if who.role != "member":
        raise Refused(403, "only the member who claimed the slot does this")
    if slot is None:
        raise Refused(404, "you have no slot in this project")
    if slot not in step.from_statuses:
        raise Refused(409, f"your slot is {slot}: {step.name.replace('_', ' ')} needs you to have {step.words}")
    if step is WITHDRAW and now >= project.ends_at:
        raise Refused(409, Conflict.OVER)
    if step is CHECK_IN and not project.starts_at - CHECK_IN_EARLY <= now < project.ends_at:
        raise Refused(409, Conflict.CHECK_IN_TIME)
    if step is CHECK_OUT and now > project.ends_at + CHECK_OUT_GRACE:
        raise Refused(409, Conflict.CHECK_OUT_TIME)


def check_confirm(who: Identity, district: District, project: ProjectFacts, slot: SlotStatus | None) -> None:
    if not may_manage(who, district, project):
        raise Refused(403, "only the secretary of the project's branch or a supervisor of its street confirms")
    if slot is None:
        raise Refused(404, "this member has no slot in the project")
    if slot == SlotStatus.CONFIRMED:
        raise Refused(409, Conflict.CONFIRMED)
    if slot not in CONFIRM.from_statuses:
        raise Refused(409, Conflict.NOT_REPORTED)


def withdrawal_is_late(project: ProjectFacts, now: datetime) -> bool:
    return now >= project.claim_cutoff


P = TypeVar("P", bound=ProjectFacts)


def matches_skills(project: ProjectFacts, skills: Sequence[str]) -> bool:
    return bool(set(project.skills) & set(skills))


def hall_order(projects: Sequence[P], skills: Sequence[str]) -> list[P]:
    """The member's hall: projects wanting one of their skills first, then by start."""
    return sorted(projects, key=lambda p: (not matches_skills(p, skills), p.starts_at))
