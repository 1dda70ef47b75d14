from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.claim.tasks import CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND
from shared.district import District
from shared.events import SlaStage
from shared.metrics import SLA_BUCKETS, start_at_zero

MOVE_OUTCOMES = ("done", "refused")


@dataclass(frozen=True)
class ClaimMetrics:
    accept_seconds: Histogram
    respond_seconds: Histogram
    moves: Counter
    breaches: Counter
    urges: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "ClaimMetrics":
        """The district's branches start every per-branch series at zero (``start_at_zero``)."""
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
        branches = district.branch_codes if district else []
        start_at_zero(metrics.moves, [move.name for move in (CLAIM, RESPOND, RESOLVE, RETURN, SUSPEND, RESUME)],
                      MOVE_OUTCOMES)
        start_at_zero(metrics.breaches, list(SlaStage), branches)
        for per_branch in (metrics.urges, metrics.accept_seconds, metrics.respond_seconds):
            start_at_zero(per_branch, branches)
        return metrics
