from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from shared.district import District
from shared.metrics import start_at_zero


@dataclass(frozen=True)
class FeedbackMetrics:
    feedback: Counter
    evaluations: Counter
    closed: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry, district: District | None = None) -> "FeedbackMetrics":
        """The district's branches start every per-branch series at zero (``start_at_zero``)."""
        metrics = cls(
            feedback=Counter("appeal_feedback", "Citizen ratings.", ["branch", "satisfied"], registry=registry),
            evaluations=Counter("appeal_member_evaluations", "Members' evaluations of cases.", ["branch"],
                                registry=registry),
            closed=Counter("appeal_cases_closed", "Cases closed by a satisfied citizen.", ["branch"],
                           registry=registry),
        )
        branches = district.branch_codes if district else []
        start_at_zero(metrics.feedback, branches, ["true", "false"])
        start_at_zero(metrics.evaluations, branches)
        start_at_zero(metrics.closed, branches)
        return metrics

    def rated(self, branch_code: str | None, satisfied: bool) -> None:
        branch = branch_code or "none"
        self.feedback.labels(branch, str(satisfied).lower()).inc()
        if satisfied:
            self.closed.labels(branch).inc()
