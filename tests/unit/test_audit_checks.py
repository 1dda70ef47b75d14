"""The audit's rules over hand-built rows: a district's worth of cases in every stage of
the loop audits clean, and each kind of damage is found, named and attributed."""

import dataclasses
from datetime import timedelta

import pytest

from services.audit.checks import (
    Assignment,
    Check,
    Finding,
    IntakeCase,
    OutboxRow,
    RatableCase,
    Rating,
    Settled,
    Snapshot,
    Task,
    TimelineEntry,
    Timer,
    Watch,
    run_checks,
)
from tests.unit.factories import T0

NOW = T0 + timedelta(hours=1)
SETTLE = timedelta(seconds=30)
OPEN, CLAIMED, ESCALATED, CLOSED, RETURNED, EXPIRED, REOPENED, RESOLVED = (
    f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 9))
KINDS = ("accept_warning", "accept", "respond_warning", "respond")


@dataclasses.dataclass
class Stores:
    """Every service's rows, as the loop leaves them for cases in each stage."""

    cases: list[IntakeCase] = dataclasses.field(default_factory=list)
    timeline: list[TimelineEntry] = dataclasses.field(default_factory=list)
    assignments: list[Assignment] = dataclasses.field(default_factory=list)
    tasks: list[Task] = dataclasses.field(default_factory=list)
    watches: list[Watch] = dataclasses.field(default_factory=list)
    timers: list[Timer] = dataclasses.field(default_factory=list)
    settled: list[Settled] = dataclasses.field(default_factory=list)
    ratable: list[RatableCase] = dataclasses.field(default_factory=list)
    ratings: list[Rating] = dataclasses.field(default_factory=list)
    outbox: list[OutboxRow] = dataclasses.field(default_factory=list)

    def snapshot(self) -> Snapshot:
        return Snapshot(**{f.name: tuple(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def audit(self, now=NOW, settle=SETTLE) -> list[Finding]:
        return list(run_checks(self.snapshot(), now=now, settle=settle).findings)

    def event(self, case_id: str, kind: str, generation: int = 0, **details) -> None:
        self.timeline.append(TimelineEntry(case_id=case_id, type=kind, generation=generation, at=T0, **details))

    def register(self, case_id: str, status: str, generation: int, *, external_id: str | None = None,
                 escalations: int = 0, feedback: tuple[str, int] = ("open", 0)) -> None:
        self.cases.append(IntakeCase(case_id=case_id, status=status, generation=generation, created_at=T0,
                                     updated_at=T0, external_id=external_id, escalation_count=escalations))
        self.event(case_id, "case.registered")
        self.ratable.append(RatableCase(case_id=case_id, state=feedback[0], generation=feedback[1],
                                        has_tracking_code=True))

    def dispatch(self, case_id: str, generation: int, reason: str, branch: str = "B0101") -> None:
        self.event(case_id, "case.dispatched", generation, reason=reason)
        self.watches[:] = [w for w in self.watches if w.case_id != case_id]
        self.watches.append(Watch(case_id=case_id, generation=generation, branch_code=branch, open=True,
                                  dispatched_at=T0))
        self.timers.extend(Timer(case_id=case_id, generation=generation, kind=kind, state="pending")
                           for kind in KINDS)

    def settle(self, case_id: str, generation: int, *stages: str, fired: tuple[str, ...] = ()) -> None:
        self.settled.extend(Settled(case_id=case_id, generation=generation, stage=stage) for stage in stages)
        self.timers[:] = [dataclasses.replace(t, state="fired" if t.kind in fired else "cancelled")
                          if t.case_id == case_id and t.generation == generation and t.kind.startswith(stages)
                          else t for t in self.timers]

    def current(self, case_id: str, generation: int, state: str, task: str, branch: str | None = "B0101",
                street: str = "S01") -> None:
        self.assignments.append(Assignment(case_id=case_id, generation=generation, state=state, updated_at=T0,
                                           branch_code=branch, street_code=street))
        self.tasks.append(Task(case_id=case_id, generation=generation, status=task, dispatched_at=T0,
                               branch_code=branch))


def loop() -> Stores:
    """One case in every stage: open, claimed, in the street queue, closed, re-dispatched
    after a return, escalated after missed accept deadlines, and reopened."""
    s = Stores()
    s.register(OPEN, "dispatched", 1, external_id="RX-0001")
    s.dispatch(OPEN, 1, "initial")
    s.current(OPEN, 1, "active", "open")

    s.register(CLAIMED, "claimed", 1, external_id="RX-0002")
    s.dispatch(CLAIMED, 1, "initial")
    s.event(CLAIMED, "task.claimed", 1)
    s.settle(CLAIMED, 1, "accept")
    s.current(CLAIMED, 1, "active", "claimed")

    s.register(ESCALATED, "escalated", 1, escalations=1)
    s.event(ESCALATED, "case.escalated", 1, reason="initial")
    s.current(ESCALATED, 1, "escalated", "escalated", branch=None)

    s.register(CLOSED, "closed", 1, feedback=("closed", 1))
    s.dispatch(CLOSED, 1, "initial")
    for kind in ("task.claimed", "task.responded", "task.resolved", "feedback.recorded", "case.closed"):
        s.event(CLOSED, kind, 1)
    s.settle(CLOSED, 1, "accept", "respond")
    s.watches[-1] = dataclasses.replace(s.watches[-1], open=False)
    s.ratings.append(Rating(case_id=CLOSED, generation=1, at=T0))
    s.current(CLOSED, 1, "closed", "resolved")

    s.register(RETURNED, "dispatched", 2)
    s.dispatch(RETURNED, 1, "initial")
    s.event(RETURNED, "task.returned", 1)
    s.settle(RETURNED, 1, "accept", "respond")
    s.dispatch(RETURNED, 2, "returned", branch="B0102")
    s.current(RETURNED, 2, "active", "open", branch="B0102")

    s.register(EXPIRED, "escalated", 3, escalations=2)
    s.dispatch(EXPIRED, 1, "initial")
    s.event(EXPIRED, "task.expired", 1)
    s.event(EXPIRED, "sla.breached", 1, stage="accept")
    s.settle(EXPIRED, 1, "accept", "respond", fired=("accept_warning", "accept"))
    s.dispatch(EXPIRED, 2, "expired", branch="B0102")
    s.event(EXPIRED, "task.expired", 2)
    s.event(EXPIRED, "sla.breached", 2, stage="accept")
    s.settle(EXPIRED, 2, "accept", "respond", fired=("accept_warning", "accept"))
    s.event(EXPIRED, "case.escalated", 3, reason="expired")
    s.event(EXPIRED, "supervisor.notified", 3, reason="street_queue")
    s.watches[-1] = dataclasses.replace(s.watches[-1], open=False)
    s.current(EXPIRED, 3, "escalated", "escalated", branch=None)

    s.register(REOPENED, "dispatched", 2, feedback=("reopened", 1))
    s.dispatch(REOPENED, 1, "initial")
    for kind in ("task.claimed", "task.resolved", "feedback.recorded", "case.reopened"):
        s.event(REOPENED, kind, 1)
    s.settle(REOPENED, 1, "accept", "respond")
    s.dispatch(REOPENED, 2, "reopened")
    s.current(REOPENED, 2, "active", "open")

    s.register(RESOLVED, "resolved", 1, feedback=("awaiting", 1))
    s.dispatch(RESOLVED, 1, "initial")
    for kind in ("task.claimed", "task.responded", "task.resolved", "sla.extended", "task.suspended"):
        s.event(RESOLVED, kind, 1)
    s.cases[-1] = dataclasses.replace(s.cases[-1], extension_count=1, suspension_count=1)
    s.settle(RESOLVED, 1, "accept", "respond")
    s.current(RESOLVED, 1, "resolved", "resolved")
    return s


def found(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.check, f.service, f.case_id) for f in findings]


def change(rows: list, case_id: str, **values) -> None:
    """Replace the one row of ``case_id`` with a changed copy."""
    [index] = [i for i, row in enumerate(rows) if row.case_id == case_id]
    rows[index] = dataclasses.replace(rows[index], **values)


def drop(rows: list, case_id: str, **match) -> None:
    kept = [r for r in rows if r.case_id != case_id or any(getattr(r, k) != v for k, v in match.items())]
    assert len(kept) < len(rows), "nothing to drop"
    rows[:] = kept


def test_every_stage_of_the_loop_audits_clean():
    report = run_checks(loop().snapshot(), now=NOW, settle=SETTLE)
    assert report.ok, report.findings
    assert (report.cases, report.settling) == (8, 0)


def test_an_empty_system_audits_clean():
    assert run_checks(Snapshot(), now=NOW).ok


# dispatched


def test_a_case_dispatch_never_heard_of():
    s = loop()
    drop(s.assignments, OPEN)
    assert found(s.audit()) == [("dispatched", "dispatch", OPEN)]
    assert "unknown to dispatch" in s.audit()[0].problem


def test_a_case_dispatch_never_routed():
    s = loop()
    change(s.assignments, OPEN, generation=0, state="new")
    [finding] = [f for f in s.audit() if f.check == Check.DISPATCHED]
    assert (finding.service, finding.case_id) == ("dispatch", OPEN)
    assert finding.problem == "dispatch never routed it (state new, generation 0)"


def test_a_street_queue_case_with_a_branch():
    s = loop()
    change(s.assignments, ESCALATED, branch_code="B0101")
    assert found(s.audit()) == [("dispatched", "dispatch", ESCALATED)]


def test_a_dispatch_claim_never_put_on_a_board():
    s = loop()
    drop(s.tasks, RETURNED)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("dispatched", "claim", RETURNED)
    assert "branch B0102 (generation 2); claim has no task" in finding.problem


@pytest.mark.parametrize(("values", "words"), [
    ({"generation": 1}, "claim's task is at generation 1, dispatch's at 2"),
    ({"branch_code": "B0101"}, "claim's task is on branch B0101"),
    ({"status": "returned"}, "was returned, but dispatch never moved the case on"),
    ({"status": "resolved"}, "claim's task is resolved, dispatch has the case active"),
])
def test_a_task_out_of_step_with_dispatch(values, words):
    s = loop()
    change(s.tasks, RETURNED, **values)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("dispatched", "claim", RETURNED)
    assert words in finding.problem


def test_a_resolved_case_whose_task_claim_still_holds_open():
    s = loop()
    change(s.tasks, RESOLVED, status="responded")
    assert found(s.audit()) == [("dispatched", "claim", RESOLVED)]


def test_intake_behind_dispatch():
    s = loop()
    change(s.cases, RETURNED, generation=1)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("dispatched", "intake", RETURNED)
    assert "intake's case view is at generation 1, dispatch at 2" in finding.problem


def test_intake_showing_a_status_dispatch_and_claim_disagree_with():
    s = loop()
    change(s.cases, CLAIMED, status="dispatched")
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("dispatched", "intake", CLAIMED)
    assert "dispatch and claim say claimed" in finding.problem


def test_a_case_intake_never_registered():
    s = loop()
    drop(s.cases, OPEN)
    drop(s.ratable, OPEN)
    assert sorted(found(s.audit())) == [("dispatched", "claim", OPEN), ("dispatched", "dispatch", OPEN)]


# timers


def test_a_deleted_deadline_timer():
    s = loop()
    drop(s.timers, CLAIMED, kind="respond")
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("timers", "sla", CLAIMED)
    assert "the respond stage of generation 1 has no pending or fired timer and is not settled" in finding.problem


def test_a_cancelled_timer_of_a_stage_never_settled():
    s = loop()
    change_timer(s, OPEN, "accept", state="cancelled")
    assert found(s.audit()) == [("timers", "sla", OPEN)]


def test_a_fired_deadline_keeps_its_stage_watched():
    s = loop()
    change_timer(s, CLAIMED, "respond", state="fired")
    change_timer(s, CLAIMED, "respond_warning", state="fired")
    assert s.audit() == []


def test_a_missing_warning_alone_is_no_violation():
    s = loop()
    drop(s.timers, OPEN, kind="accept_warning")
    assert s.audit() == []


@pytest.mark.parametrize(("watch", "words"), [
    (None, "sla has no clock for it"),
    ({"generation": 1}, "sla's clock is for generation 1, dispatch's is at 2"),
    ({"open": False}, "sla closed its clock for generation 2"),
])
def test_an_open_dispatch_without_its_clock(watch, words):
    s = loop()
    if watch is None:
        drop(s.watches, RETURNED)
    else:
        change(s.watches, RETURNED, **watch)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("timers", "sla", RETURNED)
    assert words in finding.problem


def test_a_clock_left_open_on_a_closed_case():
    s = loop()
    change(s.watches, CLOSED, open=True)
    assert found(s.audit()) == [("timers", "sla", CLOSED)]


def test_pending_timers_of_a_superseded_dispatch():
    s = loop()
    change_timer(s, RETURNED, "respond", generation=1, state="pending")
    [finding] = s.audit()
    assert (finding.check, finding.case_id) == ("timers", RETURNED)
    assert "respond timers of generation 1 are pending; dispatch has the case active at generation 2" in \
        finding.problem


def test_a_pending_timer_of_a_settled_stage():
    s = loop()
    change_timer(s, CLAIMED, "accept_warning", state="pending")
    [finding] = s.audit()
    assert (finding.check, finding.case_id) == ("timers", CLAIMED)
    assert "accept_warning timers of generation 1 are pending though their stage is settled" in finding.problem


def change_timer(s: Stores, case_id: str, kind: str, generation: int = 1, **values) -> None:
    [index] = [i for i, t in enumerate(s.timers) if (t.case_id, t.kind, t.generation) == (case_id, kind, generation)]
    s.timers[index] = dataclasses.replace(s.timers[index], **values)


# feedback


def test_a_case_the_citizen_cannot_rate():
    s = loop()
    change(s.ratable, OPEN, has_tracking_code=False)
    assert found(s.audit()) == [("feedback", "feedback", OPEN)]
    drop(s.ratable, OPEN)
    assert found(s.audit()) == [("feedback", "feedback", OPEN)]


@pytest.mark.parametrize(("case_id", "values"), [
    (RESOLVED, {"state": "open", "generation": 0}),
    (RESOLVED, {"state": "closed"}),
    (CLOSED, {"state": "awaiting"}),
    (OPEN, {"state": "awaiting", "generation": 1}),
    (REOPENED, {"generation": 2}),
])
def test_feedback_out_of_step_with_dispatch(case_id, values):
    s = loop()
    change(s.ratable, case_id, **values)
    assert found(s.audit()) == [("feedback", "feedback", case_id)]


# external_id


def test_one_external_id_on_two_cases():
    s = loop()
    change(s.cases, CLAIMED, external_id="RX-0001", created_at=T0 + timedelta(seconds=1))
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("external_id", "intake", CLAIMED)
    assert finding.problem == f"external id 'RX-0001' is also on {OPEN}: one report, 2 cases"


# applied_once


def test_one_claim_on_the_timeline_twice():
    s = loop()
    s.event(CLAIMED, "task.claimed", 1)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("applied_once", "intake", CLAIMED)
    assert "task.claimed of generation 1 is on the timeline 2 times" in finding.problem


def test_a_breach_of_one_stage_twice_but_of_two_stages_once_each():
    s = loop()
    s.event(CLAIMED, "sla.breached", 1, stage="respond")
    assert s.audit() == []
    s.event(CLAIMED, "sla.breached", 1, stage="respond")
    assert found(s.audit()) == [("applied_once", "intake", CLAIMED)]


@pytest.mark.parametrize(("case_id", "kind", "words"), [
    (CLAIMED, "task.expired", "both claimed and expired"),
    (CLOSED, "case.reopened", "both closed and reopened"),
    (RESOLVED, "task.returned", "more than one ending"),
    (OPEN, "case.escalated", "both dispatched and escalated"),
])
def test_two_outcomes_that_exclude_each_other(case_id, kind, words):
    s = loop()
    s.event(case_id, kind, 1, reason="initial")
    problems = [f.problem for f in s.audit() if f.check == Check.APPLIED_ONCE and f.case_id == case_id]
    assert any(words in p for p in problems), problems


def test_a_counter_ahead_of_the_timeline():
    s = loop()
    change(s.cases, RESOLVED, suspension_count=2)
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("applied_once", "intake", RESOLVED)
    assert finding.problem == "intake's suspension_count is 2, its timeline holds 1"


def test_escalations_count_expiries_and_street_queues():
    s = loop()
    change(s.cases, EXPIRED, escalation_count=3)
    assert found(s.audit()) == [("applied_once", "intake", EXPIRED)]


def test_one_return_that_made_two_generations():
    s = loop()
    s.event(RETURNED, "case.dispatched", 3, reason="returned")
    change(s.assignments, RETURNED, generation=3)
    change(s.tasks, RETURNED, generation=3)
    change(s.cases, RETURNED, generation=3)
    change(s.watches, RETURNED, generation=3)
    s.timers[:] = [dataclasses.replace(t, generation=3) if (t.case_id, t.generation) == (RETURNED, 2) else t
                   for t in s.timers]
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("applied_once", "dispatch", RETURNED)
    assert "generation 3 was dispatched for reason 'returned', but generation 2 has no task.returned" in \
        finding.problem


def test_a_generation_missing_from_the_chain():
    s = loop()
    drop(s.timeline, EXPIRED, type="case.dispatched", generation=2)
    problems = [f.problem for f in s.audit() if f.check == Check.APPLIED_ONCE]
    assert "dispatch is at generation 3; the timeline has no dispatch of 2" in problems


def test_a_case_a_supervisor_reassigned_from_the_street_queue_audits_clean():
    """改派 is its own cause: no event of the generation before is needed."""
    s = loop()
    s.event(ESCALATED, "case.dispatched", 2, reason="reassigned")
    change(s.assignments, ESCALATED, generation=2, state="active", branch_code="B0102")
    change(s.tasks, ESCALATED, generation=2, status="open", branch_code="B0102")
    change(s.cases, ESCALATED, generation=2, status="dispatched")
    s.watches.append(Watch(case_id=ESCALATED, generation=2, branch_code="B0102", open=True, dispatched_at=T0))
    s.timers.extend(Timer(case_id=ESCALATED, generation=2, kind=kind, state="pending") for kind in KINDS)
    assert s.audit() == []


def test_a_first_dispatch_for_a_reason_other_than_initial():
    s = loop()
    change_entry(s, OPEN, "case.dispatched", reason="returned")
    assert found(s.audit()) == [("applied_once", "dispatch", OPEN)]


def test_a_dispatch_beyond_dispatchs_generation():
    s = loop()
    s.event(OPEN, "case.dispatched", 2, reason="returned")
    s.event(OPEN, "task.returned", 1)
    problems = [f.problem for f in s.audit() if f.check == Check.APPLIED_ONCE]
    assert problems == ["the timeline has dispatches of generation 2; dispatch is at 1"]


def change_entry(s: Stores, case_id: str, kind: str, **values) -> None:
    [index] = [i for i, e in enumerate(s.timeline) if e.case_id == case_id and e.type == kind]
    s.timeline[index] = dataclasses.replace(s.timeline[index], **values)


# outbox


def test_an_outbox_row_older_than_a_minute():
    s = loop()
    s.outbox.append(OutboxRow(service="claim", id=7, key=CLAIMED, event_type="task.claimed",
                              created_at=NOW - timedelta(seconds=61)))
    [finding] = s.audit()
    assert (finding.check, finding.service, finding.case_id) == ("outbox", "claim", CLAIMED)
    assert finding.problem.startswith("outbox row 7 (task.claimed) unpublished for 61 s")


def test_a_young_outbox_row_is_in_flight():
    s = loop()
    s.outbox.append(OutboxRow(service="claim", id=7, key=CLAIMED, event_type="task.claimed",
                              created_at=NOW - timedelta(seconds=59)))
    assert s.audit() == []


# settling


def test_a_case_that_changed_within_the_settle_time_is_in_flight():
    s = loop()
    drop(s.assignments, OPEN)
    drop(s.tasks, OPEN)
    change(s.cases, OPEN, created_at=NOW - timedelta(seconds=10), updated_at=None)
    report = run_checks(s.snapshot(), now=NOW, settle=SETTLE)
    assert report.ok and report.settling == 1
    assert found(s.audit(settle=timedelta(seconds=5))) == [("dispatched", "dispatch", OPEN)]


def test_a_recent_move_anywhere_puts_the_case_in_flight():
    s = loop()
    drop(s.tasks, RETURNED)
    assert s.audit() != []
    change(s.assignments, RETURNED, updated_at=NOW - timedelta(seconds=1))
    assert s.audit() == []


def test_an_event_still_in_an_outbox_puts_its_case_in_flight():
    s = loop()
    drop(s.timers, CLAIMED, kind="respond")
    s.outbox.append(OutboxRow(service="claim", id=8, key=CLAIMED, event_type="task.responded",
                              created_at=NOW - timedelta(seconds=5)))
    assert s.audit() == []


def test_duplicates_within_one_store_are_violations_even_while_settling():
    s = loop()
    change(s.cases, CLAIMED, updated_at=NOW)
    s.event(CLAIMED, "task.claimed", 1)
    assert found(s.audit()) == [("applied_once", "intake", CLAIMED)]
