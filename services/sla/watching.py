"""What a run of dispatch events does to the clock, decided without I/O.

Each case's events are taken in partition order over the watch it had before them, as
if handled one at a time: an event of a generation older than the watch's changes
nothing; any other cancels the case's pending timers, both those set before the run and
those an earlier event of the run set (written as cancelled: what handling them one by
one would leave). A dispatch then becomes the watch, moved by the suspensions seen before
it (taken once), and sets a timer for each of its stages not already settled; any other
event closes the watch.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from services.sla.deadlines import TimerPlan, plan_timers
from shared.events import CaseDispatched, DispatchEvent, SlaStage

CaseGeneration = tuple[str, int]


class WatchState(NamedTuple):
    """A watch row's values (``store.Watch``), as plain data: a tuple, since one is built
    for every dispatch and a frozen dataclass took twice as long to build."""

    case_id: str
    correlation_id: str
    generation: int
    branch_code: str
    dispatched_at: datetime
    accept_deadline: datetime
    respond_deadline: datetime
    warn_at: float
    open: bool = True

    @classmethod
    def of(cls, event: CaseDispatched) -> "WatchState":
        return cls(str(event.case_id), str(event.correlation_id), event.generation, event.branch_code,
                   event.occurred_at, event.accept_deadline, event.respond_deadline, event.warn_at)

    def moved(self, stage: SlaStage, by: timedelta) -> "WatchState":
        if stage == SlaStage.ACCEPT:
            return self._replace(accept_deadline=self.accept_deadline + by)
        return self._replace(respond_deadline=self.respond_deadline + by)

    def plans(self, settled: Iterable[str] = ()) -> list[TimerPlan]:
        """The timers of this dispatch, but none for a settled stage."""
        plans = plan_timers(self.dispatched_at, self.accept_deadline, self.respond_deadline, self.warn_at)
        return [plan for plan in plans if plan.stage not in settled] if settled else plans


@dataclass(slots=True)
class Arming:
    """The timers one dispatch sets; ``cancelled`` when a later event of the run cancels them."""

    watch: WatchState
    plans: list[TimerPlan]
    cancelled: bool = False


@dataclass
class Outcome:
    cancel: set[str] = field(default_factory=set)
    """Cases whose pending timers from before the run are cancelled."""
    watches: dict[str, WatchState] = field(default_factory=dict)
    """The watch each changed case ends with."""
    armings: list[Arming] = field(default_factory=list)
    shifts_taken: set[CaseGeneration] = field(default_factory=set)


def replay(events: Iterable[DispatchEvent], watches: Mapping[str, WatchState],
           early_shifts: Mapping[CaseGeneration, Mapping[SlaStage, float]],
           settled: Mapping[CaseGeneration, set[str]]) -> Outcome:
    """``watches`` as they were before the run; ``early_shifts`` in seconds by stage and
    ``settled`` stages, by the case and generation they were seen for."""
    outcome = Outcome()
    current = dict(watches)
    live: dict[str, Arming] = {}
    for event in events:
        case_id = str(event.case_id)
        watch = current.get(case_id)
        if watch is not None and watch.generation > event.generation:
            continue
        outcome.cancel.add(case_id)
        superseded = live.pop(case_id, None)
        if superseded is not None:
            superseded.cancelled = True
        if not isinstance(event, CaseDispatched):
            if watch is not None:
                current[case_id] = outcome.watches[case_id] = watch._replace(open=False)
            continue
        watch = WatchState.of(event)
        key = (case_id, event.generation)
        if key in early_shifts and key not in outcome.shifts_taken:
            outcome.shifts_taken.add(key)
            for stage, seconds in early_shifts[key].items():
                watch = watch.moved(stage, timedelta(seconds=seconds))
        current[case_id] = outcome.watches[case_id] = watch
        live[case_id] = arming = Arming(watch, watch.plans(settled.get(key, ())))
        outcome.armings.append(arming)
    return outcome
