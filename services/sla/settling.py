"""Which stages a member's move settles, and how a batch of task events splits into runs
that can be settled together."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from shared.events import (
    SlaStage,
    TaskClaimed,
    TaskEvent,
    TaskExpired,
    TaskResolved,
    TaskResponded,
    TaskResumed,
    TaskReturned,
    TaskSuspended,
)

SETTLING = (TaskClaimed, TaskResponded, TaskResolved, TaskReturned, TaskExpired)
"""Task events after which a stage needs no timer: a claim meets accept, the rest both."""
CLOCK_STOPPING = (TaskSuspended, TaskResumed)


@dataclass(frozen=True, slots=True)
class Settlement:
    case_id: str
    generation: int
    stages: tuple[SlaStage, ...]

    @classmethod
    def of(cls, event: TaskEvent) -> "Settlement":
        stages = (SlaStage.ACCEPT,) if isinstance(event, TaskClaimed) else tuple(SlaStage)
        return cls(str(event.case_id), event.generation, stages)


def runs(events: Sequence[TaskEvent]) -> Iterator[list[Settlement] | TaskSuspended | TaskResumed]:
    """The batch in order: consecutive settling events as one run, a suspension or resume
    alone between them (it reads the stages settled before it); other events dropped."""
    run: list[Settlement] = []
    for event in events:
        if isinstance(event, SETTLING):
            run.append(Settlement.of(event))
        elif isinstance(event, CLOCK_STOPPING):
            if run:
                yield run
                run = []
            yield event
    if run:
        yield run
