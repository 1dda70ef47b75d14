from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.district import District
from shared.events import SlaStage
from shared.metrics import LAG_BUCKETS, start_at_zero


@dataclass(frozen=True)
class SlaMetrics:
    deadlines: Counter
    warnings: Counter
    lag: Histogram
    pending: Gauge
    overdue: Gauge
    last_poll: Gauge
    audited: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "SlaMetrics":
        """The district's branches start every per-branch series at zero (``start_at_zero``)."""
        metrics = cls(
            deadlines=Counter("appeal_sla_deadlines_reached", "Deadline timers fired (breach or not is "
                              "decided against the task).", ["stage", "branch"], registry=registry),
            warnings=Counter("appeal_sla_warnings", "Warnings before a deadline.", ["stage", "branch"],
                             registry=registry),
            lag=Histogram("appeal_sla_timer_lag_seconds", "How late a timer fired after its due time.",
                          buckets=LAG_BUCKETS, registry=registry),
            pending=Gauge("appeal_sla_timers_pending", "Timers waiting to fire.", registry=registry),
            overdue=Gauge("appeal_sla_timers_overdue", "Pending timers more than a few seconds past due.",
                          registry=registry),
            last_poll=Gauge("appeal_sla_last_poll_timestamp_seconds", "When the firing loop last finished a poll.",
                            registry=registry),
            audited=Gauge("appeal_sla_last_audit_timestamp_seconds", "When the auditor last checked the timers.",
                          registry=registry),
        )
        branches = district.branch_codes if district else []
        for per_stage_and_branch in (metrics.deadlines, metrics.warnings):
            start_at_zero(per_stage_and_branch, list(SlaStage), branches)
        return metrics
