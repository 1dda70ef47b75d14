from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import SLA_BUCKETS


@dataclass(frozen=True)
class ClaimMetrics:
    accept_seconds: Histogram
    respond_seconds: Histogram
    moves: Counter
    breaches: Counter
    urges: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, branches: Iterable[str] = ()) -> "ClaimMetrics":
        """``branches`` start their per-branch counters at zero, so a rate over them is never empty."""
        metrics = cls(
            accept_seconds=Histogram("appeal_accept_seconds", "Dispatch to claim.", ["branch"],
                                     buckets=SLA_BUCKETS, registry=registry),
            respond_seconds=Histogram("appeal_respond_seconds", "Dispatch to first contact.", ["branch"],
                                      buckets=SLA_BUCKETS, registry=registry),
            moves=Counter("appeal_task_moves", "Task transitions by members.", ["move", "outcome"],
                          registry=registry),
            breaches=Counter("appeal_sla_breaches", "Deadlines missed, confirmed against the task.",
                             ["stage", "branch"], registry=registry),
            urges=Counter("appeal_urges", "Urges (督办) by supervisors, per branch urged.", ["branch"],
                          registry=registry),
        )
        for branch in branches:
            metrics.urges.labels(branch)
        return metrics
