"""The timers one dispatch sets: a warning before each deadline and the deadline itself."""

from dataclasses import dataclass
from datetime import datetime

from shared.events import CaseDispatched


@dataclass(frozen=True)
class TimerPlan:
    kind: str
    stage: str
    due_at: datetime
    deadline: datetime

    @property
    def is_warning(self) -> bool:
        return self.kind.endswith("_warning")


def plan_timers(dispatch: CaseDispatched) -> list[TimerPlan]:
    start = dispatch.occurred_at
    plans = []
    for stage, deadline in (("accept", dispatch.accept_deadline), ("respond", dispatch.respond_deadline)):
        warn = start + (deadline - start) * dispatch.warn_at
        plans.append(TimerPlan(f"{stage}_warning", stage, warn, deadline))
        plans.append(TimerPlan(stage, stage, deadline, deadline))
    return plans
