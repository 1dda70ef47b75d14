from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class DispatchMetrics:
    dispatched: Counter
    escalated: Counter
    reassigned: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "DispatchMetrics":
        return cls(
            dispatched=Counter("appeal_cases_dispatched", "Dispatches to a branch.", ["branch"], registry=registry),
            escalated=Counter("appeal_cases_escalated", "Cases sent to a street's queue.", ["street"],
                              registry=registry),
            reassigned=Counter("appeal_cases_reassigned", "Cases a supervisor handed to a branch (改派).", ["branch"],
                               registry=registry),
        )
