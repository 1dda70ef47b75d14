from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import SLA_BUCKETS


@dataclass(frozen=True)
class ClaimMetrics:
    accept_seconds: Histogram
    respond_seconds: Histogram
    moves: Counter
    breaches: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> "ClaimMetrics":
        return cls(
            accept_seconds=Histogram("appeal_accept_seconds", "Dispatch to claim.", ["branch"],
                                     buckets=SLA_BUCKETS, registry=registry),
            respond_seconds=Histogram("appeal_respond_seconds", "Dispatch to first contact.", ["branch"],
                                      buckets=SLA_BUCKETS, registry=registry),
            moves=Counter("appeal_task_moves", "Task transitions by members.", ["move", "outcome"],
                          registry=registry),
            breaches=Counter("appeal_sla_breaches", "Deadlines missed, confirmed against the task.",
                             ["stage", "branch"], registry=registry),
        )
