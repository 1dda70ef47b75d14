"""What `appeal audit` decides: pure functions over plain rows of every service's tables,
no I/O and no clock (``now`` is an argument).

The services keep their promises through many small mechanisms (outbox, idempotency
records, generation fences); the audit looks only at what they stored and says whether
the promises held. Each check's rule, exactly:

``dispatched`` — every case in intake's register is in dispatch's assignments, routed: a
generation of at least 1 and a state of ``active`` (to a branch), ``escalated`` (to a
street's queue: no branch, a street), ``resolved`` or ``closed`` (a branch). Claim holds a
task for it at dispatch's generation, on dispatch's branch (none for a street queue),
in a status that state allows: ``open``/``claimed``/``responded`` while active,
``escalated`` in a street queue, ``resolved`` once resolved or closed. Intake's case
view is at dispatch's generation and shows the status those two imply (``dispatched``,
``claimed``, ``responded``, ``escalated``, ``resolved``, ``closed``). Dispatch and claim
hold no case that intake never registered.

``timers`` — every open dispatch (dispatch's state ``active``) has an sla clock: a watch
at the same generation and branch, open; and for each stage, accept and respond, either
a settled row for that generation or a deadline timer (not the warning) of that
generation that is ``pending`` or ``fired``. No watch stays open for a case dispatch has
escalated or closed. A pending timer (warning or deadline) belongs to the active
dispatch's generation and to a stage not settled: anything else would fire for a
dispatch that is over.

``feedback`` — feedback knows every registered case with its tracking code (else the
citizen cannot rate it). A case dispatch holds ``resolved`` at generation g is
``awaiting`` a rating in feedback at g; ``closed`` at g is ``closed`` at g. A case
feedback holds ``awaiting`` or ``closed`` is so in dispatch at the same generation; one
feedback ``reopened`` at g is dispatched again (dispatch's generation above g).

``external_id`` — no external id (the hotline's work-order number) is on two cases in
intake's register. (Intake's unique index forbids it; the check holds whatever the
schema.)

``applied_once`` — no event applied twice, as far as the stores can tell:

- intake's timeline holds at most one entry per case and generation of each event type
  that happens once per dispatch (registered, dispatched, escalated, claimed,
  responded, resolved, returned, expired, feedback recorded, member evaluated, closed,
  reopened), of ``sla.breached`` per stage and of ``supervisor.notified`` per reason;
  and never both of a pair that exclude each other in one generation: dispatched and
  escalated; claimed and expired (both sides of the accept race won); two of returned,
  expired and resolved; closed and reopened. Event ids are uuid5 of case, kind and
  generation, so a redelivery is the same entry; two entries are one fact applied as
  two events.
- dispatch's generations are a chain: the timeline holds one dispatch or escalation for
  each generation from 1 to dispatch's, none beyond, the first for reason ``initial``
  and each later one for a cause the timeline holds at the generation before
  (``returned`` → ``task.returned``, ``expired`` → ``task.expired``, ``reopened`` →
  ``case.reopened``), or for ``reassigned``, a supervisor's decision that is its own
  cause. A cause applied twice would make two generations of one cause.
- intake's counters agree with its timeline: ``escalation_count`` is the number of
  escalations plus dispatches for reason ``expired``, ``extension_count`` of
  ``sla.extended``, ``suspension_count`` of ``task.suspended`` entries (each counted in
  the transaction that adds its entry, so a difference is an event counted twice).
- Not checked, because a primary key or unique constraint makes a second row impossible:
  ``processed_event`` (consumer, event id), sla timers (case, kind, generation), settled
  stages, ratings and evaluations (case, generation).

``outbox`` — no service's outbox holds a row written more than ``outbox_max_age``
(a minute) ago: the relay publishes within a second while the broker is up.

Work in flight is not a violation. The cross-service rules (``dispatched``, ``timers``,
``feedback``, and the generation chain of ``applied_once``) skip a case that is
*settling*: something about it changed less than ``settle`` ago in any service
(registered, projected, dispatched, claimed, responded, resolved, suspended, a timer
fired, a timeline event occurred, rated), or any service's outbox still holds an event
for it (an old one is reported by ``outbox``). Rules within one service's tables
(duplicates, counters, external ids, outbox age) always apply, since one transaction
keeps those consistent at every moment.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from services.claim.tasks import TaskStatus
from services.sla.deadlines import TimerKind, TimerState
from shared.events import (
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    FeedbackRecorded,
    MemberEvaluated,
    SlaBreached,
    SlaExtended,
    SlaStage,
    SupervisorNotified,
    TaskClaimed,
    TaskExpired,
    TaskResolved,
    TaskResponded,
    TaskReturned,
    TaskSuspended,
)


class Check(StrEnum):
    DISPATCHED = "dispatched"
    TIMERS = "timers"
    FEEDBACK = "feedback"
    EXTERNAL_ID = "external_id"
    APPLIED_ONCE = "applied_once"
    OUTBOX = "outbox"


RULES: dict[Check, str] = {
    Check.DISPATCHED: "every registered case is dispatched to a branch or a street queue; claim and intake agree",
    Check.TIMERS: "every open dispatch has, for accept and respond, a live timer or a settled stage",
    Check.FEEDBACK: "feedback knows every case and awaits, closes or reopens it as dispatch does",
    Check.EXTERNAL_ID: "no external id on two cases",
    Check.APPLIED_ONCE: "no event applied twice: timeline, dispatch generations, intake's counters",
    Check.OUTBOX: "no outbox row older than a minute",
}

DEFAULT_SETTLE = timedelta(seconds=30)
DEFAULT_OUTBOX_MAX_AGE = timedelta(minutes=1)


def _type(event: type) -> str:
    return event.model_fields["type"].default  # type: ignore[attr-defined]  # every event class is a pydantic model


REGISTERED, DISPATCHED, ESCALATED = _type(CaseRegistered), _type(CaseDispatched), _type(CaseEscalated)
CLAIMED, RESPONDED, RESOLVED = _type(TaskClaimed), _type(TaskResponded), _type(TaskResolved)
RETURNED, EXPIRED, SUSPENDED = _type(TaskReturned), _type(TaskExpired), _type(TaskSuspended)
BREACHED, NOTIFIED, EXTENDED = _type(SlaBreached), _type(SupervisorNotified), _type(SlaExtended)
CLOSED, REOPENED = _type(CaseClosed), _type(CaseReopened)
ONCE_PER_GENERATION = frozenset({REGISTERED, DISPATCHED, ESCALATED, CLAIMED, RESPONDED, RESOLVED, RETURNED, EXPIRED,
                                 _type(FeedbackRecorded), _type(MemberEvaluated), CLOSED, REOPENED})
EXCLUSIVE: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({DISPATCHED, ESCALATED}), "both dispatched and escalated"),
    (frozenset({CLAIMED, EXPIRED}), "both claimed and expired: both sides of the accept race won"),
    (frozenset({RETURNED, EXPIRED, RESOLVED}), "more than one ending"),
    (frozenset({CLOSED, REOPENED}), "both closed and reopened"),
)
CAUSES = {"returned": RETURNED, "expired": EXPIRED, "reopened": REOPENED}
"""A re-dispatch's reason and the event of the generation before that causes it."""
DECIDED = frozenset({"reassigned"})
"""Re-dispatch reasons that are a person's decision, carried on the dispatch itself."""

# Dispatch's assignment states (services/dispatch): a branch dispatch in force, the
# street's queue, and the two ends of a branch dispatch.
ACTIVE, IN_QUEUE, DONE, CLOSED_STATE = "active", "escalated", "resolved", "closed"
TASK_STATUSES: dict[str, frozenset[str]] = {
    ACTIVE: frozenset({TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RESPONDED}),
    IN_QUEUE: frozenset({TaskStatus.ESCALATED}),
    DONE: frozenset({TaskStatus.RESOLVED}),
    CLOSED_STATE: frozenset({TaskStatus.RESOLVED}),
}
CASE_STATUS = {IN_QUEUE: "escalated", DONE: "resolved", CLOSED_STATE: "closed"}
ACTIVE_CASE_STATUS: dict[str, str] = {TaskStatus.OPEN: "dispatched", TaskStatus.CLAIMED: "claimed",
                                      TaskStatus.RESPONDED: "responded"}
FEEDBACK_STATE = {DONE: "awaiting", CLOSED_STATE: "closed"}
LIVE_TIMER = frozenset({TimerState.PENDING, TimerState.FIRED})


@dataclass(frozen=True)
class IntakeCase:
    case_id: str
    status: str
    generation: int
    created_at: datetime
    updated_at: datetime | None = None
    external_id: str | None = None
    escalation_count: int = 0
    extension_count: int = 0
    suspension_count: int = 0


@dataclass(frozen=True)
class TimelineEntry:
    case_id: str
    type: str
    generation: int
    at: datetime
    reason: str | None = None
    """Of a dispatch, an escalation or a supervisor notice."""
    stage: str | None = None
    """Of an SLA event."""


@dataclass(frozen=True)
class Assignment:
    case_id: str
    generation: int
    state: str
    updated_at: datetime
    branch_code: str | None = None
    street_code: str | None = None


@dataclass(frozen=True)
class Task:
    case_id: str
    generation: int
    status: str
    dispatched_at: datetime
    branch_code: str | None = None
    claimed_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class Watch:
    case_id: str
    generation: int
    branch_code: str
    open: bool
    dispatched_at: datetime


@dataclass(frozen=True)
class Timer:
    case_id: str
    generation: int
    kind: str
    state: str
    fired_at: datetime | None = None


@dataclass(frozen=True)
class Settled:
    case_id: str
    generation: int
    stage: str


@dataclass(frozen=True)
class RatableCase:
    case_id: str
    state: str
    generation: int
    has_tracking_code: bool
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Rating:
    case_id: str
    generation: int
    at: datetime


@dataclass(frozen=True)
class OutboxRow:
    service: str
    id: int
    key: str
    event_type: str
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """What every service stored, as plain rows."""

    cases: Sequence[IntakeCase] = ()
    timeline: Sequence[TimelineEntry] = ()
    assignments: Sequence[Assignment] = ()
    tasks: Sequence[Task] = ()
    watches: Sequence[Watch] = ()
    timers: Sequence[Timer] = ()
    settled: Sequence[Settled] = ()
    ratable: Sequence[RatableCase] = ()
    ratings: Sequence[Rating] = ()
    outbox: Sequence[OutboxRow] = ()


@dataclass(frozen=True)
class Finding:
    check: Check
    service: str
    """Whose stored state is missing or wrong, as far as the audit can tell."""
    case_id: str | None
    problem: str


@dataclass(frozen=True)
class AuditReport:
    checked_at: datetime
    settle_seconds: float
    cases: int
    """Cases in intake's register."""
    settling: int
    """Of those (and of cases only other services hold), how many the cross-service rules skipped."""
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.findings

    def of(self, check: Check) -> list[Finding]:
        return [f for f in self.findings if f.check == check]


def run_checks(snapshot: Snapshot, *, now: datetime, settle: timedelta = DEFAULT_SETTLE,
               outbox_max_age: timedelta = DEFAULT_OUTBOX_MAX_AGE) -> AuditReport:
    settling = settling_cases(snapshot, now - settle)
    findings = [*check_dispatched(snapshot, settling), *check_timers(snapshot, settling),
                *check_feedback(snapshot, settling), *check_external_ids(snapshot),
                *check_applied_once(snapshot, settling), *check_outbox(snapshot, now, outbox_max_age)]
    return AuditReport(checked_at=now, settle_seconds=settle.total_seconds(), cases=len(snapshot.cases),
                       settling=len(settling), findings=tuple(findings))


def settling_cases(snapshot: Snapshot, since: datetime) -> set[str]:
    """Cases something happened to at or after ``since``, or with an event still in an outbox."""
    recent = {case_id for case_id, moment in _activity(snapshot) if moment is not None and moment >= since}
    return recent | {row.key for row in snapshot.outbox}


def _activity(s: Snapshot) -> Iterator[tuple[str, datetime | None]]:
    for case in s.cases:
        yield case.case_id, case.created_at
        yield case.case_id, case.updated_at
    for entry in s.timeline:
        yield entry.case_id, entry.at
    for assignment in s.assignments:
        yield assignment.case_id, assignment.updated_at
    for task in s.tasks:
        for moment in (task.dispatched_at, task.claimed_at, task.responded_at, task.resolved_at, task.suspended_at):
            yield task.case_id, moment
    for watch in s.watches:
        yield watch.case_id, watch.dispatched_at
    for timer in s.timers:
        yield timer.case_id, timer.fired_at
    for ratable in s.ratable:
        yield ratable.case_id, ratable.resolved_at
    for rating in s.ratings:
        yield rating.case_id, rating.at


def check_dispatched(s: Snapshot, settling: set[str]) -> list[Finding]:
    found: list[Finding] = []

    def add(service: str, case_id: str, problem: str) -> None:
        found.append(Finding(Check.DISPATCHED, service, case_id, problem))

    assignments, tasks = _by_case(s.assignments), _by_case(s.tasks)
    registered = {case.case_id for case in s.cases}
    for case in s.cases:
        if case.case_id in settling:
            continue
        assignment = assignments.get(case.case_id)
        if assignment is None:
            add("dispatch", case.case_id, f"registered at intake ({case.status}) but unknown to dispatch")
            continue
        problem = _routing_problem(assignment)
        if problem:
            add("dispatch", case.case_id, problem)
            continue
        task = tasks.get(case.case_id)
        problem = _task_problem(assignment, task)
        if problem:
            add("claim", case.case_id, problem)
        if case.generation != assignment.generation:
            add("intake", case.case_id, f"intake's case view is at generation {case.generation}, dispatch at "
                                        f"{assignment.generation}: an event never reached the timeline")
        elif task is not None and not problem:
            expected = CASE_STATUS.get(assignment.state) or ACTIVE_CASE_STATUS.get(task.status)
            if expected and case.status != expected:
                add("intake", case.case_id, f"intake shows the case {case.status}; dispatch and claim say {expected} "
                                            f"(generation {assignment.generation})")
    for assignment in s.assignments:
        if assignment.case_id not in registered and assignment.case_id not in settling:
            add("dispatch", assignment.case_id, "dispatch holds a case intake never registered")
    for task in s.tasks:
        if task.case_id not in registered and task.case_id not in settling:
            add("claim", task.case_id, "claim holds a task for a case intake never registered")
    return found


def _routing_problem(assignment: Assignment) -> str | None:
    if assignment.generation < 1 or assignment.state not in TASK_STATUSES:
        return f"dispatch never routed it (state {assignment.state}, generation {assignment.generation})"
    if assignment.state == IN_QUEUE and (assignment.branch_code or not assignment.street_code):
        return (f"escalated with branch {assignment.branch_code} and street {assignment.street_code}: a street "
                f"queue has a street and no branch")
    if assignment.state != IN_QUEUE and not assignment.branch_code:
        return f"{assignment.state} at generation {assignment.generation} with no branch"
    return None


def _task_problem(assignment: Assignment, task: Task | None) -> str | None:
    where = _where(assignment.branch_code, assignment.street_code)
    if task is None:
        return f"dispatch sent it to {where} (generation {assignment.generation}); claim has no task"
    if task.generation != assignment.generation:
        return f"claim's task is at generation {task.generation}, dispatch's at {assignment.generation} ({where})"
    if task.branch_code != assignment.branch_code:
        return (f"claim's task is on {_where(task.branch_code, None)}, dispatch sent generation "
                f"{assignment.generation} to {where}")
    if task.status not in TASK_STATUSES[assignment.state]:
        if assignment.state == ACTIVE and task.status in (TaskStatus.RETURNED, TaskStatus.EXPIRED):
            return (f"claim's task of generation {task.generation} was {task.status}, but dispatch never moved the "
                    f"case on")
        return f"claim's task is {task.status}, dispatch has the case {assignment.state} (generation {task.generation})"
    return None


def _where(branch_code: str | None, street_code: str | None) -> str:
    if branch_code:
        return f"branch {branch_code}"
    return f"the street queue of {street_code}" if street_code else "the street queue"


def check_timers(s: Snapshot, settling: set[str]) -> list[Finding]:
    assignments, watches = _by_case(s.assignments), _by_case(s.watches)
    settled = {(row.case_id, row.generation, row.stage) for row in s.settled}
    live = {(t.case_id, t.generation, t.kind) for t in s.timers if t.state in LIVE_TIMER}
    problems: list[tuple[str, str]] = []
    for assignment in s.assignments:
        if assignment.state == ACTIVE and assignment.case_id not in settling:
            problems.extend((assignment.case_id, problem) for problem in
                            _clock_problems(assignment, watches.get(assignment.case_id), settled, live))
    for watch in s.watches:
        dispatch = assignments.get(watch.case_id)
        if (watch.open and watch.case_id not in settling and dispatch is not None
                and dispatch.state in (IN_QUEUE, CLOSED_STATE)):
            problems.append((watch.case_id, f"sla still watches generation {watch.generation}; dispatch has the "
                                            f"case {dispatch.state} at generation {dispatch.generation}"))
    pending: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
    for timer in s.timers:
        if timer.state == TimerState.PENDING and timer.case_id not in settling:
            pending[timer.case_id, timer.generation].append(timer.kind)
    for (case_id, generation), kinds in sorted(pending.items()):
        problem = _pending_problem(assignments.get(case_id), generation, sorted(kinds), settled)
        if problem:
            problems.append((case_id, problem))
    return [Finding(Check.TIMERS, "sla", case_id, problem) for case_id, problem in problems]


def _clock_problems(assignment: Assignment, watch: Watch | None, settled: set[tuple[str, int, str]],
                    live: set[tuple[str, int, str]]) -> Iterator[str]:
    case_id, generation = assignment.case_id, assignment.generation
    if watch is None:
        yield f"dispatch sent generation {generation} to branch {assignment.branch_code}; sla has no clock for it"
    elif watch.generation != generation:
        yield f"sla's clock is for generation {watch.generation}, dispatch's is at {generation}"
    elif not watch.open:
        yield f"sla closed its clock for generation {generation}, which dispatch still has open"
    else:
        for stage in SlaStage:
            deadline = TimerKind.of(stage, warning=False)
            if (case_id, generation, stage) not in settled and (case_id, generation, deadline) not in live:
                yield f"the {stage} stage of generation {generation} has no pending or fired timer and is not settled"


def _pending_problem(dispatch: Assignment | None, generation: int, kinds: list[str],
                     settled: set[tuple[str, int, str]]) -> str | None:
    names = ", ".join(kinds)
    if dispatch is None:
        return None  # reported by the dispatched check
    if dispatch.state != ACTIVE or dispatch.generation != generation:
        return (f"{names} timers of generation {generation} are pending; dispatch has the case {dispatch.state} at "
                f"generation {dispatch.generation}")
    done = [k for k in kinds if (dispatch.case_id, generation, TimerKind(k).stage) in settled]
    if done:
        return f"{', '.join(done)} timers of generation {generation} are pending though their stage is settled"
    return None


def check_feedback(s: Snapshot, settling: set[str]) -> list[Finding]:
    found: list[Finding] = []

    def add(case_id: str, problem: str) -> None:
        found.append(Finding(Check.FEEDBACK, "feedback", case_id, problem))

    assignments, ratable = _by_case(s.assignments), _by_case(s.ratable)
    for case in s.cases:
        if case.case_id in settling:
            continue
        known = ratable.get(case.case_id)
        if known is None or not known.has_tracking_code:
            add(case.case_id, "feedback has no tracking code for the case: the citizen cannot rate it")
            continue
        assignment = assignments.get(case.case_id)
        if assignment is None:
            continue
        expected = FEEDBACK_STATE.get(assignment.state)
        dispatch_says = f"dispatch has it {assignment.state} at generation {assignment.generation}"
        if expected:
            wrong = (known.state, known.generation) != (expected, assignment.generation)
        else:
            wrong = known.state in FEEDBACK_STATE.values()
        if wrong:
            add(case.case_id, f"feedback has it {known.state} at generation {known.generation}; {dispatch_says}")
        elif known.state == "reopened" and assignment.generation <= known.generation:
            add(case.case_id, f"the citizen reopened generation {known.generation}; {dispatch_says}, never "
                              f"dispatched again")
    return found


def check_external_ids(s: Snapshot) -> list[Finding]:
    holders: defaultdict[str, list[IntakeCase]] = defaultdict(list)
    for case in s.cases:
        if case.external_id is not None:
            holders[case.external_id].append(case)
    found = []
    for external_id, cases in sorted(holders.items()):
        if len(cases) > 1:
            cases.sort(key=lambda c: c.created_at)
            others = ", ".join(c.case_id for c in cases[:-1])
            found.append(Finding(Check.EXTERNAL_ID, "intake", cases[-1].case_id,
                                 f"external id {external_id!r} is also on {others}: one report, "
                                 f"{len(cases)} cases"))
    return found


def check_applied_once(s: Snapshot, settling: set[str]) -> list[Finding]:
    found: list[Finding] = []

    def add(service: str, case_id: str, problem: str) -> None:
        found.append(Finding(Check.APPLIED_ONCE, service, case_id, problem))

    timelines: defaultdict[str, list[TimelineEntry]] = defaultdict(list)
    for entry in s.timeline:
        timelines[entry.case_id].append(entry)
    for case_id, entries in timelines.items():
        for problem in _timeline_problems(entries):
            add("intake", case_id, problem)
    for case in s.cases:
        for problem in _counter_problems(case, timelines.get(case.case_id, [])):
            add("intake", case.case_id, problem)
    for assignment in s.assignments:
        if assignment.case_id not in settling:
            for problem in _chain_problems(assignment, timelines.get(assignment.case_id, [])):
                add("dispatch", assignment.case_id, problem)
    return found


def _timeline_problems(entries: Sequence[TimelineEntry]) -> Iterator[str]:
    counts = Counter(key for key in map(_once_key, entries) if key is not None)
    for (kind, generation, detail), count in sorted(counts.items(), key=str):
        if count > 1:
            what = f"{kind} ({detail})" if detail else kind
            yield f"{what} of generation {generation} is on the timeline {count} times: one fact applied as {count}"
    by_generation: defaultdict[int, set[str]] = defaultdict(set)
    for entry in entries:
        by_generation[entry.generation].add(entry.type)
    for generation, kinds in sorted(by_generation.items()):
        for group, what in EXCLUSIVE:
            if len(kinds & group) > 1:
                yield f"generation {generation} is {what} ({', '.join(sorted(kinds & group))})"


def _once_key(entry: TimelineEntry) -> tuple[str, int, str | None] | None:
    if entry.type in ONCE_PER_GENERATION:
        return entry.type, entry.generation, None
    if entry.type == BREACHED:
        return entry.type, entry.generation, entry.stage
    if entry.type == NOTIFIED:
        return entry.type, entry.generation, entry.reason
    return None


def _counter_problems(case: IntakeCase, entries: Sequence[TimelineEntry]) -> Iterator[str]:
    kinds = Counter(e.type for e in entries)
    expired = sum(1 for e in entries if e.type == DISPATCHED and e.reason == "expired")
    for name, counted, on_timeline in (("escalation_count", case.escalation_count, kinds[ESCALATED] + expired),
                                       ("extension_count", case.extension_count, kinds[EXTENDED]),
                                       ("suspension_count", case.suspension_count, kinds[SUSPENDED])):
        if counted != on_timeline:
            yield f"intake's {name} is {counted}, its timeline holds {on_timeline}"


def _chain_problems(assignment: Assignment, entries: Sequence[TimelineEntry]) -> Iterator[str]:
    dispatches = {e.generation: e for e in entries if e.type in (DISPATCHED, ESCALATED)}
    causes = {(e.type, e.generation) for e in entries}
    for generation in range(1, assignment.generation + 1):
        dispatch = dispatches.get(generation)
        if dispatch is None:
            yield f"dispatch is at generation {assignment.generation}; the timeline has no dispatch of {generation}"
            continue
        if generation == 1 or dispatch.reason == "initial":
            if (generation == 1) != (dispatch.reason == "initial"):
                yield f"generation {generation} was dispatched for reason {dispatch.reason!r}"
            continue
        if dispatch.reason in DECIDED:
            continue
        cause = CAUSES.get(dispatch.reason or "")
        if cause is None:
            yield f"generation {generation} was dispatched for reason {dispatch.reason!r}"
        elif (cause, generation - 1) not in causes:
            yield (f"generation {generation} was dispatched for reason {dispatch.reason!r}, but generation "
                   f"{generation - 1} has no {cause}: one cause applied twice?")
    beyond = sorted(g for g in dispatches if g > assignment.generation or g < 1)
    if beyond:
        yield (f"the timeline has dispatches of generation {', '.join(map(str, beyond))}; dispatch is at "
               f"{assignment.generation}")


def check_outbox(s: Snapshot, now: datetime, max_age: timedelta = DEFAULT_OUTBOX_MAX_AGE) -> list[Finding]:
    return [Finding(Check.OUTBOX, row.service, row.key,
                    f"outbox row {row.id} ({row.event_type}) unpublished for "
                    f"{(now - row.created_at).total_seconds():.0f} s, since {row.created_at:%Y-%m-%d %H:%M:%S} UTC")
            for row in sorted(s.outbox, key=lambda r: (r.service, r.id)) if row.created_at < now - max_age]


Row = TypeVar("Row", IntakeCase, Assignment, Task, Watch, RatableCase)


def _by_case(rows: Iterable[Row]) -> dict[str, Row]:
    return {row.case_id: row for row in rows}
